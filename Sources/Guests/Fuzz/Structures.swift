// Structures.swift: the argument structures the Builder writes into the scratch buffers (trap
// tables, mmu_update requests, mmuext ops, frame lists, reservations, grant ops, event-channel
// structs, multicall batches) and the checks of structures it cannot write (sched_op, domctl).
// Fields that name a frame or a mapping come from the palettes that keep the fuzzer's own safe.

import GuestKit
import ApusCore
import PVABI

extension Builder {
    /// Most arrays are filled for at most this many elements; the rest is old random bytes.
    static let maxFilled: UInt32 = 24

    static func elements(_ p: UInt32, _ count: UInt32, _ size: UInt32) -> UInt32 {
        guard FuzzSpace.inScratch(p) else { return 0 }
        return min(min(count, maxFilled), (FuzzSpace.scratchEnd - p) / size)
    }

    /// trap_info {vector u8, flags u8, cs u16, address u32}, ending at address 0 (or not at all).
    static func trapTable(_ p: UInt32, _ r: inout SplitMix64) {
        let n = elements(p, 1 + r.below(8), 8)
        var i: UInt32 = 0
        while i < n {
            let e = p &+ 8 * i
            FuzzSpace.store32(e, r.below(256) | r.below(8) << 8 | (r.oneIn(2) ? 0xE019 : r.below(0x1_0000)) << 16)
            FuzzSpace.store32(e &+ 4, i + 1 == n && r.oneIn(2) ? 0 : Palette.any(&r))
            i += 1
        }
    }

    /// mmu_update requests {ptr u64 (command in bits 0-1), val u64}: the target is the
    /// sacrificial slot, a frame that is not one of the fuzzer's tables, or raw bits.
    static func mmuRequests(_ p: UInt32, _ count: UInt32, _ sub: UInt32, _ r: inout SplitMix64) {
        let n = elements(p, count, 16)
        var i: UInt32 = 0
        while i < n {
            let command = UInt64(i == 0 ? sub & 3 : r.below(4))
            var ptr: UInt64
            switch r.below(4) {
            case 0, 1: ptr = FuzzSpace.sacrificialSlot | command
            case 2:
                let f = Palette.frame(&r)
                // The fuzzer's own tables are only ever touched at the sacrificial slot.
                ptr = FuzzSpace.isPageTable(f) && command != 1 ? FuzzSpace.sacrificialSlot | command : UInt64(f) << 12 | UInt64(r.below(512) * 8) | command
            default: ptr = r.next() | 0x10_0000_0000     // beyond any machine address
            }
            FuzzSpace.store64(p &+ 16 * i, ptr)
            FuzzSpace.store64(p &+ 16 * i &+ 8, command == 1 ? UInt64(r.below(0x1_0000)) : Palette.pte(&r))
            i += 1
        }
    }

    /// mmuext_op {cmd u32, arg1 u32 (mfn or linear address), arg2 u32 (count, vcpumask or src mfn)}.
    static func mmuextOps(_ p: UInt32, _ count: UInt32, _ sub: UInt32, _ r: inout SplitMix64) {
        let n = elements(p, count, 12)
        var i: UInt32 = 0
        while i < n {
            let cmd = i == 0 || r.oneIn(2) ? sub : r.below(64)
            var arg1: UInt32
            switch cmd {
            case 5, 15: arg1 = r.oneIn(2) ? FuzzSpace.l3MFN : (r.oneIn(2) ? Palette.frame(&r) : r.u32())
                if arg1 == FuzzSpace.sacrificialMFN { arg1 = FuzzSpace.l3MFN }      // never a fresh base table
            case 7, 9, 11, 13: arg1 = Palette.pointer(&r)                             // linear addresses
            default: arg1 = r.oneIn(8) ? r.u32() : Palette.frame(&r)
            }
            FuzzSpace.store32(p &+ 12 * i, cmd)
            FuzzSpace.store32(p &+ 12 * i &+ 4, arg1)
            FuzzSpace.store32(p &+ 12 * i &+ 8, r.oneIn(2) ? Palette.count(&r) : (r.oneIn(2) ? Palette.frame(&r) : Palette.pointer(&r)))
            i += 1
        }
    }

