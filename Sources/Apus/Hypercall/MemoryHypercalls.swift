// MemoryHypercalls.swift: mmu_update (1), mmuext_op (26) and update_va_mapping (14): the guest
// changes its own page tables. This file only copies requests in, hands them to ApusCore's
// direct-paging core (which validates and keeps references) and applies the effects the core
// reports: TLB flushes, a new base (CR3 and the hardware PDPT), a new LDT. It must never write a
// guest page-table entry itself.

import ApusCore
import PVABI

/// The M2P as the core updates it (MMU_MACHPHYS_UPDATE): the hypervisor's writable alias.
struct M2PWriter: MachineToPhysicalStore {
    mutating func setM2P(mfn: UInt32, pfn: UInt32) {
        guard mfn < Machine.m2pFrames else { return }
        pointer(to: UInt32.self, at: AddressMap.m2pWritableStart)[Int(mfn)] = pfn
    }
}

enum MemoryHypercalls {
    static let maxBatch: UInt32 = 4096
    static let chunk = 64

    /// DOMID_SELF or the caller's own id; foreign page tables are not the guest's business.
    static func isSelf(_ domid: UInt32, _ d: Domain) -> Bool { domid == 0x7FF0 || domid == UInt32(d.id) }

    /// The checks mmu_update and mmuext_op share before reading their lists: the caller's own
    /// domain, a bounded batch, and a list wholly in guest memory.
    static func batchRefusal(_ a: HypercallArguments, _ d: Domain, itemSize: Int) -> HypercallOutcome? {
        guard isSelf(a.a4, d) else { return .refused(.EPERM, "page-table operations on another domain are not allowed") }
        guard a.a2 <= maxBatch else { return .refused(.EINVAL, "batch longer than 4096 requests") }
        guard GuestMemory.inGuestRange(a.a1, a.a2 * UInt32(itemSize)) else { return .refused(.EFAULT, "request list reaches into the hypervisor area") }
        return nil
    }

    static func mmuUpdate(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let (list, count, doneVA) = (a.a1, a.a2, a.a3)
        if let refusal = batchRefusal(a, d, itemSize: MMUUpdateCommand.requestSize) { return refusal }
        let size = UInt32(MMUUpdateCommand.requestSize)
        var done: UInt32 = 0
        var failure: MemoryError? = nil
        var baseChanged = false
        var requests: [MMUUpdateRequest] = []
        requests.reserveCapacity(chunk)
        var m2p = M2PWriter()
        while done < count && failure == nil {
            let n = min(UInt32(chunk), count - done)
            requests.removeAll(keepingCapacity: true)
            guard let raw = GuestMemory.readBytes(list + done * size, count: Int(n * size)) else {
                return finishBatch(done, doneVA, .refused(.EFAULT, "mmu_update request list is not readable"))
            }
            raw.withUnsafeBytes { bytes in
                for i in 0..<Int(n) {
                    requests.append(MMUUpdateRequest(ptr: bytes.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self),
                                                     val: bytes.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self)))
                }
            }
            let outcome = Machine.frames.mmuUpdate(requests, state: d.memory, memory: &Machine.memory, m2p: &m2p)
            done += UInt32(outcome.done)
            baseChanged = baseChanged || outcome.currentBaseChanged
            failure = outcome.error
        }
        if baseChanged { AddressSpaces.loadPDPT(d); loadCR3(d.hardwarePDPTPhysical) }
        else if done > 0 { HypervisorPaging.flushAll() }
        let result: HypercallOutcome = failure.map { .refused($0.error, $0.reason) } ?? .ok
        return finishBatch(done, doneVA, result)
    }

    /// Writes the count of completed requests where the guest asked for it.
    static func finishBatch(_ done: UInt32, _ doneVA: UInt32, _ result: HypercallOutcome) -> HypercallOutcome {
        if doneVA != 0 && !GuestMemory.write32(doneVA, done) { return .refused(.EFAULT, "the done count is not writable guest memory") }
        return result
    }

    static func mmuextOp(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let (list, count, doneVA) = (a.a1, a.a2, a.a3)
        if let refusal = batchRefusal(a, d, itemSize: MMUExtCommand.opSize) { return refusal }
        let size = UInt32(MMUExtCommand.opSize)
        var done: UInt32 = 0
        while done < count {
            guard let raw = GuestMemory.readBytes(list + done * size, count: Int(size)) else {
                return finishBatch(done, doneVA, .refused(.EFAULT, "mmuext_op list is not readable"))
            }
            let op = raw.withUnsafeBytes {
                MMUExtRequest(cmd: $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self),
                              arg1: $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
                              arg2: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            }
            switch Machine.frames.mmuextOp(op, state: &d.memory, memory: &Machine.memory) {
            case .failure(let error):
                return finishBatch(done, doneVA, .refused(error.error, error.reason))
            case .success(let effect):
                if let refusal = apply(effect, d) { return finishBatch(done, doneVA, refusal) }
            }
            done += 1
        }
        return finishBatch(done, doneVA, .ok)
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
        case .ldtChanged(let base, let entries):
            return LocalDescriptorTable.load(d, base: base, entries: entries)
        }
        return nil
    }

    static func perform(_ flush: TLBFlush) {
        switch flush {
        case .none: break
        case .everything: HypervisorPaging.flushAll()
        case .page(let va, _): cpu_invlpg(va)
        }
    }

    static func updateVAMapping(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let value = UInt64(a.a2) | UInt64(a.a3) << 32
        switch Machine.frames.updateVAMapping(va: a.a1, value: value, flags: a.a4, state: d.memory, memory: &Machine.memory) {
        case .failure(let error): return .refused(error.error, error.reason)
        case .success(let flush):
            perform(flush)
            return .ok
        }
    }
}

