// Each vCPU's own top-level table, as Xen's arch_set_info_guest and vCPU teardown keep it: a base
// given to a vCPU by VCPUOP_initialise holds a type (L3, validated) and a general reference, dropped
// when the vCPU's base is dropped. It must never give a vCPU a table the domain does not own or that
// does not validate as an L3, and never drop references a vCPU does not hold.

extension FrameTable {
    /// Gives vCPU `vcpu` (not yet running, without a base) the L3 in `mfn` as its base: the domain
    /// must own it and it must validate as an L3 (get_page_and_type(PGT_l3)). Nil on success;
    /// nothing changes on refusal.
    public mutating func giveVCPUBase<M: PhysicalMemory>(
        _ mfn: UInt32, vcpu: Int, state: inout DomainMemoryState, memory: inout M
    ) -> MemoryError? {
        guard vcpu >= 0, vcpu < DomainMemoryState.vcpuCapacity, state.vcpuBases[vcpu] == nil else { return .badBaseVCPU }
        if let refusal = referenceRefusal(UInt64(mfn), &state, allowExtras: false) { return refusal }
        if let refusal = getPageAndType(mfn, .l3, &state, &memory, hypervisorL2: false, allowExtras: false) { return refusal }
        state.vcpuBases[vcpu] = mfn
        if vcpu == state.currentVCPU { state.l1Memo = L1Memo() }
        return nil
    }

    /// Drops vCPU `vcpu`'s base and LDT bookkeeping (teardown; its LDT frames are the caller's).
    public mutating func dropVCPUBase<M: PhysicalMemory>(vcpu: Int, state: inout DomainMemoryState, memory: inout M) {
        guard vcpu >= 0, vcpu < DomainMemoryState.vcpuCapacity else { return }
        state.vcpuLDTs[vcpu] = VcpuLDT()
        guard let base = state.vcpuBases[vcpu] else { return }
        state.vcpuBases[vcpu] = nil
        if vcpu == state.currentVCPU { state.l1Memo = L1Memo() }
        putPageAndType(base, memory: &memory)
    }
}
