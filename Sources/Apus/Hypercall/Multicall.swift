// Multicall.swift: multicall (13): runs a batch of hypercalls from one guest array, storing each
// result in its entry. It stops after an iret (which replaces the frame) or when the domain stops
// running. Multicalls do not nest. ApusCore's MulticallBatch decodes the array and each entry.

import ApusCore
import PVABI

enum MulticallHypercall {
    static func run(_ a: HypercallArguments, _ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> HypercallOutcome {
        let batch: MulticallBatch
        switch MulticallBatch.decode(a) {
        case .failure(let r): return r.outcome
        case .success(let b): batch = b
        }
        var memory = RunningGuestMemory()
        var i: UInt32 = 0
        while i < batch.entries.count {
            let entry: MulticallEntry
            switch batch.entry(i, &memory) {
            case .failure(let r): return r.outcome
            case .success(let e): entry = e
            }
            let outcome = Hypercalls.dispatch(entry.op, entry.arguments, frame, d, nested: true)
            let result: Int32
            switch outcome {
            case .value(let v): result = v
            case .refused(let e, let reason):
                result = e.negated
                Hypercalls.logRefusal(d, entry.op, e, reason)
            case .answer(let e):
                result = e.negated
            case .unoffered(let e, let reason):
                result = e.negated
                Hypercalls.logUnoffered(d, entry.op, e, reason)
            case .frameReplaced, .descheduled:
                return outcome                       // iret or shutdown ends the batch
            }
            guard memory.write32(UInt32(bitPattern: result), to: entry.result) else {
                return .refused(.EFAULT, "multicall result is not writable guest memory")
            }
            i += 1
        }
        return .ok
    }
}
