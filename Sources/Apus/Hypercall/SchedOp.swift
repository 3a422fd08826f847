// SchedOp.swift: sched_op (29): yield, block (which also re-enables event delivery), shutdown
// with its reason. Poll and the remote operations come with event channels and domctl.

import ApusCore
import PVABI

enum SchedOpHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let op = SchedOp(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown sched_op command") }
        switch op {
        case .yield:
            Scheduler.credit.yield(d.id)
            DomainLife.save(d, result: 0)
            Scheduler.runNext()
        case .block:
            d.upcallMask = 0
            DomainLife.block(d)
            return .ok
        case .shutdown:
            guard let raw = GuestMemory.read32(a.a2) else { return .refused(.EFAULT, "sched_shutdown is not readable guest memory") }
            guard let reason = ShutdownReason(rawValue: raw) else { return .refused(.EINVAL, "unknown shutdown reason") }
            DomainLife.stop(d, .shutdown(reason))
        case .poll:
            // sched_poll {ports, nr_ports, timeout}: wait for any event (a spurious early
            // return is allowed: the guest checks its ports again), or until the timeout.
            guard let timeoutLow = GuestMemory.read32(a.a2 + UInt32(SchedPollLayout.timeoutOffset)),
                  let timeoutHigh = GuestMemory.read32(a.a2 + UInt32(SchedPollLayout.timeoutOffset + 4)) else {
                return .refused(.EFAULT, "sched_poll is not readable guest memory")
            }
            let timeout = UInt64(timeoutLow) | UInt64(timeoutHigh) << 32
            if timeout != 0 { d.timerDeadline = timeout }
            DomainLife.block(d)
            return .ok
        case .remoteShutdown, .shutdownCode, .watchdog, .pinOverride:
            return .refused(.ENOSYS, "this sched_op command is not implemented")
        }
    }
}
