// VcpuInfoWindows.swift: VCPUOP_register_vcpu_info's rules (Xen's map_vcpu_info, beyond the decoder's
// offset check) and where the hypervisor maps each placed vcpu_info. Pure numbers and decisions: it
// never maps a frame or takes a reference (the frame's ownership and type are FrameTable's rule).
//
// Layout: a fixed window per (domain id, vCPU), window id * maxVCPUs + vcpu of the area
// AddressMap.vcpuInfoWindowsStart ..< vcpuInfoWindowsEnd: 16 MiB, 4096 windows, room for every
// domain id (Domains.capacity, 512) times every vCPU (VcpuLimits.maxVCPUs, 8). A fixed slot, not a
// pool: no domain can use up another's windows, and a registration never fails for want of one.

import PVABI

public enum VcpuInfoWindows {
    public static let perDomain = VcpuLimits.maxVCPUs
    public static var count: Int { Int((AddressMap.vcpuInfoWindowsEnd - AddressMap.vcpuInfoWindowsStart) >> 12) }
    /// Domain ids the area has windows for.
    public static var domains: Int { count / perDomain }
    /// How many L1 tables (512 windows each) stand behind the area.
    public static var l1Tables: Int { count / 512 }

    /// The window's number in the area, or nil for a domain id or vCPU beyond it.
    public static func index(domain: UInt16, vcpu: UInt32) -> Int? {
        guard Int(domain) < domains, vcpu < UInt32(perDomain) else { return nil }
        return Int(domain) * perDomain + Int(vcpu)
    }

    /// The window's hypervisor virtual address, or nil as `index`.
    public static func address(domain: UInt16, vcpu: UInt32) -> UInt32? {
        guard let i = index(domain: domain, vcpu: vcpu) else { return nil }
        return AddressMap.vcpuInfoWindowsStart + UInt32(i) << 12
    }

    /// Xen's map_vcpu_info refusals before it looks at the frame, in its order: a vCPU whose
    /// vcpu_info was already moved (once per vCPU), and another vCPU that is not down (a vCPU
    /// registers its own, or the caller one that is offline). nil: go on to the frame's checks.
    public static func refusal(alreadyPlaced: Bool, targetIsCaller: Bool, targetIsDown: Bool) -> Refusal? {
        if alreadyPlaced { return Refusal(.EINVAL, "register_vcpu_info: this vCPU's vcpu_info was already moved (once per vCPU, as on Xen)") }
        if !targetIsCaller && !targetIsDown {
            return Refusal(.EINVAL, "register_vcpu_info: another vCPU's vcpu_info moves only while it is down (as on Xen)")
        }
        return nil
    }
}
