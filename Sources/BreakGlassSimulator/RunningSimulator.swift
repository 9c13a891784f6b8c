/// A simulator that is listening.
public struct RunningSimulator: Sendable {
    public let host: String
    public let port: Int
    public let state: SimulatorState

    /// `http://host:port` (no trailing slash).
    public var baseURL: String { "http://\(host):\(port)" }
}
