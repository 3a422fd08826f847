// SchedOp.swift: sched_op (29): yield, block (which also re-enables event delivery), shutdown
// with its reason. Poll and the remote operations come with event channels and domctl.

import ApusCore
import PVABI

enum SchedOpHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let op = SchedOp(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown sched_op command") }
        switch op {
        case .yield:
            return .ok
        case .block:
            d.upcallMask = 0
            DomainLife.block(d)
        case .shutdown:
            guard let raw = GuestMemory.read32(a.a2) else { return .refused(.EFAULT, "sched_shutdown is not readable guest memory") }
            guard let reason = ShutdownReason(rawValue: raw) else { return .refused(.EINVAL, "unknown shutdown reason") }
            DomainLife.stop(d, .shutdown(reason))
        case .poll:
            return .refused(.ENOSYS, "sched_op poll needs event channels, which are not implemented yet")
        case .remoteShutdown, .shutdownCode, .watchdog, .pinOverride:
            return .refused(.ENOSYS, "this sched_op command is not implemented")
        }
    }
}
