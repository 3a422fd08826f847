// MemoryHypercalls.swift: mmu_update (1), mmuext_op (26) and update_va_mapping (14): the guest
// changes its own page tables. This file only copies requests in, hands them to ApusCore's
// direct-paging core (which validates and keeps references) and applies the effects the core
// reports: TLB flushes, a new base (CR3 and the hardware PDPT), a new LDT. It must never write a
// guest page-table entry itself.

import ApusCore
import PVABI

enum MemoryHypercalls {
    /// mmu_update requests copied in per guarded copy (1 KiB of the 32 KiB hypervisor stack): each
    /// run costs a copy call, so a 512-entry batch pays that 8 times; the lent L1 carries over.
    static let chunk: UInt32 = 64

    /// Requests are copied in runs of `chunk` into a stack buffer (no heap), then applied in order
    /// up to the first refusal by the core's `mmuUpdateRun` (its fast path writes runs of entries of
    /// one L1 in place). Like Xen, changing entries flushes nothing: the guest flushes what
    /// it needs, and the paging core flushes before a frame changes type if a dropped mapping
    /// could still reach it (StaleTranslations.swift). Only an entry of an L3 some vCPU runs on reloads
    /// that vCPU's PDPT copy (and CR3), as the CPU reads PDPTEs only then.
    static func mmuUpdate(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let batch: PageTableBatch
        switch PageTableBatch.decode(a, caller: d.id, elementSize: MMUUpdateLayout.size, allowDeviceMemory: true) {
        case .failure(let r): return r.outcome
        case .success(let b): batch = b
        }
        if batch.deviceMemory { return deviceMemoryUpdate(batch, d) }
        var memory = RunningGuestMemory()
        var done: UInt32 = 0
        var result = HypercallOutcome.ok
        var baseChanged = false
        var m2p = MachineToPhysicalTable()
        // The L1 a run lent, kept for the next: the copy between runs touches no frame or record.
        var lent = LentL1()
        let list = batch.list
        withUnsafeTemporaryAllocation(byteCount: Int(chunk) &* MMUUpdateLayout.size, alignment: 8) { buffer in
            let requests = buffer.baseAddress!
            run: while done < list.count {
                let wanted = min(list.count &- done, chunk)
                var copied = wanted
                if !(list.elements(done, count: wanted).map { memory.copyIn($0, to: requests) } ?? false) {
                    // Some request is unreadable: the ones before it still count, as if read one by one.
                    copied = 0
                    while copied < wanted, let slot = list.element(done &+ copied),
                          memory.copyIn(slot, to: requests.advanced(by: Int(copied) &* MMUUpdateLayout.size)) {
                        copied &+= 1
                    }
                }
                let applied = Machine.frames.mmuUpdateRun(UnsafeRawPointer(requests), count: Int(copied), lent: &lent,
                                                      state: &d.memory, memory: &Machine.memory, m2p: &m2p)
                done &+= UInt32(truncatingIfNeeded: applied.done)
                if applied.currentBaseChanged { baseChanged = true }
                if let error = applied.error {
                    result = .refused(error.error, error.reason)
                    break run
                }
                if copied < wanted {
                    result = .refused(.EFAULT, "mmu_update request list is not readable")
                    break run
                }
            }
        }
        if baseChanged { AddressSpaces.reloadBases(d) }
        return finishBatch(done, batch, result)
    }

