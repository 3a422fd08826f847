// FuzzTest.swift: the `fuzz` scenario: dom0 runs the fuzzing domain beside the well-behaved clock
// domain, reaps both, and checks the fuzzer finished its run (poweroff after its report), the clock
// finished on time beside it, and every frame came back (physinfo before and after).

import PVABI

enum FuzzTest {
    /// How long dom0 waits for both domains, in 10 ms sleeps of system time.
    static let maxWaits = 12_000

    static func run() -> Bool {
        BesideTheClock.run("fuzz.cfg", what: "fuzz", createCheck: "create the clock and the fuzzing domain", ends: .poweroff,
                           endCheck: "the fuzzing domain finished its run and powered off", maxWaits: maxWaits, summary: "fuzz test")
    }
}
