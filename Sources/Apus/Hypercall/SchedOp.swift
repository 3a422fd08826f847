// SchedOp.swift: sched_op (29) acted on: yield, block (which also re-enables event delivery),
// shutdown with its reason, poll. ApusCore's SchedOpRequest decodes; this file only acts.

import ApusCore
import PVABI

enum SchedOpHypercall {
    /// SCHEDOP_block, the command a domain waiting for events makes every time, reads no argument:
    /// it is acted on without the decoder (which answers .block for this number too). Out of line:
    /// inlined into the hypercall table, it changed the table's register allocation and cost every
    /// other inline call a few instructions.
    @inline(never)
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        if a.a1 == SchedOp.block.rawValue { return block(d) }
        var memory = RunningGuestMemory()
        switch SchedOpRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.yield):
            Scheduler.credit.yield(Scheduler.entity(d, d.vcpu))
            DomainLife.save(d, result: 0)
            Scheduler.runNext()
        case .success(.block):
            return block(d)
        case .success(.shutdown(let reason)):
            DomainLife.stop(d, .shutdown(reason))
        case .success(.poll(let list, let timeout)):
            switch PollPorts.decode(list, &memory) {
            case .failure(let refusal): return refusal.outcome
            case .success(let ports):
                // Returns at once when a named port is already pending; otherwise waits for any event
                // (the guest checks its ports again, as Xen allows) or the timeout.
                for i in 0..<ports.count where Events.isPending(d, port: ports[i]) { return .ok }
                if timeout != 0 { d.vcpu.timerDeadline = timeout }
                Scheduler.block(d)
                return .ok
            }
        }
    }

    /// SCHEDOP_block: events unmasked (as Xen's do_block does), then off the CPU unless one is pending.
    @inline(__always)
    static func block(_ d: Domain) -> HypercallOutcome {
        d.upcallMask = 0
        Scheduler.block(d)
        return .ok
    }
}
