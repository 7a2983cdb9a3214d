import MNCore
import Testing

@Suite("Restart delay functions")
struct DelayFunctionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let function: DelayFunction
        let delays: [Int]
        var testDescription: String { function.rawValue }
    }

    @Test(
        "delay before each attempt",
        arguments: [
            Case(function: .constant, delays: [1_000, 1_000, 1_000, 1_000, 1_000, 1_000]),
            Case(function: .exponential, delays: [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]),
            Case(function: .fibonacci, delays: [1_000, 1_000, 2_000, 3_000, 5_000, 8_000]),
        ])
    func delayFunctions(_ testCase: Case) {
        let delays = (0..<6).map { testCase.function.delay(attempt: $0, baseMs: 1_000, maxMs: 10_000) }
        #expect(delays == testCase.delays)
    }
}
