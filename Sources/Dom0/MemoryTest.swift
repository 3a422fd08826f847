// MemoryTest.swift: the `memory` scenario, from dom0's side: it builds a second address space out
// of its own spare frames with batched mmu_update and pinning, switches to it with NEW_BASEPTR
// and back, remaps pages with update_va_mapping, writes a PTE directly (emulated by the
// hypervisor), reads the M2P, and then tries each thing Xen forbids, printing what came back.
// It must never claim a value it did not read back through the mapping it just changed.

import ApusCore
import GuestKit
import PVABI

enum MemoryTest {
    static let testVA: UInt32 = 0x00C0_0000             // mapped only in the new address space
    static let magic: UInt32 = 0xC0FF_EE00
    static let ptePresentRW: UInt64 = 0x63              // present, writable, accessed, dirty
    static let pteReadOnly: UInt64 = 0x21               // present, accessed
    static let tableEntry: UInt64 = 0x67                // present, writable, user, accessed, dirty

    static var si: StartInfoView { Kernel.startInfo }
    static func mfn(_ pfn: UInt32) -> UInt32 { OwnPageTables.mfn(pfn) }
    static func m2p(_ mfn: UInt32) -> UInt32 { OwnPageTables.m2p(mfn) }
    static var window: UInt32 { guest_symbol(GuestSymbol.scratchWindow) }

    /// Maps the scratch window onto `pfn`'s frame (writable), runs `body` on it, maps it back.
    static func withWindow(onto pfn: UInt32, _ body: (UnsafeMutablePointer<UInt32>) -> Void) -> Int32 {
        let home = mfn(window >> 12)
        let rc = xen.updateVAMapping(window, UInt64(mfn(pfn)) << 12 | ptePresentRW, flags: UpdateVAFlags.invalidatePage)
        if rc == 0 { body(UnsafeMutablePointer<UInt32>(bitPattern: UInt(window))!) }
        let back = xen.updateVAMapping(window, UInt64(home) << 12 | ptePresentRW, flags: UpdateVAFlags.invalidatePage)
        return rc != 0 ? rc : back
    }

