/// A value a configuration key can hold, with its registry kind and YAML rendering.
public protocol ConfigurationValueType: Sendable {
    static var kind: ConfigurationKey.Kind { get }
    init?(_ value: ConfigurationValues.Value)
    var configurationValue: ConfigurationValues.Value { get }
}

extension String: ConfigurationValueType {
    public static var kind: ConfigurationKey.Kind { .string }
    public init?(_ value: ConfigurationValues.Value) {
        guard case .string(let text) = value else { return nil }
        self = text
    }
    public var configurationValue: ConfigurationValues.Value { .string(self) }
}

extension Int: ConfigurationValueType {
    public static var kind: ConfigurationKey.Kind { .int }
    public init?(_ value: ConfigurationValues.Value) {
        guard case .int(let number) = value else { return nil }
        self = number
    }
    public var configurationValue: ConfigurationValues.Value { .int(self) }
}

extension Bool: ConfigurationValueType {
    public static var kind: ConfigurationKey.Kind { .bool }
    public init?(_ value: ConfigurationValues.Value) {
        guard case .bool(let flag) = value else { return nil }
        self = flag
    }
    public var configurationValue: ConfigurationValues.Value { .bool(self) }
}

extension Array: ConfigurationValueType where Element == String {
    public static var kind: ConfigurationKey.Kind { .stringList }
    public init?(_ value: ConfigurationValues.Value) {
        guard case .stringList(let values) = value else { return nil }
        self = values
    }
    public var configurationValue: ConfigurationValues.Value { .stringList(self) }
}

/// A typed configuration key with its one default: `values[Config.ledgerLeaseSeconds]` is an `Int`, never missing.
public struct Setting<Value: ConfigurationValueType>: Sendable {
    public let spec: ConfigurationKey
    public let defaultValue: Value

    init(
        _ name: String, default defaultValue: Value, secret: Bool = false, choices: [String]? = nil,
        path: ConfigurationKey.PathRole? = nil, range: ClosedRange<Int>? = nil, _ help: String
    ) {
        self.defaultValue = defaultValue
        self.spec = ConfigurationKey(
            name, Value.kind, default: defaultValue.configurationValue.yaml, secret: secret, choices: choices,
            path: path,
            range: range, help)
    }

    public var name: String { spec.name }
}

/// A typed configuration key without a default: `values[Config.webDriverURL]` is nil unless set.
public struct OptionalSetting<Value: ConfigurationValueType>: Sendable {
    public let spec: ConfigurationKey

    init(
        _ name: String, secret: Bool = false, path: ConfigurationKey.PathRole? = nil, range: ClosedRange<Int>? = nil,
        _ help: String
    ) {
        self.spec = ConfigurationKey(name, Value.kind, default: nil, secret: secret, path: path, range: range, help)
    }

    public var name: String { spec.name }
}