    /// A list of frame numbers (set_gdt, reservations).
    static func frameList(_ p: UInt32, _ count: UInt32, _ r: inout SplitMix64) {
        let n = elements(p, count, 4)
        var i: UInt32 = 0
        while i < n { FuzzSpace.store32(p &+ 4 * i, Palette.frame(&r)); i += 1 }
    }

    /// memory_op: reservations {extent_start, nr_extents, extent_order, mem_flags, domid u16}
    /// (exchange holds two), add_to_physmap and the rest get random bytes with frame-like fields.
    static func memoryOp(_ cmd: UInt32, _ p: UInt32, _ r: inout SplitMix64) {
        fill(p, 64, &r)
        guard FuzzSpace.inScratch(p) else { return }
        switch cmd {
        case 0, 1, 6:
            reservation(p, &r)
        case 11:
            reservation(p, &r); reservation(p &+ 24, &r)
        case 7, 15:
            FuzzSpace.store16(p, Palette.domain(&r))
            FuzzSpace.store32(p &+ 8, Palette.frame(&r)); FuzzSpace.store32(p &+ 12, Palette.frame(&r))
        default:
            if r.oneIn(2) { FuzzSpace.store32(p, Palette.count(&r)); FuzzSpace.store32(p &+ 4, Palette.pointer(&r)) }
        }
    }

    static func reservation(_ p: UInt32, _ r: inout SplitMix64) {
        let extents = r.oneIn(4) ? Palette.pointer(&r) : Palette.scratchPointer(&r)
        let n = Palette.count(&r)
        FuzzSpace.store32(p, extents); FuzzSpace.store32(p &+ 4, n)
        FuzzSpace.store32(p &+ 8, r.oneIn(2) ? r.below(12) : r.u32())
        FuzzSpace.store32(p &+ 12, r.oneIn(2) ? 0 : r.u32())
        FuzzSpace.store16(p &+ 16, Palette.domain(&r))
        frameList(extents, n, &r)
    }

    /// grant_table_op elements: map {host_addr u64, flags, ref, dom}, unmap {host_addr u64,
    /// dev_bus_addr u64, handle}, setup_table {dom, nr_frames, status, frame_list}, transfer
    /// {mfn, domid, ref}, copy {src {u, domid, offset}, dst {...}, len, flags}; mapping
    /// addresses from mappingVA, frames from frame.
    static func grantOps(_ cmd: UInt32, _ p: UInt32, _ count: UInt32, _ r: inout SplitMix64) {
        let size: UInt32 = cmd == 5 ? 24 : 32
        let n = elements(p, count, size)
        var i: UInt32 = 0
        while i < n {
            let e = p &+ size * i
            fill(e, size, &r)
            switch cmd {
            case 0, 1, 7:
                FuzzSpace.store64(e, UInt64(Palette.mappingVA(&r)))
                if cmd == 7 { FuzzSpace.store64(e &+ 8, UInt64(Palette.mappingVA(&r))) }
                FuzzSpace.store32(e &+ 8, r.below(32)); FuzzSpace.store32(e &+ 12, r.below(64))
                FuzzSpace.store16(e &+ 16, Palette.domain(&r))
            case 2:
                FuzzSpace.store16(e, Palette.domain(&r)); FuzzSpace.store32(e &+ 4, Palette.count(&r))
                FuzzSpace.store32(e &+ 12, Palette.pointer(&r))
            case 4:
                FuzzSpace.store32(e, Palette.frame(&r)); FuzzSpace.store16(e &+ 4, Palette.domain(&r))
            case 5:
                FuzzSpace.store32(e, r.oneIn(2) ? r.below(64) : Palette.frame(&r)); FuzzSpace.store16(e &+ 4, Palette.domain(&r))
                FuzzSpace.store32(e &+ 8, r.oneIn(2) ? r.below(64) : Palette.frame(&r)); FuzzSpace.store16(e &+ 12, Palette.domain(&r))
                FuzzSpace.store16(e &+ 16, UInt16(truncatingIfNeeded: Palette.count(&r))); FuzzSpace.store16(e &+ 18, UInt16(r.below(4)))
            default: break
            }
            i += 1
        }
    }

