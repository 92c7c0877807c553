import Testing
import WaterHubFetch

/// The backoff arithmetic of `RetryPolicy`, without any transfer.
@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxRetries: 10, baseDelay: .seconds(1), maxDelay: .seconds(10), jitter: 0.5)

    @Test(arguments: [
        (1, 0.5, Duration.seconds(1)), (2, 0.5, .seconds(2)), (3, 0.5, .seconds(4)),
        (1, 0.0, .milliseconds(500)), (1, 1.0, .milliseconds(1500)), (3, 1.0, .seconds(6)),
        (4, 1.0, .seconds(10)), (30, 0.0, .seconds(5)), (60, 1.0, .seconds(10)),
    ])
    func delayDoublesWithJitterAndNeverPassesTheCap(retry: Int, random: Double, expected: Duration) {
        #expect(policy.delay(beforeRetry: retry, random: random) == expected)
    }

    @Test func randomDelaysStayWithinTheirBounds() {
        var generator = SystemRandomNumberGenerator()
        for retry in 1...8 {
            for _ in 0..<50 {
                let delay = policy.delay(beforeRetry: retry, using: &generator)
                let nominal = min(Duration.seconds(1 << (retry - 1)), .seconds(10))
                #expect(delay >= nominal * 0.5 && delay <= min(nominal * 1.5, .seconds(10)))
            }
        }
    }

    @Test func neverMeansASingleAttempt() {
        #expect(RetryPolicy.never.maxRetries == 0)
        #expect(RetryPolicy(maxRetries: -3).maxRetries == 0)
    }
}
