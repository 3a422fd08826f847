// FifoEventChannelOp.swift: EVTCHNOP_init_control, expand_array and set_priority acted on. This file
// gathers the facts FifoControlRules decides on (the domain's VCPU count and port limit, whether it has a
// bound port, what a writable type reference on the offered frame answers) and answers what the rules say.
// The FIFO queues are not wired into delivery yet (issue #16), so a request that passes every check is
// still answered -ENOSYS and the domain stays on the 2-level ABI (Linux falls back to it on any error).
// It must never keep a reference on an offered frame, map it, or change a port.

import ApusCore
import PVABI

enum FifoEventChannelHypercall {
    /// No domain has switched to FIFO yet: every domain's setup is the initial (2-level) one.
    static let setup = FifoSetup()

    static func run(_ request: FifoEventRequest, _ d: Domain) -> HypercallOutcome {
        guard let table = Events.system.table(d.id) else { return .refused(.ESRCH, "the domain has no event-channel table") }
        switch request {
        case .initControl(let gfn, let offset, let vcpu, _):
            let bound = table.portsInUse > 0
            // Every check before the frame's, then the frame (so a refused request takes no reference).
            func rule(_ frame: FifoFrameCheck) -> Refusal? {
                FifoControlRules.initControl(setup, vcpu: vcpu, vcpus: table.vcpuCount, offset: offset, frame: frame, boundPorts: bound)
            }
            if let refusal = rule(.ownWritableRAM) ?? rule(frameCheck(gfn, d)) { return refusal.outcome }
            return .refused(.ENOSYS, "init_control: the request passes Xen's checks, but FIFO queues are not wired into delivery yet; use the 2-level ABI")
        case .expandArray(let gfn):
            func rule(_ frame: FifoFrameCheck) -> Refusal? { FifoControlRules.expandArray(setup, portLimit: table.portLimit, frame: frame) }
            if let refusal = rule(.ownWritableRAM) ?? rule(frameCheck(gfn, d)) { return refusal.outcome }
            return .refused(.ENOSYS, "expand_array: FIFO queues are not wired into delivery yet")
        case .setPriority(let port, let priority):
            if let refusal = FifoControlRules.setPriority(setup, port: port, priority: priority, portLimit: table.portLimit) { return refusal.outcome }
            return .refused(.ENOSYS, "set_priority: FIFO queues are not wired into delivery yet")
        }
    }

    /// What a writable type reference on `gfn` (the machine frame on PV) answers; a reference taken to
    /// ask is given back at once.
    static func frameCheck(_ gfn: UInt64, _ d: Domain) -> FifoFrameCheck {
        FifoFrameCheck.of(gfn: gfn) { mfn in
            let error = Machine.frames.getPageAndType(mfn, .writable, state: d.memory, memory: &Machine.memory)
            if error == nil { Machine.frames.putPageAndType(mfn, memory: &Machine.memory) }
            return error
        }
    }
}
