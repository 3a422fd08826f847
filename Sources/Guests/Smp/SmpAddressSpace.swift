// SmpAddressSpace.swift: the smp guest's per-vCPU address-space phase (issue #16). Before the vCPUs
// start, vCPU 0 builds vCPU 1 its own top-level table as Linux builds a new pgd: a copy of vCPU 0's
// L3 (slots 0-2 the same L2s) with its own slot-3 L2, whose one L1 maps a different frame at
// 0xC0000000 than vCPU 0's (added to vCPU 0's slot-3 L2 with mmu_update), pinned; and a GDT of its own
// (segment 0x09, based on a marker page). It meets Xen's refusals first (a cr3 that is not the domain's
// frame, a cr3 frame that is no valid L3, a GDT frame mapped writable: -EINVAL each); vCPU 1 is then
// initialised with them (Smp.swift's context, through `own`). After the vcpu_info phase vCPU 0 has
// vCPU 1 read the same VA, its CR3 (mov from cr3) and its segment, then switch bases with NEW_BASEPTR
// and back, while vCPU 0's CR3 must stay its own. vCPU 1 works allocation-free (results in words
// vCPU 0 set up) and prints nothing. It must never fake a result: every number printed is a
// hypercall's answer or a word read through the mappings and segments the hypervisor set up.

import ApusCore
import GuestKit
import PVABI

enum SmpAddressSpace {
    static let highVA: UInt32 = 0xC000_0000
    static let tableEntry: UInt64 = 0x67                 // present, writable, user, accessed, dirty (as builders write)
    static let pteReadOnly: UInt64 = 0x21                // present, accessed
    static let pteWritable: UInt64 = 0x63                // present, writable, accessed, dirty
    /// What each vCPU's frame at highVA holds, and the word at the base of vCPU 1's GDT segment.
    static let valueForVCPU0: UInt32 = 0xA0A0_0000
    static let valueForVCPU1: UInt32 = 0xB1B1_0001
    static let segmentMarker: UInt32 = 0x6D7E_0001
    /// vCPU 1's GDT: entries 0 (null) and 1, a 4 KiB ring-1 data segment; selector 0x09 (index 1, RPL 1).
    static let gdtEntries: UInt32 = 2
    static let selector: UInt32 = 0x09

    /// Machine frames: vCPU 0's base, vCPU 1's own L3, its GDT page; a data frame mapped writable.
    static var bootL3: UInt32 = 0
    static var ownL3: UInt32 = 0
    static var gdtFrame: UInt32 = 0
    static var writableFrame: UInt32 = 0
    /// vCPU 1's task (0: none) and its result words (set up by vCPU 0 before vCPU 1 starts).
    static var task: UInt32 = 0
    static var results: UnsafeMutablePointer<UInt32>? = nil
    static let look: UInt32 = 1, switchBases: UInt32 = 2

    static var si: StartInfoView { StartOfDay.startInfo }
    static func frame(ofVA va: UInt32) -> UInt32 { si.machineFrame(ofPFN: va >> 12) }
    static func m2p(_ mfn: UInt32) -> UInt32 { UnsafePointer<UInt32>(bitPattern: UInt(XenLayout.mach2physVirtStart))![Int(mfn)] }
    static func page() -> UnsafeMutablePointer<UInt64> {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        return p.bindMemory(to: UInt64.self, capacity: 512)
    }
    static func va(_ p: UnsafeMutablePointer<UInt64>) -> UInt32 { UInt32(truncatingIfNeeded: UInt(bitPattern: p)) }
    static func readHigh() -> UInt32 { UnsafePointer<UInt32>(bitPattern: UInt(highVA))!.pointee }
    static func cr3(_ frame: UInt32) -> UInt32 { VcpuGuestContextLayout.cr3(ofFrame: frame) }
    static func verdict(_ ok: Bool) -> StaticString { ok ? "as Xen" : "WRONG" }

