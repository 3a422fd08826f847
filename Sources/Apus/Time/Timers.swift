// Timers.swift: per-domain one-shot timers (set_timer_op, vcpu_op set_singleshot_timer), checked
// every PIT tick: an expired one raises VIRQ_TIMER with a fresh time record. It only fires
// deadlines guests set; it never sets one.

import ApusCore
import PVABI

enum Timers {
    static func check(now: UInt64) {
        for d in Domains.all where d.timerDeadline != 0 && now >= d.timerDeadline && d.isAlive {
            d.timerDeadline = 0
            SystemTime.publish(d)
            Events.raiseVirq(d, Virq.timer)
        }
    }
}
