// VcpuContextTables.swift: VCPUOP_initialise's address space and GDT for one vCPU, as Xen's
// arch_set_info_guest takes them: the GDT frames (gdt_frames) typed as descriptor frames under
// set_gdt's rule, then ctrlreg[3]'s L3 given to the vCPU as its own base (giveVCPUBase: the domain's
// frame, validated as an L3). It must never keep a reference it took when it refuses, and never
// give a base to a vCPU that has one.

import PVABI

/// Why VCPUOP_initialise's tables were refused (Xen answers each -EINVAL), with the core's reason.
public enum VcpuTablesRefusal: Equatable, Sendable {
    /// A GDT frame is not one of the domain's pages holding only acceptable descriptors.
    case gdtFrame(MemoryError)
    /// cr3 names a frame the domain does not own (Xen's get_page_from_mfn fails).
    case baseNotOwned(MemoryError)
    /// cr3's frame does not validate as an L3 (get_page_type PGT_root_page_table fails).
    case baseNotL3(MemoryError)
    /// The vCPU already has a base, or the domain keeps none for it.
    case vcpuHasBase

    /// Xen's errno for every case.
    public var error: XenError { .EINVAL }

    /// What the hypercall's refusal says.
    public var reason: StaticString {
        switch self {
        case .gdtFrame: return "initialise: a gdt_frames entry is not a valid descriptor page of the domain (set_gdt's rule)"
        case .baseNotOwned: return "initialise: cr3 names a frame that is not the domain's"
        case .baseNotL3: return "initialise: cr3's frame does not validate as a top-level (L3) table"
        case .vcpuHasBase: return "initialise: the vCPU already has a top-level table"
        }
    }

    /// The paging core's own reason behind it (nil for vcpuHasBase).
    public var memoryError: MemoryError? {
        switch self {
        case .gdtFrame(let e), .baseNotOwned(let e), .baseNotL3(let e): return e
        case .vcpuHasBase: return nil
        }
    }
}

extension FrameTable {
    /// Types `gdtFrames` as descriptor frames (each holds a type and a general reference from then on),
    /// then gives vCPU `vcpu` the L3 in `l3` as its base. Nil on success; on refusal nothing it took is
    /// kept (the frames typed before a refused one, or all of them when the base is refused).
    public mutating func takeVCPUTables<M: PhysicalMemory>(
        gdtFrames: [UInt32], l3: UInt32, vcpu: Int, state: inout DomainMemoryState, memory: inout M
    ) -> VcpuTablesRefusal? {
        guard vcpu >= 0, vcpu < DomainMemoryState.vcpuCapacity, state.vcpuBases[vcpu] == nil else { return .vcpuHasBase }
        var typed = 0
        while typed < gdtFrames.count {
            if let refusal = getDescriptorFrame(gdtFrames[typed], state: state, memory: &memory) {
                putDescriptorFrames(gdtFrames, count: typed, memory: &memory)
                return .gdtFrame(refusal)
            }
            typed += 1
        }
        var refusal: VcpuTablesRefusal? = nil
        if let notOwned = referenceRefusal(UInt64(l3), &state, allowExtras: false) {
            refusal = .baseNotOwned(notOwned)
        } else if let invalid = giveVCPUBase(l3, vcpu: vcpu, state: &state, memory: &memory) {
            refusal = invalid == .badBaseVCPU ? .vcpuHasBase : .baseNotL3(invalid)
        }
        if refusal != nil { putDescriptorFrames(gdtFrames, count: typed, memory: &memory) }
        return refusal
    }

    /// Drops the first `count` of `frames`' descriptor types, last first.
    mutating func putDescriptorFrames<M: PhysicalMemory>(_ frames: [UInt32], count: Int, memory: inout M) {
        var i = count
        while i > 0 {
            i -= 1
            putDescriptorFrame(frames[i], memory: &memory)
        }
    }
}