    static func run() -> Bool {
        let check = PVSelfTest.check
        let n = si.nrPages
        let (l3, l2low, l2high, l1, page, page2) = (n - 1, n - 2, n - 3, n - 4, n - 5, n - 6)

        // 1. Prepare the frames: all zero; the test page holds a magic word; the new L3 points
        //    at its two L2s (slot 0, and slot 3 which will receive the hypervisor's entries).
        var rc: Int32 = 0
        for pfn in [l3, l2low, l2high, l1, page, page2] {
            let r = withWindow(onto: pfn) { p in for i in 0..<1024 { p[i] = 0 } }
            if r != 0 { rc = r }
        }
        _ = withWindow(onto: page) { $0[0] = magic }
        _ = withWindow(onto: page2) { $0[0] = magic &+ 1 }
        _ = withWindow(onto: l3) { p in
            p[0] = mfn(l2low) << 12 | UInt32(tableEntry)
            p[6] = mfn(l2high) << 12 | UInt32(tableEntry)
        }
        check("spare frames prepared through the scratch window", rc == 0, "pfns \(l3)..\(page2)")

        // 2. Pin the empty tables.
        // (The slot-3 L2 is not pinned on its own: it becomes the one L2 holding the
        // hypervisor's slots when the L3 that points at it validates.)
        var pins = MMUExtBatch()
        pins.add(.pinL1Table, mfn(l1))
        pins.add(.pinL2Table, mfn(l2low))
        let pinned = pins.run(xen)
        check("pin an L1 and an L2 in one mmuext_op", pinned.rc == 0 && pinned.done == 2, "rc \(pinned.rc), done \(pinned.done)")

        // 3. One batch of 512 L1 entries and the slot-0 L2: the old low mappings plus our L1.
        var batch = MMUBatch()
        batch.normal(entryAt: UInt64(mfn(l1)) << 12, UInt64(mfn(page)) << 12 | ptePresentRW)
        for i in 1..<512 { batch.normal(entryAt: UInt64(mfn(l1)) << 12 | UInt64(i * 8), UInt64(mfn(page2)) << 12 | pteReadOnly) }
        let oldL2 = currentL2(slot: 0)
        var copied = 0
        for i in 0..<512 where oldL2[i] & 1 != 0 {
            batch.normal(entryAt: UInt64(mfn(l2low)) << 12 | UInt64(i * 8), oldL2[i])
            copied += 1
        }
        batch.normal(entryAt: UInt64(mfn(l2low)) << 12 | UInt64(PAE.l2Index(testVA) * 8), UInt64(mfn(l1)) << 12 | tableEntry)
        let built = batch.run(xen)
        check("batched mmu_update builds the new tables", built.rc == 0 && built.done == UInt32(batch.count),
              "\(UInt32(batch.count)) requests, done \(built.done), \(UInt32(copied)) low L2 entries copied")

        // 4. Pin the L3 (it validates, slot 3 gets the hypervisor's entries), switch, read, switch back.
        let oldBase = ptBaseMFN()
        let pinL3 = MMUExtBatch.single(xen, .pinL3Table, mfn(l3))
        check("pin the new L3", pinL3 == 0, "returned \(pinL3)")
        let to = MMUExtBatch.single(xen, .newBaseptr, mfn(l3))
        let seen = to == 0 ? UnsafePointer<UInt32>(bitPattern: UInt(testVA))!.pointee : 0
        let seen2 = to == 0 ? UnsafePointer<UInt32>(bitPattern: UInt(testVA + 4096 * 7))!.pointee : 0
        let back = MMUExtBatch.single(xen, .newBaseptr, oldBase)
        check("NEW_BASEPTR to the new address space and back", to == 0 && back == 0 && seen == magic && seen2 == magic &+ 1,
              "read \(hex8: seen) and \(hex8: seen2) at \(hex8: testVA) through the new tables")
        let gone = guest_probe_read(testVA)
        check("the test mapping is absent from the old address space", gone == 1 && TrapLog.last.cr2 == testVA,
              "#PF with cr2 \(hex8: TrapLog.last.cr2)")

        // 5. update_va_mapping: unmap the scratch window, fault on it, map it back.
        let home = mfn(window >> 12)
        let unmap = xen.updateVAMapping(window, 0, flags: UpdateVAFlags.invalidatePage)
        let faulted = guest_probe_read(window)
        let remap = xen.updateVAMapping(window, UInt64(home) << 12 | ptePresentRW, flags: UpdateVAFlags.invalidatePage)
        let readable = guest_probe_read(window) == 0
        check("update_va_mapping unmaps and remaps a page", unmap == 0 && faulted == 1 && remap == 0 && readable,
              "fault at \(hex8: TrapLog.last.cr2) while unmapped")

        // 6. Writable page tables (the vm_assist turned on first, as Linux does): write the window's PTE
        // directly in our read-only L1.
        _ = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.writablePagetables.rawValue)
        let pteVA = l1EntryVA(of: window)
        let original = UnsafePointer<UInt32>(bitPattern: UInt(pteVA))!.pointee
        guest_store32(pteVA, mfn(page) << 12 | UInt32(ptePresentRW))
        _ = MMUExtBatch.single(xen, .invlpgLocal, window)
        let through = UnsafePointer<UInt32>(bitPattern: UInt(window))!.pointee
        guest_store32(pteVA, original)
        _ = MMUExtBatch.single(xen, .invlpgLocal, window)
        check("a direct PTE write is emulated and validated", through == magic,
              "PTE at \(hex8: pteVA) rewritten; the window read \(hex8: through)")

        // 7. The M2P, read directly, and MACHPHYS_UPDATE.
        let imagePFN: UInt32 = 0x100
        check("the M2P maps our frames back to their pfns", m2p(mfn(imagePFN)) == imagePFN && m2p(mfn(page)) == page,
              "m2p[\(hex: mfn(imagePFN))] = \(hex: m2p(mfn(imagePFN)))")
        var m = MMUBatch()
        m.machphys(mfn: mfn(page), pfn: page)
        let mp = m.run(xen)
        check("MMU_MACHPHYS_UPDATE on our own frame", mp.rc == 0 && m2p(mfn(page)) == page, "rc \(mp.rc)")

        // 8. memory_op: what the hypervisor says about our memory.
        var domid = HypercallRecord(stride: MemoryLayout<UInt16>.size)   // a bare domid_t
        domid.set(SpecialDomainID.selfID, at: 0)
        let current = domid.withAddress { xen.memoryOp(MemoryOpCommand.currentReservation.rawValue, $0) }
        let maximum = domid.withAddress { xen.memoryOp(MemoryOpCommand.maximumReservation.rawValue, $0) }
        let ramPage = xen.memoryOp(MemoryOpCommand.maximumRAMPage.rawValue, 0)
        var e820 = HypercallRecord(stride: E820EntryLayout.size, count: 1)
        var map = HypercallRecord(stride: XenMemoryMapLayout.size)
        map.set(UInt32(e820.count), at: XenMemoryMapLayout.nrEntriesOffset)
        let mapRC = e820.withAddress { buffer in
            map.set(buffer, at: XenMemoryMapLayout.bufferOffset)
            return map.withAddress { xen.memoryOp(MemoryOpCommand.memoryMap.rawValue, $0) }
        }
        let mapEntries = map.get(UInt32.self, at: XenMemoryMapLayout.nrEntriesOffset)
        let ramBytes = e820.get(UInt64.self, at: E820EntryLayout.sizeOffset)
        let ramType = e820.get(UInt32.self, at: E820EntryLayout.typeOffset)
        check("memory_op reservations, highest frame and memory map",
              current == Int32(si.nrPages) && maximum == current && ramPage > Int32(mfn(page)) && mapRC == 0 && mapEntries == 1
                && ramBytes == UInt64(si.nrPages) << 12 && ramType == E820EntryLayout.typeRAM,
              "current \(current), maximum \(maximum), max ram page \(hex: UInt32(ramPage)), map 1 entry of \(UInt32(truncatingIfNeeded: ramBytes >> 20)) MiB")