    /// vCPU 0, before any other vCPU runs: builds vCPU 1's L3 and GDT and maps highVA for itself.
    static func prepare(bootL3 boot: UInt32) {
        let console = GuestConsole(xen)
        bootL3 = boot
        let res = UnsafeMutablePointer<UInt32>.allocate(capacity: 16)
        res.initialize(repeating: 0, count: 16)
        results = res
        let (l3, l2, l1Own, l1Boot, dataOwn, dataBoot, gdt, marker) = (page(), page(), page(), page(), page(), page(), page(), page())
        UnsafeMutableRawPointer(dataBoot).storeBytes(of: valueForVCPU0, as: UInt32.self)
        UnsafeMutableRawPointer(dataOwn).storeBytes(of: valueForVCPU1, as: UInt32.self)
        UnsafeMutableRawPointer(marker).storeBytes(of: segmentMarker, as: UInt32.self)
        writableFrame = frame(ofVA: va(dataBoot))
        l1Boot[PAE.l1Index(highVA)] = UInt64(frame(ofVA: va(dataBoot))) << 12 | pteWritable
        l1Own[PAE.l1Index(highVA)] = UInt64(frame(ofVA: va(dataOwn))) << 12 | pteWritable
        // vCPU 0's L3 and its slot-3 L2 (mapped read-only at their pseudo-physical addresses, virt_base 0).
        let bootEntries = UnsafePointer<UInt64>(bitPattern: UInt(si.ptBase))!
        let bootHighFrame = UInt32(truncatingIfNeeded: (bootEntries[3] & PageTableEntry.frameMask) >> 12)
        let bootHigh = UnsafePointer<UInt64>(bitPattern: UInt(m2p(bootHighFrame) << 12))!
        for i in 0..<HypervisorL2Slots.first { l2[i] = bootHigh[i] }             // its guest entries; the hypervisor fills the rest
        l2[PAE.l2Index(highVA)] = UInt64(frame(ofVA: va(l1Own))) << 12 | tableEntry
        for i in 0..<3 { l3[i] = bootEntries[i] }
        l3[3] = UInt64(frame(ofVA: va(l2))) << 12 | (bootEntries[3] & ~PageTableEntry.frameMask)
        gdt[1] = SegmentDescriptor(base: va(marker), limit: 0xFFF, type: 0x3, isCodeOrData: true, dpl: 1,
                                   present: true, defaultBig: true, granularity4K: false).raw
        ownL3 = frame(ofVA: va(l3))
        gdtFrame = frame(ofVA: va(gdt))
        var remapped: Int32 = 0
        for p in [l3, l2, l1Own, l1Boot, gdt] {
            let rc = xen.updateVAMapping(va(p), UInt64(frame(ofVA: va(p))) << 12 | pteReadOnly, flags: UpdateVAFlags.invalidatePage)
            if rc != 0 { remapped = rc }
        }
        var batch = MMUBatch()
        batch.normal(entryAt: UInt64(bootHighFrame) << 12 | UInt64(PAE.l2Index(highVA) * 8), UInt64(frame(ofVA: va(l1Boot))) << 12 | tableEntry)
        let mapped = batch.run(xen).rc
        let pinned = MMUExtBatch.single(xen, .pinL3Table, ownL3)
        console.print("smp: vCPU 1's own L3 at frame \(hex: ownL3): vCPU 0's slots 0-2, its own slot-3 L2 whose L1 maps frame \(hex: frame(ofVA: va(dataOwn))) at 0xc0000000 (vCPU 0's maps \(hex: frame(ofVA: va(dataBoot)))); tables read-only \(remapped), vCPU 0's entry \(mapped), pinned \(pinned)")
    }

    /// Xen's refusals of VCPUOP_initialise's tables, each a context for vCPU 1 made by `context`
    /// from a cr3 frame: the hypervisor's frame, a data page mapped writable, and a good cr3 with a
    /// GDT frame mapped writable. Nothing taken is kept: vCPU 1's real initialise follows.
    static func refusals(_ context: (UInt32) -> [UInt8]) {
        let console = GuestConsole(xen)
        let hypervisorFrame = UInt32(AddressMap.imagePhysicalBase >> 12)
        let notOwned = Smp.vcpuOp(.initialise, 1, context(hypervisorFrame))
        console.print("smp: initialise of vCPU 1 with a cr3 that is not the domain's frame (the hypervisor's \(hex: hypervisorFrame)): \(notOwned) (\(notOwned == -22 ? "EINVAL, as Xen" : "WRONG"))")
        let notL3 = Smp.vcpuOp(.initialise, 1, context(writableFrame))
        console.print("smp: initialise of vCPU 1 with a cr3 frame that is no valid L3 (a data page mapped writable): \(notL3) (\(notL3 == -22 ? "EINVAL, as Xen" : "WRONG"))")
        var badGDT = context(ownL3)
        setGDT(&badGDT, frame: writableFrame)
        let gdtRefused = Smp.vcpuOp(.initialise, 1, badGDT)
        console.print("smp: initialise of vCPU 1 with its own L3 and a GDT frame mapped writable: \(gdtRefused) (\(gdtRefused == -22 ? "EINVAL, as Xen" : "WRONG"))")
    }

