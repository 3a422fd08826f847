// HostileTest.swift: the `hostile` scenario: dom0 runs the hostile domain beside a well-behaved
// clock domain, reaps both, and checks the hostile one was killed (crash) while the clock finished
// its work, and that every frame came back (physinfo before and after).

import PVABI

enum HostileTest {
    static func run() -> Bool {
        BesideTheClock.run("hostile.cfg", what: "hostile", createCheck: "create the clock and the hostile domain",
                           ends: .crash, endCheck: "the hostile domain was killed", maxWaits: 300, summary: "hostile test")
    }
}
