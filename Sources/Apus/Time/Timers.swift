// Timers.swift: per-domain one-shot timers (set_timer_op, vcpu_op set_singleshot_timer), checked
// every PIT tick: an expired one raises VIRQ_TIMER with a fresh time record. It only fires
// deadlines guests set; it never sets one. A tick before the earliest deadline looks at no domain.

import ApusCore
import PVABI

enum Timers {
    /// No deadline is earlier than this (a cancelled one may leave it early: one extra look).
    static var earliest: UInt64 = .max

    /// A domain set a deadline (Domain.timerDeadline's observer).
    static func armed(_ deadline: UInt64) {
        if deadline < earliest { earliest = deadline }
    }

    static func check(now: UInt64) {
        guard now >= earliest else { return }
        earliest = .max
        var next: UInt64 = .max
        for d in Domains.all where d.timerDeadline != 0 && d.isAlive {
            if now >= d.timerDeadline {
                d.timerDeadline = 0
                SystemTime.publish(d)
                Events.raiseVirq(d, Virq.timer)
            } else if d.timerDeadline < next {
                next = d.timerDeadline
            }
        }
        earliest = min(earliest, next)
    }
}
