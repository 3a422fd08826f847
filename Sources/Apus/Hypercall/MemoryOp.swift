// MemoryOp.swift: memory_op (12): what a guest may ask about memory: the current and maximum
// reservation, the highest machine frame, and its pseudo-physical memory map. Ballooning
// (increase/decrease/populate) answers -ENOSYS until it exists.

import ApusCore
import PVABI

enum MemoryOpHypercall {
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let command = MemoryOpCommand(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown memory_op command") }
        switch command {
        case .maximumRAMPage:
            return .value(Int32(bitPattern: Machine.m2pFrames))
        case .currentReservation, .maximumReservation:
            guard let raw = GuestMemory.readBytes(a.a2, count: 2) else { return .refused(.EFAULT, "domid is not readable guest memory") }
            let domid = UInt16(raw[0]) | UInt16(raw[1]) << 8
            guard domid == 0x7FF0 || domid == d.id else { return .refused(.EPERM, "only your own reservation may be read here") }
            return .value(Int32(d.frames.count))
        case .memoryMap:
            guard let capacity = GuestMemory.read32(a.a2), let buffer = GuestMemory.read32(a.a2 + 4) else {
                return .refused(.EFAULT, "xen_memory_map is not readable guest memory")
            }
            guard capacity >= 1 else { return .refused(.EINVAL, "the memory map buffer has room for no entry") }
            var entry = [UInt8](repeating: 0, count: XenMemoryMapLayout.e820EntrySize)
            let size = UInt64(d.frames.count) << 12
            for i in 0..<8 { entry[8 + i] = UInt8((size >> (8 * UInt64(i))) & 0xFF) }
            entry[16] = UInt8(XenMemoryMapLayout.e820RAM)
            guard GuestMemory.writeBytes(buffer, entry), GuestMemory.write32(a.a2, 1) else {
                return .refused(.EFAULT, "the memory map buffer is not writable guest memory")
            }
            return .ok
        default:
            return .refused(.ENOSYS, "this memory_op command is not implemented")
        }
    }
}