    /// Event-channel structs: small ports and VIRQs, domain ids from the palette; FIFO
    /// init_control (11) never gets one of the fuzzer's frames as its control block.
    static func eventChannelStruct(_ cmd: UInt32, _ p: UInt32, _ r: inout SplitMix64) {
        guard FuzzSpace.inScratch(p) else { return }
        switch r.below(3) {
        case 0: FuzzSpace.store32(p, r.below(64)); FuzzSpace.store32(p &+ 4, r.below(8))
        case 1: FuzzSpace.store16(p, Palette.domain(&r)); FuzzSpace.store16(p &+ 2, Palette.domain(&r)); FuzzSpace.store32(p &+ 4, r.below(64))
        default: break
        }
        if cmd == 11 {
            var f = Palette.frame(&r)
            if f == FuzzSpace.sacrificialMFN { f = 0x100 }
            FuzzSpace.store64(p, UInt64(f))
        }
    }

    /// sched_op: block needs a wake-up timer; shutdown, remote_shutdown of itself and a poll that
    /// would not time out soon are skipped (checked against what the hypervisor would read).
    static func schedOp(_ c: inout Call, _ r: inout SplitMix64, inMulticall: Bool) -> SkipReason? {
        let p = c.a2
        switch c.sub {
        case 1:
            if inMulticall { return .multicallEntryReplaced }
            c.needsTimer = true
        case 2:
            if inMulticall { return .multicallEntryReplaced }
            if FuzzSpace.inScratch(p) && r.oneIn(2) { FuzzSpace.store32(p, 6 + r.below(1000)) }  // refusable reasons
            if let reason = FuzzSpace.peek32(p), reason < 6 { return .shutdown }
        case 3:
            if inMulticall { return .multicallEntryReplaced }
            fill(p, 16, &r)
            if FuzzSpace.inScratch(p) {
                FuzzSpace.store32(p, Palette.pointer(&r)); FuzzSpace.store32(p &+ 4, Palette.count(&r))
                if !r.oneIn(8) { FuzzSpace.store64(p &+ 8, Fuzz.now() &+ UInt64(r.below(1_000_000))) }
            }
            if let timeout = FuzzSpace.peek64(p &+ 8), timeout == 0 || timeout > Fuzz.now() &+ 20_000_000 { return .pollWithoutNearTimeout }
            c.needsTimer = true
        case 4:
            if inMulticall { return .multicallEntryReplaced }
            fill(p, 8, &r)
            if FuzzSpace.inScratch(p) && r.oneIn(2) { FuzzSpace.store16(p, Palette.domain(&r)) }
            if FuzzSpace.privileged, let dom = FuzzSpace.peek16(p), let reason = FuzzSpace.peek32(p &+ 4),
               dom == 0x7FF0 || dom == FuzzSpace.selfID, reason < 6 { return .remoteShutdownSelf }
        case 6:
            fill(p, 8, &r)
            c.repair |= Repair.watchdog
        default:
            fill(p, 16, &r)
        }
        return nil
    }

