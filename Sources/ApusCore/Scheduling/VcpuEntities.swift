// VcpuEntities.swift: the scheduler's entities are vCPUs. Each (domain, vCPU) pair has one entity
// id in the credit scheduler, vCPU 0's being its domain's id (a one-vCPU domain is scheduled
// exactly as before vCPUs were entities), and a domain's weight is shared among its online vCPUs.
// Pure numbers: it never schedules anything.

import PVABI

public enum VcpuLimits {
    /// vcpus = N in a configuration, and domctl max_vcpus, accept 1 ... maxVCPUs.
    public static let maxVCPUs = 8

    /// domctl max_vcpus: nil when `requested` vCPUs may be given to a domain that has `current`
    /// (and has run or not), else Xen's errno and why. As Xen: only before the domain first runs,
    /// never fewer than it has (vCPUs are allocated once), never beyond the limit.
    public static func maxVCPUsRefusal(requested: UInt32, current: Int, hasRun: Bool) -> Refusal? {
        if requested == 0 { return Refusal(.EINVAL, "max_vcpus: a domain needs at least one vCPU") }
        if requested > UInt32(maxVCPUs) { return Refusal(.EINVAL, "max_vcpus: more vCPUs than a domain may have (8)") }
        if Int(requested) < current { return Refusal(.EINVAL, "max_vcpus: vCPUs are never taken away") }
        if hasRun && Int(requested) != current { return Refusal(.EBUSY, "max_vcpus: the domain has already run") }
        return nil
    }
}

public enum VcpuEntity {
    /// The entity of vCPU `vcpu` of domain `domain`, for domain ids below `capacity`:
    /// vcpu * capacity + domain (vCPU 0's entity is the domain id).
    @inline(__always)
    public static func id(domain: UInt16, vcpu: UInt32, capacity: Int) -> UInt16 {
        UInt16(truncatingIfNeeded: Int(vcpu) * capacity + Int(domain))
    }

    /// The (domain, vCPU) an entity id stands for.
    @inline(__always)
    public static func split(_ entity: UInt16, capacity: Int) -> (domain: UInt16, vcpu: UInt32) {
        (UInt16(truncatingIfNeeded: Int(entity) % capacity), UInt32(Int(entity) / capacity))
    }

    /// How many entities the scheduler needs for `capacity` domains of up to VcpuLimits.maxVCPUs each.
    public static func count(capacity: Int) -> Int { capacity * VcpuLimits.maxVCPUs }

    /// The credit weight of each online vCPU of a domain of weight `weight` with `online` vCPUs up:
    /// the domain's weight shared evenly (at least 1), so the domain's total stays its weight.
    public static func weight(domainWeight weight: UInt16, online: Int) -> UInt16 {
        guard online > 1 else { return weight }
        return max(1, UInt16(Int(weight) / online))
    }
}
