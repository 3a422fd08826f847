// MemoryHypercalls.swift: mmu_update (1), mmuext_op (26) and update_va_mapping (14): the guest
// changes its own page tables. This file only copies requests in, hands them to ApusCore's
// direct-paging core (which validates and keeps references) and applies the effects the core
// reports: TLB flushes, a new base (CR3 and the hardware PDPT), a new LDT. It must never write a
// guest page-table entry itself.

import ApusCore
import PVABI

enum MemoryHypercalls {
    static func mmuUpdate(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let batch: PageTableBatch
        switch PageTableBatch.decode(a, caller: d.id, elementSize: MMUUpdateLayout.size) {
        case .failure(let r): return r.outcome
        case .success(let b): batch = b
        }
        var memory = RunningGuestMemory()
        var done: UInt32 = 0
        var failure: MemoryError? = nil
        var baseChanged = false
        var m2p = MachineToPhysicalTable()
        let state = d.memory                    // mmu_update reads the domain's state, never changes it
        while done < batch.list.count && failure == nil {
            guard let slot = batch.list.element(done), let raw: GuestBytes<16> = memory.read(slot) else {
                return finishBatch(done, batch, .refused(.EFAULT, "mmu_update request list is not readable"))
            }
            switch Machine.frames.mmuUpdate(PageTableBatch.mmuUpdate(raw), state: state, memory: &Machine.memory, m2p: &m2p) {
            case .failure(let error):
                failure = error
            case .success(let effect):
                if case .tableEntry(let frame, .l3, _) = effect, frame == state.baseL3 { baseChanged = true }
                done += 1
            }
        }
        if baseChanged { AddressSpaces.loadPDPT(d); loadCR3(d.hardwarePDPTPhysical) }
        else if done > 0 { TLB.flushAll() }
        let result: HypercallOutcome = failure.map { .refused($0.error, $0.reason) } ?? .ok
        return finishBatch(done, batch, result)
    }

    /// Writes the count of completed requests where the guest asked for it.
    static func finishBatch(_ done: UInt32, _ batch: PageTableBatch, _ result: HypercallOutcome) -> HypercallOutcome {
        guard let target = batch.doneCount else { return result }
        var memory = RunningGuestMemory()
        return memory.write32(done, to: target) ? result : .refused(.EFAULT, "the done count is not writable guest memory")
    }

    static func mmuextOp(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let batch: PageTableBatch
        switch PageTableBatch.decode(a, caller: d.id, elementSize: MMUExtOpLayout.size) {
        case .failure(let r): return r.outcome
        case .success(let b): batch = b
        }
        var memory = RunningGuestMemory()
        var done: UInt32 = 0
        while done < batch.list.count {
            guard let slot = batch.list.element(done), let raw: GuestBytes<12> = memory.read(slot) else {
                return finishBatch(done, batch, .refused(.EFAULT, "mmuext_op list is not readable"))
            }
            switch Machine.frames.mmuextOp(PageTableBatch.mmuextOp(raw), state: &d.memory, memory: &Machine.memory) {
            case .failure(let error):
                return finishBatch(done, batch, .refused(error.error, error.reason))
            case .success(let effect):
                if let refusal = apply(effect, d) { return finishBatch(done, batch, refusal) }
            }
            done += 1
        }
        return finishBatch(done, batch, .ok)
    }

    /// What the core decided, done to the machine.
    static func apply(_ effect: MMUExtEffect, _ d: Domain) -> HypercallOutcome? {
        switch effect {
        case .none: return nil
        case .flush(let flush): perform(flush)
        case .baseChanged(_, let new):
            d.l3MFN = new
            AddressSpaces.loadPDPT(d)
            loadCR3(d.hardwarePDPTPhysical)
            // Only now, with the CPU on the new base, may the old one (and its slot-3 L2) go.
            Machine.frames.releaseRetiringBase(state: &d.memory, memory: &Machine.memory)
        case .ldtChanged(let base, let entries):
            return LocalDescriptorTable.load(d, base: base, entries: entries)
        }
        return nil
    }

    static func perform(_ flush: TLBFlush) {
        switch flush {
        case .none: break
        case .everything: TLB.flushAll()
        case .page(let va, _): TLB.flush(page: va)
        }
    }

    static func updateVAMapping(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let r = UpdateVAMappingRequest.decode(a)
        switch Machine.frames.updateVAMapping(va: r.va, value: r.value, flags: r.flags, state: d.memory, memory: &Machine.memory) {
        case .failure(let error): return .refused(error.error, error.reason)
        case .success(let flush):
            perform(flush)
            return .ok
        }
    }
}
