// HostileTest.swift: the `hostile` scenario: dom0 runs the hostile domain beside a well-behaved
// clock domain, reaps both, and checks the hostile one was killed (crash) while the clock finished
// its work, and that every frame came back (physinfo before and after).

import ApusCore
import GuestKit
import PVABI

enum HostileTest {
    static func run() -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let freeBefore = Toolstack.freePages()
        guard let hostileConfig = Toolstack.config(named: Array("hostile.cfg".utf8)),
              let clockConfig = Toolstack.config(named: Array("clock.cfg".utf8)) else { return false }
        let clock = Toolstack.create(clockConfig)
        let hostile = Toolstack.create(hostileConfig)
        check("create the clock and the hostile domain", clock > 0 && hostile > 0, "clock d\(clock), hostile d\(hostile)")
        var waited = 0
        while Reaper.reaped.count < 2 && waited < 300 {
            Reaper.reap()
            if Reaper.reaped.count < 2 { Dom0Events.sleep(10_000_000) }
            waited += 1
        }
        let hostileEnd = Reaper.reaped.first { $0.id == UInt16(truncatingIfNeeded: hostile) }
        let clockEnd = Reaper.reaped.first { $0.id == UInt16(truncatingIfNeeded: clock) }
        check("the hostile domain was killed", hostileEnd?.reason == ShutdownReason.crash.rawValue, "reason \(hostileEnd?.reason ?? 99)")
        check("the clock domain finished its work beside it", clockEnd?.reason == ShutdownReason.poweroff.rawValue, "reason \(clockEnd?.reason ?? 99)")
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        console.print("hostile test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
