// Tearing a domain's paging down: every vCPU's base pointer and LDT, its pins and descriptor frames give back every reference they hold.
// It must never free a frame itself (the caller does, with FrameTable.release) nor drop a reference another domain holds.
//
// Type references form a strict hierarchy (L3 -> L2 -> L1 -> writable pages), so dropping
// the roots (base pointer and pins) devalidates every table of the domain and with them every
// reference their entries held. Descriptor frames are held by the caller's GDT/LDT
// bookkeeping; teardown drops what is left of those too, so the caller must forget them.

extension FrameTable {
    /// Releases everything the domain's paging holds. Afterwards every frame the domain owns
    /// has refCount 0 and typeCount 0 unless another domain references it (as one of that
    /// domain's extras); the answer is how many such frames remain. O(frames in the table):
    /// the reference for tests; the hypervisor names the domain's own frames instead.
    @discardableResult
    public mutating func teardown<M: PhysicalMemory>(state: inout DomainMemoryState, memory: inout M) -> Int {
        teardown(state: &state, frames: 0..<count, memory: &memory)
    }

    /// `teardown(state:memory:)` over `frames`, which must include every frame the domain owns
    /// once (its P2M, FrameExtents): O(its frames), not O(the table). Frames of `frames` another
    /// owner holds, or already given back, are left alone.
    @discardableResult
    public mutating func teardown<M: PhysicalMemory, S: Sequence>(
        state: inout DomainMemoryState, frames: S, memory: inout M
    ) -> Int where S.Element == UInt32 {
        releaseRetiringBase(state: &state, memory: &memory)
        for vcpu in 0..<DomainMemoryState.vcpuCapacity { dropVCPUBase(vcpu: vcpu, state: &state, memory: &memory) }
        let owner = state.owner
        if state.pinnedCount > 0 {
            for frame in frames where frame < count {
                if records[Int(frame)].owner == owner && records[Int(frame)].flags.contains(.pinned) {
                    updateFlags(frame) { $0.remove(.pinned) }
                    state.pinnedCount -= 1
                    putPageAndType(frame, memory: &memory)
                    if state.pinnedCount == 0 { break }
                }
            }
        }
        var stillReferenced = 0
        for frame in frames where frame < count {
            if records[Int(frame)].owner == owner {
                while records[Int(frame)].type == .segmentDescriptor && records[Int(frame)].typeCount > 0 {
                    putPageAndType(frame, memory: &memory)
                }
                if records[Int(frame)].refCount != 0 || records[Int(frame)].typeCount != 0 { stillReferenced += 1 }
            }
        }
        return stillReferenced
    }
}
