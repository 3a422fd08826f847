// VcpuEntities.swift: the scheduler's entities are vCPUs. Each (domain, vCPU) pair has one entity
// id in the credit scheduler: vCPU 0's is its domain's id (a one-vCPU domain is scheduled exactly
// as before vCPUs were entities), the others' come from a pool (VcpuEntityPool); a domain's weight
// is shared among its active vCPUs (ActiveVcpuShare).
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
    /// Entity ids for vCPUs above 0, after the domains' own: this many at once in the whole system.
    public static let extraSlots = 256

    /// How many entities the scheduler needs for `capacity` domains: one each for vCPU 0 (the
    /// domain id) and the pool of extra slots for the others.
    public static func count(capacity: Int) -> Int { capacity + extraSlots }
}

/// The entity ids of vCPUs above 0: `base ..< base + count`, each lent to one (domain, vCPU) while
/// that vCPU has been up, given back when its domain goes. A fixed pool, so that the scheduler's
/// tables stay small (512 domains of 8 vCPUs each would need 4096 entries, most never used).
public struct VcpuEntityPool {
    public let base: Int
    /// owners[i]: (domain + 1) << 8 | vCPU for entity base + i; 0 while free.
    var owners: [UInt32]

    public init(base: Int, count: Int = VcpuEntity.extraSlots) {
        self.base = base
        owners = Array(repeating: 0, count: count)
    }

    /// A free entity for vCPU `vcpu` (1-255) of `domain`, or nil when all are lent.
    public mutating func take(domain: UInt16, vcpu: UInt32) -> UInt16? {
        guard vcpu > 0, vcpu < 256 else { return nil }
        for i in 0..<owners.count where owners[i] == 0 {
            owners[i] = (UInt32(domain) + 1) << 8 | vcpu
            return UInt16(truncatingIfNeeded: base + i)
        }
        return nil
    }

    /// Gives `entity` back (nothing for an id outside the pool).
    public mutating func give(_ entity: UInt16) {
        let i = Int(entity) - base
        if i >= 0 && i < owners.count { owners[i] = 0 }
    }

    /// Whose vCPU an entity id stands for: ids below `base` are vCPU 0 of the domain with that id.
    public func owner(_ entity: UInt16) -> (domain: UInt16, vcpu: UInt32)? {
        let i = Int(entity) - base
        if i < 0 { return (entity, 0) }
        guard i < owners.count, owners[i] != 0 else { return nil }
        return (UInt16(truncatingIfNeeded: (owners[i] >> 8) - 1), owners[i] & 0xFF)
    }

    /// How many entities are lent.
    public var inUse: Int { owners.reduce(0) { $0 + ($1 == 0 ? 0 : 1) } }
}
