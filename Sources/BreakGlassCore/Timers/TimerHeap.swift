/// The order of ``DeadlineTimers``' waiters: a binary min-heap of (deadline, id). A waiter cancelled early is not
/// searched for; its entry stays until it reaches the top and is dropped there (its id no longer waits).
struct TimerHeap {
    struct Item: Equatable {
        let deadline: ContinuousClock.Instant
        let id: UInt64
    }

    private(set) var items: [Item] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    /// The earliest deadline (the lower id first among equal deadlines).
    var first: Item? { items.first }

    mutating func insert(_ deadline: ContinuousClock.Instant, id: UInt64) {
        items.append(Item(deadline: deadline, id: id))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popFirst() -> Item? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return top }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, Self.precedes(items[left], items[smallest]) { smallest = left }
            if right < items.count, Self.precedes(items[right], items[smallest]) { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    private static func precedes(_ a: Item, _ b: Item) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.id < b.id)
    }
}
