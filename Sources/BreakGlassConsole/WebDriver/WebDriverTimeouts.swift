/// Session timeouts (W3C "Set Timeouts"); `nil` leaves a timeout unchanged.
public struct WebDriverTimeouts: Sendable, Equatable {
    /// How long element lookups wait for an element to appear. Default of drivers: 0.
    public var implicit: Duration?
    /// How long navigation (and clicks that navigate) wait for the page to load. Default of drivers: 300 s.
    public var pageLoad: Duration?
    /// How long a script may run. Default of drivers: 30 s.
    public var script: Duration?

    public init(implicit: Duration? = nil, pageLoad: Duration? = nil, script: Duration? = nil) {
        self.implicit = implicit
        self.pageLoad = pageLoad
        self.script = script
    }

    var json: WebDriverJSON {
        var object: [String: WebDriverJSON] = [:]
        func ms(_ duration: Duration) -> WebDriverJSON {
            let (seconds, attoseconds) = duration.components
            return .number(Double(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        }
        if let implicit { object["implicit"] = ms(implicit) }
        if let pageLoad { object["pageLoad"] = ms(pageLoad) }
        if let script { object["script"] = ms(script) }
        return .object(object)
    }
}
