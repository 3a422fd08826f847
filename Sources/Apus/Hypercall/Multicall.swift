// Multicall.swift: multicall (13): runs a batch of hypercalls from one guest array, storing each
// result in its entry. It stops after an iret (which replaces the frame) or when the domain stops
// running. Multicalls do not nest.

import ApusCore
import PVABI

enum MulticallHypercall {
    static let maxEntries: UInt32 = 1024

    static func run(_ a: HypercallArguments, _ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) -> HypercallOutcome {
        let base = a.a1
        let count = a.a2
        guard count <= maxEntries else { return .refused(.EINVAL, "multicall batch longer than 1024 entries") }
        let size = UInt32(MulticallEntryLayout.size)
        guard GuestMemory.inGuestRange(base, count * size) else { return .refused(.EFAULT, "multicall array reaches into the hypervisor area") }
        var i: UInt32 = 0
        while i < count {
            let entry = base + i * size
            guard let words = GuestMemory.readBytes(entry, count: MulticallEntryLayout.size) else {
                return .refused(.EFAULT, "multicall entry is not readable guest memory")
            }
            func arg(_ n: Int) -> UInt32 {
                let o = MulticallEntryLayout.argOffset(n)
                return UInt32(words[o]) | UInt32(words[o + 1]) << 8 | UInt32(words[o + 2]) << 16 | UInt32(words[o + 3]) << 24
            }
            let op = UInt32(words[0]) | UInt32(words[1]) << 8 | UInt32(words[2]) << 16 | UInt32(words[3]) << 24
            let outcome = Hypercalls.dispatch(op, HypercallArguments(arg(0), arg(1), arg(2), arg(3), arg(4)), frame, d, nested: true)
            let result: Int32
            switch outcome {
            case .value(let v): result = v
            case .refused(let e, let reason):
                result = e.negated
                Hypercalls.logRefusal(d, op, e, reason)
            case .answer(let e):
                result = e.negated
            case .frameReplaced, .descheduled:
                return outcome                       // iret or shutdown ends the batch
            }
            guard GuestMemory.write32(entry + UInt32(MulticallEntryLayout.resultOffset), UInt32(bitPattern: result)) else {
                return .refused(.EFAULT, "multicall result is not writable guest memory")
            }
            i += 1
        }
        return .ok
    }
}