    /// mmu_update with foreign domain DOMID_IO: each entry maps device memory. One request at a
    /// time: DeviceMemoryRule decides the frame (never RAM, never the APICs, only what the domain
    /// was given) and makes the entry uncached, then the paging core applies it under its rules.
    @inline(never)
    static func deviceMemoryUpdate(_ batch: PageTableBatch, _ d: Domain) -> HypercallOutcome {
        guard let rule = Machine.frames.deviceMemory else {
            return finishBatch(0, batch, .refused(.EPERM, "DOMID_IO: the firmware's memory map was not read; no device memory"))
        }
        var memory = RunningGuestMemory()
        var m2p = MachineToPhysicalTable()
        var done: UInt32 = 0
        while done < batch.list.count {
            guard let slot = batch.list.element(done), let raw: GuestBytes<16> = memory.read(slot) else {
                return finishBatch(done, batch, .refused(.EFAULT, "mmu_update request list is not readable"))
            }
            let request: MMUUpdateRequest
            switch rule.deviceRequest(PageTableBatch.mmuUpdate(raw), permitted: d.memory.deviceFrames) {
            case .failure(let refusal): return finishBatch(done, batch, .refused(refusal.error, refusal.reason))
            case .success(let r): request = r
            }
            switch Machine.frames.mmuUpdate(request, state: &d.memory, memory: &Machine.memory, m2p: &m2p) {
            case .failure(let error): return finishBatch(done, batch, .refused(error.error, error.reason))
            case .success(let effect):
                if case .tableEntry(let frame, .l3, _) = effect, d.memory.isBase(frame) { AddressSpaces.reloadBases(d) }
            }
            done &+= 1
        }
        return finishBatch(done, batch, .ok)
    }

    /// mmu_update with one request (Linux's single entry writes; the table sends count 1 here, untimed):
    /// the request read into registers and handed to the core's count-of-one path, no run or
    /// stack buffer set up. The same answers, logs and done count as `mmuUpdate`, given as EAX (0 or
    /// -errno, the refusal logged as the table logs it): a register, not an outcome in memory.
    @inline(never)
    static func mmuUpdateSingle(_ a: HypercallArguments, _ d: Domain) -> Int32 {
        // DOMID_IO (never a real domain's id, so decode would send it there too) out of line: the
        // batch it takes is then never spilled to the stack on the common path.
        if a.a4 == UInt32(SpecialDomainID.io) { return deviceMemorySingle(a, d) }
        let batch: PageTableBatch
        switch PageTableBatch.decode(a, caller: d.id, elementSize: MMUUpdateLayout.size, allowDeviceMemory: true) {
        case .failure(let r): return refused(d, .mmuUpdate, r.error, r.reason)
        case .success(let b): batch = b
        }
        var memory = RunningGuestMemory()
        guard let slot = batch.list.element(0), let words: InlineArray<4, UInt32> = memory.readWords(slot) else {
            return countedRefusal(a.a3, d, .EFAULT, "mmu_update request list is not readable")
        }
        var m2p = MachineToPhysicalTable()
        let applied = Machine.frames.mmuUpdateSingle(
            ptrLow: UInt32(littleEndian: words[0]), ptrHigh: UInt32(littleEndian: words[1]),
            valLow: UInt32(littleEndian: words[2]), valHigh: UInt32(littleEndian: words[3]),
            state: &d.memory, memory: &Machine.memory, m2p: &m2p)
        if applied.currentBaseChanged { AddressSpaces.reloadBases(d) }
        if let error = applied.error { return countedRefusal(a.a3, d, error) }
        guard writeDone(1, batch) else { return refused(d, .mmuUpdate, .EFAULT, "the done count is not writable guest memory") }
        return 0
    }

    /// mmuUpdateSingle's DOMID_IO request: decoded again here, then `deviceMemoryUpdate`'s answer as EAX.
    @inline(never)
    static func deviceMemorySingle(_ a: HypercallArguments, _ d: Domain) -> Int32 {
        let batch: PageTableBatch
        switch PageTableBatch.decode(a, caller: d.id, elementSize: MMUUpdateLayout.size, allowDeviceMemory: true) {
        case .failure(let r): return refused(d, .mmuUpdate, r.error, r.reason)
        case .success(let b): batch = b
        }
        switch deviceMemoryUpdate(batch, d) {
        case .refused(let error, let reason): return refused(d, .mmuUpdate, error, reason)
        default: return 0
        }
    }