        // 9. A direct PTE write the hypervisor must refuse: a frame we do not own. It becomes a #PF.
        let badPTE = unownedFrame() << 12 | UInt32(pteReadOnly)
        let refusedWrite = guest_probe_write(pteVA, badPTE)
        check("an invalid direct PTE write comes back as a page fault", refusedWrite == 1 && TrapLog.last.vector == 14 && TrapLog.last.cr2 == pteVA,
              "vector \(TrapLog.last.vector) error \(hex: TrapLog.last.errorCode) cr2 \(hex8: TrapLog.last.cr2)")

        // 10. An LDT: one read-only page with a flat ring-1 data segment at index 1, then load it.
        let ldtPFN = n - 7
        _ = withWindow(onto: ldtPFN) { p in
            for i in 0..<1024 { p[i] = 0 }
            p[2] = 0x0000_FFFF; p[3] = 0x00CF_B300                   // entry 1
        }
        let ldtVA = window
        let toLDT = xen.updateVAMapping(ldtVA, UInt64(mfn(ldtPFN)) << 12 | pteReadOnly, flags: UpdateVAFlags.invalidatePage)
        let setLDT = MMUExtBatch.single(xen, .setLDT, ldtVA, 512)
        let viaLDT = setLDT == 0 ? guest_read_fs(0x0D, si.ptBase) : 0          // index 1, table LDT, RPL 1
        let direct = UnsafePointer<UInt32>(bitPattern: UInt(si.ptBase))!.pointee
        let unset = MMUExtBatch.single(xen, .setLDT, 0, 0)
        _ = xen.updateVAMapping(ldtVA, UInt64(mfn(ldtVA >> 12)) << 12 | ptePresentRW, flags: UpdateVAFlags.invalidatePage)
        check("mmuext SET_LDT with a validated page, and a segment loaded from it", toLDT == 0 && setLDT == 0 && unset == 0 && viaLDT == direct,
              "fs:[pt_base] through selector 0xd = \(hex8: viaLDT)")

        forbidden(l1: l1, l2low: l2low, l2high: l2high, l3: l3, page: page)

