// FuzzTest.swift: the `fuzz` scenario: dom0 runs the fuzzing domain beside the well-behaved clock
// domain, reaps both, and checks the fuzzer finished its run (poweroff after its report), the clock
// finished on time beside it, and every frame came back (physinfo before and after).

import ApusCore
import GuestKit
import PVABI

enum FuzzTest {
    /// How long dom0 waits for both domains, in 10 ms sleeps of system time.
    static let maxWaits = 12_000

    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let freeBefore = Toolstack.freePages()
        guard let fuzzConfig = Toolstack.config(named: Array("fuzz.cfg".utf8)),
              let clockConfig = Toolstack.config(named: Array("clock.cfg".utf8)) else { return false }
        let clock = Toolstack.create(clockConfig)
        let fuzz = Toolstack.create(fuzzConfig)
        check("create the clock and the fuzzing domain", clock > 0 && fuzz > 0, "clock d\(clock), fuzz d\(fuzz)")
        var waited = 0
        while Reaper.reaped.count < 2 && waited < maxWaits {
            Reaper.reap()
            if Reaper.reaped.count < 2 { Dom0Events.sleep(10_000_000) }
            waited += 1
        }
        let fuzzEnd = Reaper.reaped.first { $0.id == UInt16(truncatingIfNeeded: fuzz) }
        let clockEnd = Reaper.reaped.first { $0.id == UInt16(truncatingIfNeeded: clock) }
        check("the fuzzing domain finished its run and powered off", fuzzEnd?.reason == ShutdownReason.poweroff.rawValue, "reason \(fuzzEnd?.reason ?? 99)")
        check("the clock domain finished its work beside it", clockEnd?.reason == ShutdownReason.poweroff.rawValue, "reason \(clockEnd?.reason ?? 99)")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        console.print("fuzz test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