    /// A refusal answered as EAX, logged as the table logs an outcome's refusal.
    @inline(never)
    static func refused(_ d: Domain, _ call: Hypercall, _ error: XenError, _ reason: StaticString) -> Int32 {
        Hypercalls.logRefusal(d, call.rawValue, error, reason)
        return error.negated
    }

    /// mmu_update's refusal with none done: the done count 0 written first (`finishBatch`'s order).
    /// `doneAddress`: the call's pdone argument, which the decode accepted (0, or a 4-byte guest
    /// range), so the range is rebuilt here rather than the batch passed in memory on the fast path.
    @inline(never)
    static func countedRefusal(_ doneAddress: UInt32, _ d: Domain, _ error: XenError, _ reason: StaticString) -> Int32 {
        if doneAddress != 0 {
            var memory = RunningGuestMemory()
            var count: UInt32 = 0
            guard let target = GuestRange(doneAddress, count: 4),
                  withUnsafeBytes(of: &count, { memory.copyOut(target, from: $0.baseAddress!) }) else {
                return refused(d, .mmuUpdate, .EFAULT, "the done count is not writable guest memory")
            }
        }
        return refused(d, .mmuUpdate, error, reason)
    }

    /// countedRefusal for the paging core's refusal (its errno and sentence read here, off the fast path).
    @inline(never)
    static func countedRefusal(_ doneAddress: UInt32, _ d: Domain, _ error: MemoryError) -> Int32 {
        countedRefusal(doneAddress, d, error.error, error.reason)
    }

    /// Writes `done` where the guest asked for the count (a checked 4-byte range); false if it could not.
    @inline(__always)
    static func writeDone(_ done: UInt32, _ batch: PageTableBatch) -> Bool {
        guard let target = batch.doneCount else { return true }
        var memory = RunningGuestMemory()
        var count = done.littleEndian
        return withUnsafeBytes(of: &count) { memory.copyOut(target, from: $0.baseAddress!) }
    }

    /// Writes the count of completed requests where the guest asked for it (a checked 4-byte range).
    /// Always inlined: a call here costs the one-request path about 60 instructions of spills.
    @inline(__always)
    static func finishBatch(_ done: UInt32, _ batch: PageTableBatch, _ result: HypercallOutcome) -> HypercallOutcome {
        writeDone(done, batch) ? result : .refused(.EFAULT, "the done count is not writable guest memory")
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
        case .baseChanged:
            AddressSpaces.switchBase(d)                 // the calling vCPU's base only (Xen's per-vCPU guest_table)
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

    /// update_va_mapping from its own entry (apus_update_va_mapping, past the table): the same
    /// decoder and core change as the table's case below, inlined here with the flags decoded after
    /// it; EAX gets the answer, and a refusal is logged as the table logs it.
    @inline(__always)
    static func updateVAMapping(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain) {
        let r = UpdateVAMappingRequest.decode(FrameRegisters(frame).arguments)
        if let error = Machine.frames.updateVAMappingEntry(va: r.va, value: r.value, state: &d.memory, memory: &Machine.memory) {
            frame.pointee.eax = UInt32(bitPattern: error.error.negated)
            Hypercalls.logRefusal(d, Hypercall.updateVAMapping.rawValue, error.error, error.reason)
            return
        }
        perform(FrameTable.decodeUVMF(r.flags, va: r.va))
        frame.pointee.eax = 0
    }

    /// The change and its decoded flush from the core (one out-of-line call), then the flush: the
    /// table's case (a multicall's entries, and `int 0x82` from nowhere but the table's own tests).
    static func updateVAMapping(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let r = UpdateVAMappingRequest.decode(a)
        switch Machine.frames.updateVAMapping(va: r.va, value: r.value, flags: r.flags, state: &d.memory, memory: &Machine.memory) {
        case .failure(let error): return .refused(error.error, error.reason)
        case .success(let flush):
            perform(flush)
            return .ok
        }
    }
}
