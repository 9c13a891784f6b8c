/// A coding key that `SortedJSONEncoder` and `JSONValueDecoder` make themselves, named as Foundation's JSON coders
/// name theirs: an array position (`Index 3`, its name built only when asked for) or a name (`super`).
struct JSONCodingKey: CodingKey {
    private let index: Int?
    private let name: String?

    init(index: Int) {
        self.index = index
        self.name = nil
    }

    init(stringValue: String) {
        self.index = nil
        self.name = stringValue
    }

    init?(intValue: Int) { self.init(index: intValue) }

    var intValue: Int? { index }
    var stringValue: String { name ?? "Index \(index ?? 0)" }
}
