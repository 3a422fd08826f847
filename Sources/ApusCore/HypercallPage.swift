// The hypercall page a pv32pae kernel asks for: 128 stubs of 32 bytes that enter the hypervisor with `int $0x82`.
// Stub bytes only: it must never decide where the page goes (the builder does) or hold anything but code and 0xCC filler.

import PVABI

/// Slot `i` at offset 32·i is `mov $i, %eax; int $0x82; ret`. Slot 23 (`iret`) is
/// `push %eax; int $0x83` with no `ret` (Xen's is `push %eax; mov $23, %eax; int $0x82`): its own
/// gate (Hypercall.iretTrapVector) goes straight to the iret path, and the hypervisor never
/// returns from it to the stub. Every other byte is 0xCC (`int3`), so a jump into the gaps traps and an
/// untouched or garbled page is easy to spot.
public enum HypercallPage {
    public static let size = 4096
    public static let slotSize = 32
    public static let slotCount = size / slotSize
    public static let filler: UInt8 = 0xCC
    /// The `iret` hypercall number.
    static let iretSlot = 23

    /// Fills a 4096-byte page with the stubs.
    public static func fill(_ page: UnsafeMutableRawBufferPointer) {
        precondition(page.count == size, "a hypercall page is 4096 bytes")
        for k in 0..<size { page[k] = filler }
        for slot in 0..<slotCount {
            let code = bytes(slot: slot)
            for k in 0..<code.count { page[slot * slotSize + k] = code[k] }
        }
    }

    /// The code of one slot, without filler.
    public static func bytes(slot: Int) -> [UInt8] {
        precondition(slot >= 0 && slot < slotCount, "the hypercall page has 128 slots")
        let n = UInt32(slot)
        let mov: [UInt8] = [0xB8, UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
        let int82: [UInt8] = [0xCD, UInt8(Hypercall.trapVector)]  // int imm8
        if slot == iretSlot { return [0x50, 0xCD, UInt8(Hypercall.iretTrapVector)] }     // push eax; int 0x83
        return mov + int82 + [0xC3]
    }
}