/// Xen's "writable page tables": a guest store into one of its own read-only L1 pages faults;
/// the instruction is decoded (ApusCore's StoreDecoder), the new entry checked by the core and
/// applied, and the guest continues after the instruction. An invalid write is bounced as #PF.
enum WritablePageTables {
    static var emulated: UInt64 = 0

    /// True when the fault was such a write and has been handled (applied or refused and bounced).
    static func tryEmulate(_ frame: UnsafeMutablePointer<TrapFrame>, _ d: Domain, cr2: UInt32) -> Bool {
        let f = frame.pointee
        guard f.ring == 1, f.errorCode & 3 == 3, cr2 < XenLayout.hypervisorVirtStart else { return false }
        guard case .success(let slot) = Machine.frames.l1Slot(for: cr2, state: d.memory, memory: Machine.memory),
              let entry = Machine.memory.load64(UInt64(slot.frame) << 12 | UInt64(slot.index) * 8) else { return false }
        let target = PageTableEntry(raw: entry)
        guard target.isPresent, target.frame <= UInt64(UInt32.max) else { return false }
        let table = UInt32(target.frame)
        guard Machine.frames.owner(of: table) == .domain(d.id), Machine.frames.record(table).type == .l1 else { return false }
        var bytes: [UInt8] = []
        var length = StoreDecoder.maximumLength
        while length > 0 {
            if let b = GuestMemory.readBytes(f.eip, count: length) { bytes = b; break }
            length -= 1
        }
        let offset = cr2 & 0xFFF
        switch StoreDecoder.decode(bytes, registers: StoreDecoder.Registers(f)) {
        case .unsupported(let reason):
            Log.info("d\(d.id): write to its L1 at \(hex8: cr2) by an instruction the emulator does not handle (\(reason))")
            return false
        case .store(let width, let value, let length, let kind):
            guard width == 4 || width == 8 else { return false }
            let entryAddress = UInt64(table) << 12 | UInt64(offset & ~7)
            let current = Machine.memory.load64(entryAddress) ?? 0
            let currentPart = width == 8 ? current : (offset & 4 != 0 ? current >> 32 : current & 0xFFFF_FFFF)
            var store = true
            switch kind {
            case .plain: break
            case .xchg(let register): setRegister(frame, register, UInt32(truncatingIfNeeded: currentPart))
            case .cmpxchg(let expected):
                store = UInt32(truncatingIfNeeded: currentPart) == expected
                if !store { frame.pointee.eax = UInt32(truncatingIfNeeded: currentPart) }
                setZF(frame, store)
            case .cmpxchg8b(let expected):
                store = current == expected
                if !store { frame.pointee.eax = UInt32(truncatingIfNeeded: current); frame.pointee.edx = UInt32(truncatingIfNeeded: current >> 32) }
                setZF(frame, store)
            }
            if store, let refusal = Machine.frames.ptwrWrite(l1Frame: table, offset: offset, width: width, value: value,
                                                            state: d.memory, memory: &Machine.memory) {
                Log.info("d\(d.id): direct write of \(hex16: value) to its L1 at \(hex8: cr2) refused: \(refusal.reason)")
                return false
            }
            emulated &+= 1
            frame.pointee.eip &+= UInt32(length)
            return true
        }
    }

    private static func setRegister(_ frame: UnsafeMutablePointer<TrapFrame>, _ number: UInt8, _ value: UInt32) {
        switch number {
        case 0: frame.pointee.eax = value
        case 1: frame.pointee.ecx = value
        case 2: frame.pointee.edx = value
        case 3: frame.pointee.ebx = value
        case 5: frame.pointee.ebp = value
        case 6: frame.pointee.esi = value
        case 7: frame.pointee.edi = value
        default: break
        }
    }

    private static func setZF(_ frame: UnsafeMutablePointer<TrapFrame>, _ on: Bool) {
        frame.pointee.eflags = on ? frame.pointee.eflags | 0x40 : frame.pointee.eflags & ~UInt32(0x40)
    }
}