        // 8. Take it all down again.
        var unpins = MMUExtBatch()
        for pfn in [l3, l2low, l1] { unpins.add(.unpinTable, mfn(pfn)) }
        let unpinned = unpins.run(xen)
        check("unpin the whole new address space", unpinned.rc == 0 && unpinned.done == 3, "rc \(unpinned.rc), done \(unpinned.done)")
        let reuse = xen.updateVAMapping(window, UInt64(mfn(l1)) << 12 | ptePresentRW, flags: UpdateVAFlags.invalidatePage)
        _ = xen.updateVAMapping(window, UInt64(home) << 12 | ptePresentRW, flags: UpdateVAFlags.invalidatePage)
        check("an unpinned, unused table frame may be mapped writable again", reuse == 0, "returned \(reuse)")
        console.print("memory test: \(UInt32(PVSelfTest.passed)) passed, \(UInt32(PVSelfTest.failed)) failed")
        return PVSelfTest.failed == 0
    }

    /// Each operation Xen forbids, with the errno it must answer.
    static func forbidden(l1: UInt32, l2low: UInt32, l2high: UInt32, l3: UInt32, page: UInt32) {
        let check = PVSelfTest.check
        let own = xen.updateVAMapping(window, UInt64(mfn(l1)) << 12 | ptePresentRW, flags: UpdateVAFlags.invalidatePage)
        check("refused: a writable mapping of our own L1", own == -22, "returned \(own)")
        let hv = xen.updateVAMapping(window, UInt64(0x100) << 12 | pteReadOnly, flags: UpdateVAFlags.invalidatePage)
        check("refused: a mapping of a hypervisor frame", hv == -22, "machine frame 0x100, returned \(hv)")
        let foreign = unownedFrame()
        let notOurs = xen.updateVAMapping(window, UInt64(foreign) << 12 | pteReadOnly, flags: UpdateVAFlags.invalidatePage)
        check("refused: a mapping of a frame we do not own", notOurs == -22, "machine frame \(hex: foreign), returned \(notOurs)")
        var superpage = MMUBatch()
        superpage.normal(entryAt: UInt64(mfn(l2low)) << 12 | 7 * 8, UInt64(mfn(page)) << 12 | 0xE3)
        let sp = superpage.run(xen)
        check("refused: a 2 MiB superpage in an L2", sp.rc == -22 && sp.done == 0, "rc \(sp.rc), done \(sp.done)")
        var l2ToL2 = MMUBatch()
        l2ToL2.normal(entryAt: UInt64(mfn(l2low)) << 12 | 8 * 8, UInt64(mfn(l2high)) << 12 | tableEntry)
        let l2l2 = l2ToL2.run(xen)
        check("refused: an L2 entry pointing at a frame that is not an L1", l2l2.rc == -22, "rc \(l2l2.rc)")
        var hvSlot = MMUBatch()
        hvSlot.normal(entryAt: UInt64(mfn(l2high)) << 12 | 500 * 8, 0)
        let hs = hvSlot.run(xen)
        check("refused: an update of the hypervisor's slots in the slot-3 L2", hs.rc == -1, "rc \(hs.rc)")
        var partial = MMUBatch()
        partial.normal(entryAt: UInt64(mfn(l1)) << 12 | 2 * 8, UInt64(mfn(page)) << 12 | pteReadOnly)
        partial.normal(entryAt: UInt64(mfn(l1)) << 12 | 3 * 8, UInt64(mfn(l1)) << 12 | ptePresentRW)
        partial.normal(entryAt: UInt64(mfn(l1)) << 12 | 4 * 8, UInt64(mfn(page)) << 12 | pteReadOnly)
        let pr = partial.run(xen)
        check("a batch stops at its first bad entry and says how far it got", pr.rc == -22 && pr.done == 1, "rc \(pr.rc), done \(pr.done)")
        let unpinPlain = MMUExtBatch.single(xen, .unpinTable, mfn(page))
        check("refused: unpinning a frame that is not a pinned table", unpinPlain == -22, "returned \(unpinPlain)")
        let pinAgain = MMUExtBatch.single(xen, .pinL1Table, mfn(l1))
        check("refused: pinning a table twice", pinAgain == -22, "returned \(pinAgain)")
        let base = MMUExtBatch.single(xen, .newBaseptr, mfn(l2low))
        check("refused: NEW_BASEPTR to a frame that is not an L3", base == -22, "returned \(base)")
        // As on Xen: the base pointer holds its own references, so the L3 in use may lose its pin.
        let inUse = MMUExtBatch.single(xen, .unpinTable, ptBaseMFN())
        let repin = MMUExtBatch.single(xen, .pinL3Table, ptBaseMFN())
        check("unpinning the L3 in use as our base is allowed, and pinning it again", inUse == 0 && repin == 0,
              "returned \(inUse), then \(repin)")
        PVSelfTest.installTestGDT()
        let ma = UInt64(PVSelfTest.gdtMFN) << 12 | 3 * 8
        let dpl0 = xen.updateDescriptor(machineAddress: ma, descriptor: 0x00CF_9A00_0000_FFFF)
        let raised = PVSelfTest.gdtEntry(3)
        check("a DPL-0 code descriptor is installed at DPL 1, as Xen does", dpl0 == 0 && (raised >> 45) & 3 == 1,
              "returned \(dpl0), DPL \(UInt32((raised >> 45) & 3))")
        let reach = xen.updateDescriptor(machineAddress: ma, descriptor: 0xF6CF_B380_0000_FFFF)       // base 0xf6800000
        check("refused: a GDT entry whose base lies in the hypervisor area", reach == -22, "returned \(reach)")
        let byteReach = xen.updateDescriptor(machineAddress: ma, descriptor: 0xF64F_B378_0000_FFFF)   // 0xf6780000 + 1 MiB
        check("refused: a byte-granular GDT entry reaching the hypervisor area", byteReach == -22, "returned \(byteReach)")
    }

    // MARK: - reading our own tables

    static func ptBaseMFN() -> UInt32 { mfn(si.ptBase >> 12) }

    static func currentL2(slot: Int) -> [UInt64] { OwnPageTables.currentL2(slot: slot) }
    static func l1EntryVA(of va: UInt32) -> UInt32 { OwnPageTables.l1EntryVA(of: va) }

    /// A frame whose M2P entry says nobody maps it: above our own frames, not ours.
    static func unownedFrame() -> UInt32 {
        var candidate = mfn(si.nrPages - 1) + 64
        while m2p(candidate) != 0xFFFF_FFFF { candidate += 1 }
        return candidate
    }
}
