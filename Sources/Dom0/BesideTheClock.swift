// BesideTheClock.swift: the scenario shape `hostile` and `fuzz` share: dom0 starts a domain beside
// the well-behaved clock domain, reaps both, checks how each ended (the clock must finish its work
// beside it) and that every frame came back (physinfo before and after). It judges only what the
// reaper and physinfo report.

import ApusCore
import GuestKit
import PVABI

enum BesideTheClock {
    /// Runs `config` beside clock.cfg: `createCheck` and `endCheck` name the checks, `what` names
    /// the domain in their details, `expected` is how it must end.
    /// `prepare` runs with the id the subject will get, before it exists; `finish` after both are reaped.
    static func run(_ config: StaticString, what: StaticString, createCheck: StaticString, ends expected: ShutdownReason,
                    endCheck: StaticString, maxWaits: Int, summary: StaticString,
                    prepare: (UInt16) -> Void = { _ in }, finish: () -> Void = {}) -> Bool {
        let check = PVSelfTest.check
        Reaper.start()
        GuestEvents.enable()
        let freeBefore = Toolstack.freePages()
        var name: [UInt8] = []
        config.withUTF8Buffer { name = Array($0) }
        guard let subjectConfig = Toolstack.config(named: name),
              let clockConfig = Toolstack.config(named: Array("clock.cfg".utf8)) else { return false }
        let clock = Toolstack.create(clockConfig)
        prepare(Toolstack.nextID())
        let subject = Toolstack.create(subjectConfig)
        check(createCheck, clock > 0 && subject > 0, "clock d\(clock), \(what) d\(subject)")
        var waited = 0
        while Reaper.reaped.count < 2 && waited < maxWaits {
            Reaper.reap()
            if Reaper.reaped.count < 2 { Dom0Events.sleep(10_000_000) }
            waited += 1
        }
        let subjectEnd = Reaper.reaped.first { $0.id == UInt16(truncatingIfNeeded: subject) }
        let clockEnd = Reaper.reaped.first { $0.id == UInt16(truncatingIfNeeded: clock) }
        check(endCheck, subjectEnd?.reason == expected.rawValue, "reason \(subjectEnd?.reason ?? 99)")
        check("the clock domain finished its work beside it", clockEnd?.reason == ShutdownReason.poweroff.rawValue, "reason \(clockEnd?.reason ?? 99)")
        finish()
        let freeAfter = Toolstack.freePages()
        check("every frame came back to the free pool", freeAfter == freeBefore, "\(freeAfter) free pages, \(freeBefore) before")
        console.print("\(summary): \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }
}
