extension ConsoleMap {
    /// Whether the first flow screen can be done ahead of a request (`SignInAhead`): the flow has a second screen,
    /// the first has a next button, and its fields and assertions take only the service account's credentials or
    /// literals (nothing of a request is ever entered ahead).
    public var canSignInAhead: Bool {
        guard flow.count >= 2, let first = flow.first, let screen = screen(first), screen.buttons.next != nil
        else { return false }
        return screen.fields.allSatisfy { Self.isRequestFree($0.source) }
            && screen.assertions.allSatisfy { Self.isRequestFree($0.source) }
    }

    static func isRequestFree(_ value: ConsoleValue?) -> Bool {
        switch value {
        case .none, .username?, .password?, .literal?: true
        default: false
        }
    }
}
