// FuzzSpace.swift: the fuzzer's own address space, set up once: scratch buffers followed by an
// unmapped guard page, a read-only page, a sacrificial page (the only mapping fuzzed calls may
// change), its page tables, and which machine frames are its own. It must never hand a fuzzed
// call a writable pointer outside the scratch buffers (and the unused low pages below its image),
// or a mapping slot other than the sacrificial one.

import ApusCore
import GuestKit
import PVABI

enum FuzzSpace {
    static let pageSize: UInt32 = 4096
    static let scratchPages: UInt32 = 2
    /// Layout of one 4 KiB-aligned heap block: [scratch x2][guard][read-only][sacrificial].
    static var scratch: UInt32 = 0
    static var scratchEnd: UInt32 { scratch + scratchPages * pageSize }
    static var guardPage: UInt32 { scratchEnd }
    static var readOnlyPage: UInt32 { guardPage + pageSize }
    static var sacrificialPage: UInt32 { readOnlyPage + pageSize }

    static var sacrificialMFN: UInt32 = 0
    /// Machine address of the L1 entry that maps the sacrificial page: mmu_update's only target.
    static var sacrificialSlot: UInt64 = 0
    static var l3MFN: UInt32 = 0
    static var pageTableMFNs: [UInt32] = []
    static var pageTableVA: UInt32 = 0
    static var pageTableBytes: UInt32 = 0
    /// One bit per machine frame below `frameLimit`: set when the frame is ours.
    static var ownBits: [UInt32] = []
    static var frameLimit: UInt32 = 0
    static var readOnlyChecksum: UInt32 = 0
    static var privileged = false
    static var selfID: UInt16 = 0

    static func isOwn(_ mfn: UInt32) -> Bool {
        mfn < frameLimit && ownBits[Int(mfn >> 5)] & (1 << (mfn & 31)) != 0
    }
    static func isPageTable(_ mfn: UInt32) -> Bool { pageTableMFNs.contains(mfn) }

    /// Sets everything up; nil on success, else what failed.
    static func setUp(_ rng: inout SplitMix64) -> StaticString? {
        let si = StartOfDay.startInfo
        privileged = si.isPrivileged
        let block = UnsafeMutableRawPointer.allocate(byteCount: Int(6 * pageSize), alignment: Int(pageSize))
        scratch = UInt32(UInt(bitPattern: block))
        // Own frames, from the P2M list.
        let p2m = UnsafePointer<UInt32>(bitPattern: UInt(si.mfnList))!
        var highest: UInt32 = 0
        for pfn in 0..<Int(si.nrPages) { highest = max(highest, p2m[pfn]) }
        frameLimit = highest + 1
        ownBits = [UInt32](repeating: 0, count: Int(frameLimit / 32 + 1))
        for pfn in 0..<Int(si.nrPages) { let m = p2m[pfn]; ownBits[Int(m >> 5)] |= 1 << (m & 31) }
        pageTableVA = si.ptBase
        pageTableBytes = si.nrPtFrames * pageSize
        for i in 0..<si.nrPtFrames { pageTableMFNs.append(si.machineFrame(ofPFN: (si.ptBase >> 12) + i)) }
        l3MFN = si.machineFrame(ofPFN: si.ptBase >> 12)
        // The sacrificial page's L1 slot: walk L3 -> L2 -> L1 through the read-only table mappings.
        let va = sacrificialPage
        guard let l2 = tableVA(entry: si.ptBase, index: va >> 30),
              let l1 = tableVA(entry: l2, index: (va >> 21) & 511) else { return "finding the sacrificial page's L1" }
        let l1MFN = si.machineFrame(ofPFN: l1 >> 12)
        sacrificialSlot = UInt64(l1MFN) << 12 | UInt64(((va >> 12) & 511) * 8)
        sacrificialMFN = si.machineFrame(ofPFN: va >> 12)
        // Scratch and read-only contents: random bytes. The read-only page keeps a checksum so a
        // hypervisor that writes through a read-only mapping is caught at the end.
        fillRandom(scratch, scratchPages * pageSize, &rng)
        fillRandom(readOnlyPage, pageSize, &rng)
        readOnlyChecksum = checksum(readOnlyPage, pageSize)
        let roMFN = si.machineFrame(ofPFN: readOnlyPage >> 12)
        guard xen.updateVAMapping(readOnlyPage, UInt64(roMFN) << 12 | 0x21, flags: UpdateVAFlags.invalidatePage) == 0 else { return "mapping the read-only page" }
        guard xen.updateVAMapping(guardPage, 0, flags: UpdateVAFlags.invalidatePage) == 0 else { return "unmapping the guard page" }
        return nil
    }

