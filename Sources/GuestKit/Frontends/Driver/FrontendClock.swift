// FrontendClock.swift: how a domU's frontends wait: blocked in the hypervisor until an event channel
// wakes them (a ring's, the store's) or a deadline passes (VIRQ_TIMER, bound once here). Waiting is
// never a busy loop: the condition is checked with events masked and SCHEDOP_block unmasks them.
// Guest images only (it calls the hypervisor).

import ApusCore
import PVABI

public enum FrontendClock {
    /// The port VIRQ_TIMER is bound to (0: not yet).
    public private(set) static var timerPort: UInt32 = 0

    public static func bindTimer() {
        guard timerPort == 0 else { return }
        let p = GuestEvents.bindVirq(Virq.timer)
        if p > 0 { timerPort = UInt32(p) }
    }

    /// Blocks until `condition` holds or system time reaches `deadline`: whether the condition held.
    public static func wait(until deadline: UInt64, _ condition: () -> Bool) -> Bool {
        bindTimer()
        _ = GuestTime.setTimer(deadline)
        var met = false
        GuestEvents.wait {
            met = condition()
            return met || GuestTime.now() >= deadline
        }
        return met
    }

    /// As `wait(until:)`, for at most `ns` from now.
    public static func wait(atMost ns: UInt64, _ condition: () -> Bool) -> Bool {
        wait(until: GuestTime.now() &+ ns, condition)
    }
}
