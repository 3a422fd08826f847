// DescriptorDecode.swift: set_gdt (2) and update_descriptor (10) decoded: the GDT frame list copied
// into hypervisor storage (its length bounded before the first read), the descriptor's machine
// address and value from registers. Typing the frames and checking descriptors is the core's
// FrameTable's business afterwards; decoding must never act.

import PVABI

/// set_gdt: the frames (machine frame numbers) that hold `entries` descriptors.
public struct SetGDTRequest {
    /// 7168 entries (14 pages): the rest of the GDT is the hypervisor's.
    public static let maxEntries = Selector.firstReservedGDTEntry
    public static let maxFrames = (maxEntries + 511) / 512
    private var frames = InlineArray<14, UInt32>(repeating: 0)
    public private(set) var frameCount = 0
    public private(set) var entries = 0
    public init() {}

    public subscript(i: Int) -> UInt32 { frames[i] }

    public mutating func decode<M: GuestMemoryAccess>(_ a: HypercallArguments, _ memory: inout M) -> Refusal? {
        guard a.a2 <= UInt32(Self.maxEntries) else { return Refusal(.EINVAL, "set_gdt reaches the hypervisor's reserved GDT entries") }
        let count = (a.a2 + 511) / 512
        // The list holds `unsigned long` frame numbers: 4 bytes each on x86_32.
        guard case .success(let list) = GuestArray.check(a.a1, count: count, elementSize: 4, maxCount: UInt32(Self.maxFrames)) else {
            return Refusal(.EFAULT, "set_gdt frame list is not readable")
        }
        var i: UInt32 = 0
        while i < count {
            guard let slot = list.element(i), let mfn = memory.read32(slot) else { return Refusal(.EFAULT, "set_gdt frame list is not readable") }
            frames[Int(i)] = mfn
            i += 1
        }
        frameCount = Int(count)
        entries = Int(a.a2)
        return nil
    }
}

/// update_descriptor: one 8-byte descriptor at a machine address (the guest's own descriptor frame).
public struct UpdateDescriptorRequest: Equatable, Sendable {
    public let machineAddress: UInt64
    public let descriptor: UInt64
    public var frame: UInt32 { UInt32(truncatingIfNeeded: machineAddress >> 12) }
    /// The entry's index within its frame (0-511).
    public var index: Int { Int((machineAddress & 0xFFF) >> 3) }

    public static func decode(_ a: HypercallArguments) -> Decoded<UpdateDescriptorRequest> {
        let address = HypercallArguments.joined(a.a1, a.a2)
        guard address & 7 == 0 else { return .failure(Refusal(.EINVAL, "descriptor address is not 8-byte aligned")) }
        guard address >> 12 <= UInt64(UInt32.max) else { return .failure(Refusal(.EINVAL, "descriptor address is beyond machine memory")) }
        return .success(UpdateDescriptorRequest(machineAddress: address, descriptor: HypercallArguments.joined(a.a3, a.a4)))
    }
}