    /// The virtual address of the table an entry of the table at `table` points to (virt == pfn << 12).
    private static func tableVA(entry table: UInt32, index: UInt32) -> UInt32? {
        let e = UnsafePointer<UInt64>(bitPattern: UInt(table))![Int(index)]
        guard e & 1 != 0 else { return nil }
        let mfn = UInt32(truncatingIfNeeded: (e >> 12) & 0xFF_FFFF)
        let pfn = UnsafePointer<UInt32>(bitPattern: UInt(0xF580_0000))![Int(mfn)]
        guard pfn < StartOfDay.startInfo.nrPages else { return nil }
        return pfn << 12
    }

    static func fillRandom(_ at: UInt32, _ bytes: UInt32, _ rng: inout SplitMix64) {
        let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(at))!
        for i in 0..<Int(bytes / 8) { p[i] = rng.next() }
    }

    static func checksum(_ at: UInt32, _ bytes: UInt32) -> UInt32 {
        let p = UnsafePointer<UInt32>(bitPattern: UInt(at))!
        var sum: UInt32 = 0x1234_5678
        for i in 0..<Int(bytes / 4) { sum = (sum &* 31) ^ p[i] }
        return sum
    }

    static func inScratch(_ p: UInt32) -> Bool { p >= scratch && p < scratchEnd }

    /// Reads a u32 the fuzzer itself can read (to judge a call before making it); nil when any
    /// of its four bytes would fault.
    static func peek32(_ p: UInt32) -> UInt32? {
        guard p <= 0xFFFF_FFFC else { return nil }
        guard guest_probe_read(p & ~3) == 0, guest_probe_read((p &+ 3) & ~3) == 0 else { return nil }
        return address(p).loadUnaligned(as: UInt32.self)
    }
    /// A raw pointer to any address, 0 included (the low pages may be mapped, and read).
    private static func address(_ p: UInt32) -> UnsafeRawPointer {
        UnsafeRawPointer(bitPattern: UInt(0x1000))!.advanced(by: Int(bitPattern: UInt(p) &- 0x1000))
    }
    static func peek16(_ p: UInt32) -> UInt16? {
        guard p <= 0xFFFF_FFFE, guest_probe_read(p & ~3) == 0, guest_probe_read((p &+ 1) & ~3) == 0 else { return nil }
        return address(p).loadUnaligned(as: UInt16.self)
    }
    static func peek64(_ p: UInt32) -> UInt64? {
        guard p <= 0xFFFF_FFF8, let lo = peek32(p), let hi = peek32(p + 4) else { return nil }
        return UInt64(lo) | UInt64(hi) << 32
    }

    /// Stores into the scratch buffers only; a field that would reach the guard page is dropped.
    static func store32(_ p: UInt32, _ v: UInt32) {
        guard p >= scratch, p <= scratchEnd &- 4 else { return }
        UnsafeMutableRawPointer(bitPattern: UInt(p))!.storeBytes(of: v, as: UInt32.self)
    }
    static func store16(_ p: UInt32, _ v: UInt16) {
        guard p >= scratch, p <= scratchEnd &- 2 else { return }
        UnsafeMutableRawPointer(bitPattern: UInt(p))!.storeBytes(of: v, as: UInt16.self)
    }
    static func store64(_ p: UInt32, _ v: UInt64) { store32(p, UInt32(truncatingIfNeeded: v)); store32(p &+ 4, UInt32(truncatingIfNeeded: v >> 32)) }
}