    /// domctl on itself: destroy and pause (which end or freeze it) and setvcpucontext (which
    /// replaces its registers) are skipped; scheduler and event-channel limits are repaired after.
    static func domctlSkip(_ p: UInt32, _ c: inout Call) -> SkipReason? {
        guard FuzzSpace.privileged, let cmd = FuzzSpace.peek32(p), let version = FuzzSpace.peek32(p &+ 4),
              let dom = FuzzSpace.peek16(p &+ 8), version == DomctlVersion.apus else { return nil }
        let onSelf = dom == 0x7FF0 || dom == FuzzSpace.selfID
        guard onSelf else { return nil }
        switch cmd {
        case 2, 3: return .destroyOrPauseSelf
        case 12: return .setVCPUContextSelf
        case 16: c.repair |= Repair.schedulerParams
        case 70: c.repair |= Repair.maxEventChannel
        default: break
        }
        return nil
    }

    /// A batch read from memory the fuzzer does not write (the M2P, its page tables, the read-only
    /// page, low memory) can hold an iret, a block or a shutdown by chance (M2P entry 23 is some
    /// domain's pfn 23): such a batch is skipped. Batches over 1024 entries are not looked at.
    static func uncontrolledBatchSkip(_ p: UInt32, _ count: UInt32) -> SkipReason? {
        guard count <= 1024 else { return nil }
        var i: UInt32 = 0
        while i < count {
            let e = p &+ 32 &* i
            guard e <= 0xFFFF_FFE0, let op = FuzzSpace.peek32(e), let a1 = FuzzSpace.peek32(e &+ 8), let a2 = FuzzSpace.peek32(e &+ 12) else { return nil }
            switch op {
            case 23: return .iret
            case 29 where a1 >= 1 && a1 <= 4, 6 where a1 == 1 || a1 == 2: return .shutdown
            case 24 where a1 == 2 && a2 == 0: return .vcpuDownOnlyVCPU
            default: break
            }
            i += 1
        }
        return nil
    }

    /// multicall {op u32, result u32, args u32[6]} (32 bytes): entries built like single calls,
    /// with every entry the fuzzer would skip (or block in) replaced by xen_version(0).
    static func multicall(_ base: Call, _ r: inout SplitMix64, inMulticall: Bool) -> Draw {
        var c = base
        c.a2 = Palette.count(&r)
        // Near the end of the scratch buffers most of the time, so a huge count soon reaches the guard.
        c.a1 = r.oneIn(4) ? Palette.pointer(&r) : FuzzSpace.scratchEnd &- 32 &* r.below(12)
        c.repair = Repair.all
        if !FuzzSpace.inScratch(c.a1) && !inMulticall, let reason = uncontrolledBatchSkip(c.a1, c.a2) { return .skip(reason) }
        guard FuzzSpace.inScratch(c.a1), !inMulticall else { return .call(c) }
        let room = (FuzzSpace.scratchEnd - c.a1) / 32
        let n = Int(min(c.a2, room))
        // Built first, written last: the inner builds may scribble on scratch, the batch may not.
        var words = [UInt32](repeating: 0, count: n * 8)
        for i in 0..<n {
            let number = i == 0 ? c.sub : r.below(64)
            var entry = Call(17, 0)
            switch build(number, r.below(64), &r, inMulticall: true) {
            case .call(let inner): entry = inner
            case .skip(let reason): Histogram.skip(reason == .avoided ? .avoided : .multicallEntryReplaced)
            }
            if entry.needsTimer { entry = Call(17, 0); Histogram.skip(.multicallEntryReplaced) }
            if Fuzz.avoids(entry.number, entry.sub) { entry = Call(17, 0); Histogram.skip(.avoided) }
            words[8 * i] = entry.number
            words[8 * i + 2] = entry.a1; words[8 * i + 3] = entry.a2; words[8 * i + 4] = entry.a3
            words[8 * i + 5] = entry.a4; words[8 * i + 6] = entry.a5
        }
        for (k, w) in words.enumerated() { FuzzSpace.store32(c.a1 &+ 4 * UInt32(k), w) }
        return .call(c)
    }
}
