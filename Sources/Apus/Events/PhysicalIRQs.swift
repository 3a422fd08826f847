// PhysicalIRQs.swift: the machine's device interrupt lines lent to domains as physical IRQs (pirqs).
// A line that fires is masked at the PIC and becomes an event on every bound domain's pirq port; the
// last EOI, or the deadline a millisecond later, unmasks it. PirqLines and PirqMapping decide; this
// file drives the PIC and the event channels. It never touches a line the hypervisor keeps.

import ApusCore
import PVABI

enum PhysicalIRQs {
    /// Xen's guest-IRQ EOI timeout: 1 ms (in system-time nanoseconds).
    static var lines = PirqLines(count: Int(DeviceAccess.lineCount), eoiTimeout: 1_000_000)
    /// Some line is masked awaiting EOIs: the timer tick looks at the deadlines.
    static var awaiting = false
    /// Deadline unmasks logged so far (a domain that never EOIs would otherwise fill the log).
    static var expiriesLogged: UInt32 = 0

    static func keptByHypervisor(_ line: Int) -> Bool {
        DeviceAccess.hypervisorLines.contains(UInt8(truncatingIfNeeded: line))
    }

    /// The PIC raised `line` (not one of the hypervisor's): mask it, tell every bound domain.
    static func fire(line: Int) {
        let action = lines.fire(line: line, now: SystemTime.nanoseconds()) { guest in
            guard let d = Domains.byID(guest.domain),
                  let target = Events.system.pirqTarget(domain: guest.domain, pirq: guest.pirq) else { return }
            Events.mark(target, in: d)
        }
        apply(line, action)
        if lines.line(line)?.awaitingEOI == true { awaiting = true }
    }

    static func apply(_ line: Int, _ action: LineAction) {
        guard !keptByHypervisor(line) else { return }
        switch action {
        case .none: break
        case .mask: PIC.mask(irq: line)
        case .unmask: PIC.unmask(irq: line)
        }
    }

    /// EVTCHNOP_bind_pirq's line half, after the port was bound: nil when the domain now hears the line.
    static func bind(_ d: Domain, pirq: UInt32, willShare: Bool, port: UInt32) -> Refusal? {
        let line = Int(pirq)
        switch lines.bind(line: line, domain: d.id, pirq: pirq, willShare: willShare) {
        case .failure(let refusal): return refusal
        case .success(let action):
            apply(line, action)
            Log.info("d\(d.id): pirq \(pirq) bound to event channel \(port): line \(line), \(PIC.isLevelTriggered(irq: line) ? StaticString("level") : StaticString("edge"))-triggered, \(action == .unmask ? StaticString("unmasked") : StaticString("shared"))")
            return nil
        }
    }

    /// PHYSDEVOP_eoi: the domain handled its interrupt; the last EOI unmasks the line.
    static func eoi(_ d: Domain, pirq: UInt32) {
        let line = Int(pirq)
        apply(line, lines.eoi(line: line, domain: d.id))
        refreshAwaiting()
    }

    /// The domain closed its pirq port (or unmapped, or was reset): it no longer hears the line.
    static func unbind(_ id: UInt16, pirq: UInt32) {
        let line = Int(pirq)
        apply(line, lines.unbind(line: line, domain: id))
        refreshAwaiting()
    }

    /// The domain is gone: every line it had bound is let go.
    static func domainGone(_ id: UInt16) {
        lines.unbindAll(domain: id) { line, action in apply(line, action) }
        refreshAwaiting()
    }

    /// XENIRQSTAT_* for `pirq` of `d`: an EOI is always needed; shared when another domain has the line.
    static func statusFlags(_ d: Domain, pirq: UInt32) -> UInt32 {
        var flags = PhysdevLayout.needsEOI
        if let l = lines.line(Int(pirq)), l.guests.count > 1 { flags |= PhysdevLayout.shared }
        return flags
    }

    /// From the timer tick: lines whose guests did not all EOI in time are unmasked anyway, so a
    /// domain that never EOIs loses only its own interrupts.
    static func tick(now: UInt64) {
        guard awaiting else { return }
        lines.expire(now: now) { line, action in
            if action == .unmask && expiriesLogged < 8 {
                expiriesLogged &+= 1
                Log.warning("pirq: line \(line) was not EOI'd within 1 ms by every domain bound to it; unmasked anyway")
            }
            apply(line, action)
        }
        refreshAwaiting()
    }

    private static func refreshAwaiting() {
        var any = false
        for l in lines.lines where l.awaitingEOI { any = true }
        awaiting = any
    }
}
