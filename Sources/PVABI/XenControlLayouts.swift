// XenControlLayouts.swift: the domctl and sysctl payloads as Xen 4.17 lays them out, for a caller that
// speaks Xen's interface version (XEN_DOMCTL_INTERFACE_VERSION and XEN_SYSCTL_INTERFACE_VERSION 0x15,
// the release xen_version reports) instead of Apus's own. Offsets are from the start of struct
// xen_domctl / xen_sysctl (the union starts at 16 and 8), taken from xen/include/public/domctl.h and
// sysctl.h of RELEASE-4.17.0. Numbers and layouts only: it must never act.

/// The interface versions of Xen 4.17.
public enum XenInterfaceVersion {
    public static let domctl: UInt32 = 0x0000_0015
    public static let sysctl: UInt32 = 0x0000_0015
}

/// struct xen_domctl_getdomaininfo (112 bytes), at DomctlLayout.payloadOffset.
public enum XenDomainInfoLayout {
    public static let domainOffset = 0            // u16
    public static let flagsOffset = 4             // u32: DomainInfoFlags
    public static let totalPagesOffset = 8        // u64
    public static let maxPagesOffset = 16         // u64
    public static let outstandingPagesOffset = 24 // u64
    public static let sharedPagesOffset = 32      // u64
    public static let pagedPagesOffset = 40       // u64
    public static let sharedInfoFrameOffset = 48  // u64
    public static let cpuTimeOffset = 56          // u64: nanoseconds
    public static let onlineVCPUsOffset = 64      // u32
    public static let maxVCPUIDOffset = 68        // u32
    public static let ssidrefOffset = 72          // u32
    public static let handleOffset = 76           // 16 bytes
    public static let cpupoolOffset = 92          // u32
    public static let gpaddrBitsOffset = 96       // u8
    public static let emulationFlagsOffset = 104  // u32: xen_arch_domainconfig (0 for PV)
    public static let miscFlagsOffset = 108       // u32
    public static let size = 112
}

/// struct xen_domctl_max_mem: u64 max_memkb, at DomctlLayout.payloadOffset.
/// struct xen_domctl_max_vcpus (XEN_DOMCTL_max_vcpus, 15): u32 max, IN.
public enum XenMaxVCPUsLayout {
    public static let maxOffset = 0
    public static let size = 4
}

public enum XenMaxMemLayout {
    public static let maxMemKiBOffset = 0
    public static let size = 8
}

/// struct xen_sysctl_physinfo, from offset 8 of xen_sysctl (struct-relative offsets here).
public enum XenPhysinfoLayout {
    public static let threadsPerCoreOffset = 8
    public static let coresPerSocketOffset = 12
    public static let nrCPUsOffset = 16
    public static let maxCPUIDOffset = 20
    public static let nrNodesOffset = 24
    public static let maxNodeIDOffset = 28
    public static let cpuKHzOffset = 32
    public static let capabilitiesOffset = 36
    public static let archCapabilitiesOffset = 40
    public static let totalPagesOffset = 48
    public static let freePagesOffset = 56
    public static let scrubPagesOffset = 64
    public static let outstandingPagesOffset = 72
    public static let maxMFNOffset = 80
    public static let hwCapOffset = 88            // u32[8]
    /// The payload's first byte and its length.
    public static let payloadOffset = 8
    public static let payloadSize = 112
    /// XEN_SYSCTL_PHYSCAP_pv: PV guests can be built.
    public static let capabilityPV: UInt32 = 1 << 1
}

/// struct xen_sysctl_readconsole, from offset 8 of xen_sysctl (struct-relative offsets here).
public enum XenReadConsoleLayout {
    public static let clearOffset = 8             // u8: clear after reading
    public static let incrementalOffset = 9       // u8: start at index (else at the oldest byte kept)
    public static let indexOffset = 12            // u32 IN/OUT
    public static let bufferOffset = 16           // u64 guest handle (the low 32 bits are the address)
    public static let countOffset = 24            // u32 IN: buffer size; OUT: bytes written
    public static let payloadOffset = 8
    public static let payloadSize = 20
}
