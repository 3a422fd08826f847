// InstructionFetch.swift: the bytes of the guest instruction at EIP, fetched for the emulators
// (writable page tables, forced-emulation cpuid) through the checked guest-memory path: as many of
// the 15 an instruction may have as are mapped. It must never read past what the guest can read.

import PVABI

/// Up to 15 instruction bytes copied from the guest, as a collection StoreDecoder can walk.
public struct InstructionBytes: RandomAccessCollection {
    public static let maximumLength = 15
    private var bytes = GuestBytes<16>(count: 0)
    public private(set) var endIndex = 0
    public var startIndex: Int { 0 }
    public init() {}

    public subscript(i: Int) -> UInt8 { bytes.u8(i) }

    /// Fetches from `eip`: the part in its page, then what the next page holds when it is mapped.
    public static func fetch<M: GuestMemoryAccess>(_ eip: UInt32, _ memory: inout M) -> InstructionBytes {
        var result = InstructionBytes()
        let inPage = UInt32(PAE.pageSize) - (eip & (PAE.pageSize - 1))
        let firstCount = Swift.min(UInt32(maximumLength), inPage)
        guard let first = GuestRange(eip, count: firstCount), let head: GuestBytes<16> = memory.read(first) else { return result }
        result.bytes = head
        result.endIndex = Int(firstCount)
        let rest = UInt32(maximumLength) - firstCount
        guard rest > 0, let second = GuestRange(first.end, count: rest), let tail: GuestBytes<16> = memory.read(second) else { return result }
        var combined = GuestBytes<16>(count: maximumLength)
        for i in 0..<Int(firstCount) { combined.set8(i, head.u8(i)) }
        for i in 0..<Int(rest) { combined.set8(Int(firstCount) + i, tail.u8(i)) }
        result.bytes = combined
        result.endIndex = maximumLength
        return result
    }

    /// Whether the fetched bytes start with `prefix`.
    public func starts(with prefix: [UInt8]) -> Bool {
        guard prefix.count <= count else { return false }
        for i in 0..<prefix.count where prefix[i] != self[i] { return false }
        return true
    }
}

extension TrapFrame {
    /// Moves the guest past an instruction the hypervisor emulated (wraps as the CPU would).
    public mutating func skipInstruction(length: Int) {
        eip = eip &+ UInt32(truncatingIfNeeded: length)
    }

    /// The interrupted guest's general register by its ModRM number (0 EAX, 1 ECX, 2 EDX, 3 EBX,
    /// 4 ESP, 5 EBP, 6 ESI, 7 EDI), as an emulated instruction reads it.
    public func register(_ number: UInt8) -> UInt32 {
        switch number & 7 {
        case 0: return eax
        case 1: return ecx
        case 2: return edx
        case 3: return ebx
        case 4: return esp
        case 5: return ebp
        case 6: return esi
        default: return edi
        }
    }

    /// Sets that register, as an emulated instruction writes it.
    public mutating func setRegister(_ number: UInt8, _ value: UInt32) {
        switch number & 7 {
        case 0: eax = value
        case 1: ecx = value
        case 2: edx = value
        case 3: ebx = value
        case 4: esp = value
        case 5: ebp = value
        case 6: esi = value
        default: edi = value
        }
    }
}