    static func put32(_ c: inout [UInt8], _ o: Int, _ v: UInt32) {
        for i in 0..<4 { c[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }
    static func setGDT(_ c: inout [UInt8], frame: UInt32) {
        put32(&c, VcpuGuestContextLayout.gdtFramesOffset, frame)
        put32(&c, VcpuGuestContextLayout.gdtEntsOffset, gdtEntries)
    }

    /// vCPU `v`'s context as Smp.swift made it; vCPU 1's with its own L3 and GDT.
    static func own(_ v: UInt32, _ context: [UInt8]) -> [UInt8] {
        guard v == 1 else { return context }
        var c = context
        put32(&c, VcpuGuestContextLayout.ctrlregOffset + 3 * 4, cr3(ownL3))
        setGDT(&c, frame: gdtFrame)
        return c
    }

    /// mmuext_op NEW_BASEPTR with the op on the stack (vCPU 1 allocates nothing).
    static func newBase(_ frame: UInt32) -> Int32 {
        var op: (UInt32, UInt32, UInt32) = (MMUExtCommand.newBaseptr.rawValue, frame, 0)
        precondition(MMUExtOpLayout.size == 12 && MMUExtOpLayout.cmdOffset == 0 && MMUExtOpLayout.arg1Offset == 4)
        return withUnsafeMutablePointer(to: &op) { xen.mmuextOp(UInt32(truncatingIfNeeded: UInt(bitPattern: $0)), count: 1, done: 0) }
    }

    /// Called by vCPUs 1-3 in their spin loop: vCPU 1 runs a task vCPU 0 posted, if any.
    static func serve(_ vcpu: UInt32) {
        guard vcpu == 1, let r = results else { return }
        guest_compiler_barrier()
        let t = task
        guard t != 0 else { return }
        switch t {
        case look:
            r[0] = readHigh()
            r[1] = guest_read_cr3()
            r[2] = guest_read_fs(selector, 0)
        case switchBases:
            r[3] = UInt32(bitPattern: newBase(bootL3))
            r[4] = readHigh()
            r[5] = guest_read_cr3()
            r[6] = UInt32(bitPattern: newBase(ownL3))
            r[7] = readHigh()
            r[8] = guest_read_cr3()
        default:
            break
        }
        guest_compiler_barrier()
        task = 0
    }

    /// vCPU 0 posts `t` to vCPU 1 and yields until it is done.
    static func post(_ t: UInt32) {
        task = t
        while true {
            guest_compiler_barrier()
            if task == 0 { return }
            _ = xen.schedOp(.yield)
        }
    }

    /// A fault inside vCPU 0's probe (guest_probe_load_ds of vCPU 1's selector) resumes after it;
    /// false for an event or any other trap (the standard handler's).
    static func resumeProbe(_ raw: UnsafeMutableRawPointer) -> Bool {
        let frame = raw.assumingMemoryBound(to: GuestTrapFrame.self)
        guard frame.pointee.vector != 256 else { return false }
        let resume = guest_take_resume()
        guard resume != 0 else { return false }
        frame.pointee.eip = resume
        return true
    }

    /// The phase, run by vCPU 0 after the vcpu_info phase while vCPUs 1-3 spin in their serve loop.
    static func run() {
        let console = GuestConsole(xen)
        guard let r = results else { return }
        let mine = readHigh()
        let myCR3 = guest_read_cr3()
        let noSegment = guest_probe_load_ds(selector)
        post(look)
        let sameVA = mine == valueForVCPU0 && r[0] == valueForVCPU1
        console.print("smp: at 0xc0000000 vCPU 0 reads \(hex8: mine), vCPU 1 reads \(hex8: r[0]) (\(verdict(sameVA)): each its own L1)")
        let cr3s = myCR3 == cr3(bootL3) && r[1] == cr3(ownL3)
        console.print("smp: mov from cr3: vCPU 0 \(hex8: myCR3), vCPU 1 \(hex8: r[1]) (\(verdict(cr3s)): each its own top-level table)")
        let gdts = r[2] == segmentMarker && noSegment == 1
        console.print("smp: vCPU 1's own GDT: segment \(hex: selector) reads \(hex8: r[2]) at its base; loading it on vCPU 0 faults: \(noSegment) (\(verdict(gdts)))")
        post(switchBases)
        let after = guest_read_cr3()
        let switched = r[3] == 0 && r[4] == valueForVCPU0 && r[5] == cr3(bootL3) && r[6] == 0 && r[7] == valueForVCPU1 && r[8] == cr3(ownL3)
        console.print("smp: NEW_BASEPTR on vCPU 1 to vCPU 0's L3: \(Int32(bitPattern: r[3])), it reads \(hex8: r[4]), cr3 \(hex8: r[5]); back to its own: \(Int32(bitPattern: r[6])), reads \(hex8: r[7]), cr3 \(hex8: r[8]) (\(verdict(switched)))")
        console.print("smp: vCPU 0's cr3 after vCPU 1's NEW_BASEPTRs: \(hex8: after) (\(after == myCR3 ? "unchanged, as Xen" : "WRONG"))")
    }
}
