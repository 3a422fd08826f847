// StringPortTransfer.swift: the guest memory an emulated ins/outs reaches, decided as the CPU would with
// 32-bit addressing: the segment (present, writable for ins, readable for outs, its limit, expand-down
// too), the direction flag, and a rep count cut to a bounded chunk (Xen emulates rep ins/outs in pieces
// and lets the guest re-execute the instruction for the rest). Pure: it builds only checked GuestRanges,
// computes every address with overflow checks, and never touches a port or guest memory.

/// Why the CPU would raise #GP for the memory side of the access (left to the guest, and logged).
public enum StringPortRefusal: Equatable, Sendable {
    case nullOrSystemSegment
    case notPresent
    case notWritable
    case notReadable
    case beyondLimit
    case hypervisorArea

    public var reason: StaticString {
        switch self {
        case .nullOrSystemSegment: return "the segment is null or not a code or data segment"
        case .notPresent: return "the segment is not present"
        case .notWritable: return "ins writes through a segment that is not writable data"
        case .notReadable: return "outs reads through an execute-only code segment"
        case .beyondLimit: return "the string runs past the segment's limit"
        case .hypervisorArea: return "the string reaches the hypervisor's area"
        }
    }
}

/// One chunk of an ins/outs: `iterations` elements of `size` bytes within `span`, and the registers after it.
public struct StringPortTransfer: Equatable, Sendable {
    /// The most elements one #GP emulates; the guest re-executes the instruction for the rest.
    public static let maxIterations: UInt32 = 256

    public let size: UInt8
    public let iterations: UInt32
    /// Every byte the chunk touches, lowest first (checked against the segment and the hypervisor's area).
    public let span: GuestRange
    public let descending: Bool
    /// ESI (outs) or EDI (ins) after the whole chunk, as the CPU steps it (wrapping like the register).
    public let offsetAfter: UInt32
    /// ECX after the whole chunk (unchanged without rep).
    public let countAfter: UInt32
    /// True when the instruction is finished after this chunk: EIP moves past it.
    public let finished: Bool

    /// The `index`th element's bytes (index below `iterations`), in the order the CPU moves them.
    public func element(_ index: UInt32) -> GuestRange? {
        guard index < iterations else { return nil }
        let slot = descending ? iterations &- 1 &- index : index
        return span.slice(at: slot &* UInt32(size), count: UInt32(size))
    }

    /// The offset register after `done` elements (of this chunk's direction and size).
    public func offset(after done: UInt32, from start: UInt32) -> UInt32 {
        let step = done &* UInt32(size)
        return descending ? start &- step : start &+ step
    }

    public enum Plan: Equatable, Sendable {
        /// rep with ECX 0: nothing moves; EIP moves past the instruction.
        case nothing
        case transfer(StringPortTransfer)
        case generalProtection(StringPortRefusal)
    }

    /// The chunk of an ins (`write` true: the string is written) or outs from `offset` (EDI or ESI) in the
    /// segment `descriptor` (nil: a null selector), with ECX `count` when `rep`, DF `descending`.
    public static func plan(size: UInt8, rep: Bool, count: UInt32, descending: Bool, offset: UInt32,
                            descriptor: SegmentDescriptor?, write: Bool,
                            maxIterations: UInt32 = StringPortTransfer.maxIterations) -> Plan {
        if rep && count == 0 { return .nothing }
        guard let s = descriptor, s.isCodeOrData else { return .generalProtection(.nullOrSystemSegment) }
        guard s.present else { return .generalProtection(.notPresent) }
        if write {
            guard !s.isCode, s.type & 2 != 0 else { return .generalProtection(.notWritable) }
        } else {
            guard !s.isCode || s.type & 2 != 0 else { return .generalProtection(.notReadable) }
        }
        let n = rep ? min(count, max(1, maxIterations)) : 1
        let width = UInt64(size)
        let bytes = UInt64(n) * width
        // The span's first offset, in 64 bits so nothing wraps: descending strings end at `offset + size`.
        let first: UInt64
        if descending {
            let back = UInt64(n - 1) * width
            guard UInt64(offset) >= back else { return .generalProtection(.beyondLimit) }
            first = UInt64(offset) - back
        } else {
            first = UInt64(offset)
        }
        let last = first + bytes - 1
        // Limit: expand-up data and code reach 0...limit; expand-down data limit+1...(B ? 4 GiB - 1 : 64 KiB - 1).
        if !s.isCode && s.type & 4 != 0 {
            let top: UInt64 = s.defaultBig ? 0xFFFF_FFFF : 0xFFFF
            guard first > UInt64(s.limitBytes), last <= top else { return .generalProtection(.beyondLimit) }
        } else {
            guard last <= UInt64(s.limitBytes) else { return .generalProtection(.beyondLimit) }
        }
        let linear = UInt64(s.base) + first
        guard linear <= UInt64(UInt32.max), let span = GuestRange(UInt32(linear), count: UInt32(bytes)) else {
            return .generalProtection(.hypervisorArea)
        }
        let step = UInt32(truncatingIfNeeded: bytes)
        let after = descending ? offset &- step : offset &+ step
        let remaining = rep ? count - n : count
        return .transfer(StringPortTransfer(size: size, iterations: n, span: span, descending: descending,
                                            offsetAfter: after, countAfter: remaining, finished: !rep || remaining == 0))
    }
}
