import BreakGlassAMQP
import Testing

@Suite struct ReconnectBackoffTests {
    @Test func growsExponentiallyUpToTheMaximum() {
        var configuration = ReconnectBackoff.Configuration()
        configuration.initialDelay = .milliseconds(100)
        configuration.maximumDelay = .seconds(1)
        configuration.multiplier = 2
        configuration.jitter = 0
        var backoff = ReconnectBackoff(configuration: configuration)
        let delays = (0..<6).map { _ in backoff.nextDelay(random: { 0.5 }) }
        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1),
                .seconds(1),
            ])
        backoff.reset()
        #expect(backoff.nextDelay(random: { 0.5 }) == .milliseconds(100))
    }

    @Test func jitterStaysWithinBounds() {
        var configuration = ReconnectBackoff.Configuration()
        configuration.initialDelay = .seconds(1)
        configuration.maximumDelay = .seconds(10)
        configuration.jitter = 0.2
        var low = ReconnectBackoff(configuration: configuration)
        var high = ReconnectBackoff(configuration: configuration)
        #expect(low.nextDelay(random: { 0 }) == .milliseconds(800))
        #expect(high.nextDelay(random: { 0.999_999_999 }) <= .milliseconds(1200))
        var random = ReconnectBackoff(configuration: configuration)
        for _ in 0..<50 {
            let delay = random.nextDelay()
            #expect(delay > .zero && delay <= .seconds(10))
        }
    }

    @Test func invalidPoliciesAreRefused() {
        var configuration = ReconnectBackoff.Configuration()
        configuration.multiplier = 0.5
        #expect(throws: AMQPError.self) { try configuration.validate() }
        configuration = ReconnectBackoff.Configuration()
        configuration.initialDelay = .seconds(20)
        configuration.maximumDelay = .seconds(1)
        #expect(throws: AMQPError.self) { try configuration.validate() }
    }
}
