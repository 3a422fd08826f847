// AddressMap.swift: the one source of truth for the hypervisor's virtual address map.
// Scripts/gen-abi-inc.py copies the few NASM needs into build/gen/layout.inc at build time.
// Nothing here may move an address without the guest ABI (PVABI) agreeing: guests see the top.

public enum AddressMap {
    /// Guests own everything below this: their kernels, applications and page tables.
    public static let guestEnd: UInt32 = 0xF580_0000
    /// The machine-to-physical table, read-only, readable from ring 1 (not ring 3): 16 MiB.
    public static let m2pReadOnlyStart: UInt32 = 0xF580_0000
    public static let m2pReadOnlyEnd: UInt32 = 0xF680_0000
    /// Guest segments end here (GUEST_SEGMENT_MAX_ADDR); beyond is the hypervisor's alone.
    public static let guestSegmentEnd: UInt32 = 0xF680_0000
    /// The frame table: one 16-byte FrameRecord per machine frame, up to 4 GiB of RAM.
    public static let frameTableStart: UInt32 = 0xF680_0000
    public static let frameTableEnd: UInt32 = 0xF780_0000
    /// The hypervisor's writable alias of the M2P (guests only ever see the read-only one).
    public static let m2pWritableStart: UInt32 = 0xF780_0000
    public static let m2pWritableEnd: UInt32 = 0xF880_0000
    /// Per-domain area. First the vcpu_info windows: where a guest placed each vCPU's vcpu_info with
    /// VCPUOP_register_vcpu_info, mapped for good, one 4 KiB window per (domain id, vCPU): 512 ids x
    /// 8 vCPUs = 4096 windows, 16 MiB behind eight L1 tables (VcpuInfoWindows has the rule).
    public static let perDomainStart: UInt32 = 0xFD80_0000
    public static let vcpuInfoWindowsStart: UInt32 = 0xFD80_0000
    public static let vcpuInfoWindowsEnd: UInt32 = 0xFE80_0000
    /// 0xFE80_0000 - 0xFEA0_0000 (2 MiB) is spare: the old one-window-per-domain area.
    /// FIFO event channels: lasting 4 KiB windows onto the guest frames holding control blocks and
    /// event-array pages (EVTCHNOP_init_control, expand_array), taken from a pool (6 MiB, 1536 windows).
    public static let fifoWindowsStart: UInt32 = 0xFEA0_0000
    public static let fifoWindowsEnd: UInt32 = 0xFF00_0000
    public static let perDomainEnd: UInt32 = 0xFF00_0000
    /// Direct map of the first 12 MiB of physical memory, holding the hypervisor image.
    public static let directMapStart: UInt32 = 0xFF00_0000
    public static let directMapSize: UInt32 = 0x00C0_0000
    /// Where GRUB loads the image (physical); it runs at directMapStart + this.
    public static let imagePhysicalBase: UInt32 = 0x0010_0000
    /// The ring-0 boot stack in the image's bss (also TSS.esp0 for traps from rings 1 and 3).
    public static let bootStackSize: UInt32 = 0x8000
    /// Mapcache: 512 short-lived 4 KiB windows onto any machine frame.
    public static let mapcacheStart: UInt32 = 0xFFC0_0000
    public static let mapcacheSlots: UInt32 = 512
    /// I/O mappings (local APIC and friends) in the last 2 MiB.
    public static let ioremapStart: UInt32 = 0xFFE0_0000

    /// First L2 slot (of the L2 under L3 slot 3) that belongs to the hypervisor: 428.
    public static var firstHypervisorL2Slot: Int { Int((m2pReadOnlyStart - 0xC000_0000) >> 21) }

    /// The direct-mapped virtual address of a physical address below 12 MiB, or nil.
    public static func directMapped(_ physical: UInt64) -> UInt32? {
        guard physical < UInt64(directMapSize) else { return nil }
        return directMapStart + UInt32(physical)
    }
}
