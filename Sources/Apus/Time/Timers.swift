// Timers.swift: per-vCPU one-shot and periodic timers (set_timer_op, vcpu_op set_singleshot_timer,
// set_periodic_timer), checked every PIT tick: an expired one raises that vCPU's VIRQ_TIMER with a
// fresh time record. It only fires
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
        for d in Domains.all where d.isAlive {
            for v in d.vcpus {
                var fire = false
                if v.timerDeadline != 0 {
                    if now >= v.timerDeadline { v.timerDeadline = 0; fire = true } else if v.timerDeadline < next { next = v.timerDeadline }
                }
                if v.periodicNext != 0 {
                    if now >= v.periodicNext {
                        // The next period after now (periods missed while it did not run are not queued up).
                        var at = v.periodicNext
                        while at <= now { at &+= v.periodNs }
                        v.periodicNext = at
                        fire = true
                    }
                    if v.periodicNext < next { next = v.periodicNext }
                }
                if fire {
                    SystemTime.publish(d, v)
                    Events.raiseVirq(d, Virq.timer, vcpu: v.id)
                }
            }
        }
        earliest = min(earliest, next)
    }
}
