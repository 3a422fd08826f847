// Byte offsets of the x86_32 shared_info page a pv32pae guest maps: per-VCPU event and time state, event bitmaps, wallclock.
// Offsets and sizes only, as Xen's public xen.h lays them out for a 32-bit guest: never logic, never Swift structs that must match memory.
//
// Everything here is 4-byte aligned at most: on i386 a uint64_t inside a struct aligns to 4,
// and `unsigned long` / `xen_ulong_t` are 4 bytes. The hypervisor writes these fields with
// plain stores through its mapping of the guest's shared_info frame.

/// Limits of the legacy shared_info layout.
public enum SharedInfoLimits {
    /// VCPUs whose vcpu_info lives in shared_info (XEN_LEGACY_MAX_VCPUS, formerly MAX_VIRT_CPUS).
    /// Later VCPUs must place theirs with VCPUOP_register_vcpu_info.
    public static let legacyMaxVCPUs: Int = 32
    /// Bits in one evtchn_pending / evtchn_mask word, and in evtchn_pending_sel: a 32-bit `long`.
    public static let bitsPerEventWord: Int = 32
    /// Event-channel ports of the 2-level ABI on a 32-bit guest (EVTCHN_2L_NR_CHANNELS,
    /// sizeof(long) * sizeof(long) * 64): 32 words of 32 bits, each word selected by one
    /// bit of evtchn_pending_sel.
    public static let twoLevelEventChannels: Int = 1024
}

/// struct vcpu_time_info (32 bytes): the guest computes system time as
/// `system_time + (((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32`
/// (a negative tsc_shift shifts right).
///
/// OUT (written by the hypervisor): every field. `version` is incremented before and after
/// each update, so an odd version means an update is in progress and the guest retries.
public enum VcpuTimeInfo {
    /// u32: update counter, odd while an update is in progress.
    public static let versionOffset: Int = 0
    /// u32: padding.
    public static let pad0Offset: Int = 4
    /// u64: TSC at the last update.
    public static let tscTimestampOffset: Int = 8
    /// u64: nanoseconds since boot at `tsc_timestamp`.
    public static let systemTimeOffset: Int = 16
    /// u32: TSC-to-nanoseconds multiplier, a 32.32 fixed-point fraction.
    public static let tscToSystemMulOffset: Int = 24
    /// i8: power-of-two shift applied to a TSC delta before the multiply.
    public static let tscShiftOffset: Int = 28
    /// u8: XEN_PVCLOCK_* flags (interface version > 0x040600; before that, padding).
    public static let flagsOffset: Int = 29
    /// u8[2]: padding.
    public static let pad1Offset: Int = 30
    public static let size: Int = 32

    /// XEN_PVCLOCK_TSC_STABLE_BIT: the TSC is synchronised across physical CPUs.
    public static let flagTSCStable: UInt8 = 1 << 0
    /// XEN_PVCLOCK_GUEST_STOPPED: the guest was paused (set for watchdogs to notice).
    public static let flagGuestStopped: UInt8 = 1 << 1
}

/// struct arch_vcpu_info for x86_32 (24 bytes): `cr2` then `pad[5]`.
public enum ArchVcpuInfo {
    /// u32, OUT: the faulting linear address of the last page fault bounced to the guest
    /// (the guest kernel cannot read the real CR2 from ring 1).
    public static let cr2Offset: Int = 0
    /// u32[5]: padding, keeping vcpu_info at 64 bytes.
    public static let padOffset: Int = 4
    public static let size: Int = 24
}

/// struct vcpu_info (64 bytes), one per VCPU: shared_info.vcpu_info[i] for i < 32, or
/// wherever the guest registered it.
public enum VcpuInfo {
    /// u8. OUT: the hypervisor sets it non-zero when an event is pending for this VCPU.
    /// IN: the guest clears it before scanning for work.
    public static let evtchnUpcallPendingOffset: Int = 0
    /// u8, IN: non-zero masks event upcalls to this VCPU (the virtual EFLAGS.IF, inverted).
    /// Starts at 1. The hypervisor sets it when it enters the event callback (and any trap
    /// registered to mask events) and saves the old value in the bounce frame's CS slot.
    public static let evtchnUpcallMaskOffset: Int = 1
    /// u32, OUT: bit i set means evtchn_pending word i has an unmasked pending port.
    public static let evtchnPendingSelOffset: Int = 4
    /// arch_vcpu_info (cr2 at 8).
    public static let archOffset: Int = 8
    /// vcpu_time_info (version at 32).
    public static let timeOffset: Int = 32
    public static let size: Int = 64

    /// Where vcpu_info.arch.cr2 lives inside a vcpu_info.
    public static let cr2Offset: Int = archOffset + ArchVcpuInfo.cr2Offset
}

/// struct arch_shared_info for x86_32 (28 bytes).
public enum ArchSharedInfo {
    /// u32, IN: number of valid entries in the guest's P2M (for save/restore tools).
    public static let maxPFNOffset: Int = 0
    /// u32, IN: frame holding the list of frames that list the P2M frames (0: not set up).
    public static let pfnToMFNFrameListListOffset: Int = 4
    /// u32, OUT: reason bits of the last NMI (dom0).
    public static let nmiReasonOffset: Int = 8
    /// u32, IN: folded CR3 (xen_pfn_to_cr3) of the address space holding the linear P2M.
    public static let p2mCR3Offset: Int = 12
    /// u32, IN: virtual address of the linear P2M list.
    public static let p2mVaddrOffset: Int = 16
    /// u32, IN: bumped by the guest around P2M mapping changes.
    public static let p2mGenerationOffset: Int = 20
    /// u32, OUT: high 32 bits of the wallclock seconds. x86_32 only: there was no room for it
    /// beside wc_nsec in the generic part, so it lives here.
    public static let wcSecHiOffset: Int = 24
    public static let size: Int = 28
}

/// struct shared_info for an x86_32 guest (2344 bytes; one 4 KiB frame per domain).
public enum SharedInfo {
    /// vcpu_info[32], 64 bytes each.
    public static let vcpuInfoOffset: Int = 0
    /// u32[32], OUT (set by the hypervisor, cleared by the guest): bit p = port p pending.
    public static let evtchnPendingOffset: Int = 2048
    /// u32[32], IN (read-only to the hypervisor): bit p = port p masked.
    public static let evtchnMaskOffset: Int = 2176
    /// u32, OUT: wallclock version counter, same protocol as vcpu_time_info.version.
    public static let wcVersionOffset: Int = 2304
    /// u32, OUT: wallclock seconds since 1970-01-01 00:00 UTC at system time 0.
    public static let wcSecOffset: Int = 2308
    /// u32, OUT: the nanoseconds part of the same instant.
    public static let wcNsecOffset: Int = 2312
    /// arch_shared_info.
    public static let archOffset: Int = 2316
    public static let size: Int = 2344

    /// Where vcpu_info[vcpu] starts; `vcpu` must be below SharedInfoLimits.legacyMaxVCPUs.
    public static func vcpuInfoOffset(vcpu: Int) -> Int { vcpuInfoOffset + vcpu * VcpuInfo.size }
    /// u32: arch.max_pfn.
    public static let maxPFNOffset: Int = archOffset + ArchSharedInfo.maxPFNOffset
    /// u32: arch.wc_sec_hi (what xen.h calls xen_wc_sec_hi on x86_32).
    public static let wcSecHiOffset: Int = archOffset + ArchSharedInfo.wcSecHiOffset
}
