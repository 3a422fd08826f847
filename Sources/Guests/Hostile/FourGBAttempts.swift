// FourGBAttempts.swift: the hostile domU's look at the 4gb_segments vm_assist (Xen's 32-bit segment
// fix-up): an LDT data segment based at its page tables and truncated below the hypervisor, read at a
// negative offset (the word below its base, as glibc's `%gs:-4` does) and then at 0, without and with the
// assist, its vector-15 notifications counted; then, with the assist on, at the hypervisor's first byte,
// which no flip may reach. Only a CPU that enforces data-segment limits (Bochs) faults here; QEMU's lets
// every read through, so the lines say what this CPU did and only the values are counted.

import ApusCore
import GuestKit
import PVABI

enum FourGBAttempts {
    /// Vector-15 notifications (4gb_segments_notify) and the instruction lengths they carried.
    static var notified: UInt32 = 0
    static var lengths: [UInt32] = []

    /// From the trap dispatcher: a notification; the instruction runs again when the handler returns.
    static func notify(length: UInt32) {
        notified &+= 1
        if lengths.count < 4 { lengths.append(length) }
    }

    static func run(window: UInt32) {
        let console = Hostile.console
        let si = StartOfDay.startInfo
        // Two spare frames at the top of memory (start-of-day padding, mapped writable; PageTableAttempts
        // uses the seven above them), with a mark on each side of the segment's base.
        let n = si.nrPages
        let bootStack = (si.ptBase >> 12) + si.nrPtFrames
        guard n - 9 > bootStack, (n - 9) << 12 >= guest_symbol(GuestSymbol.imageEnd) else {
            console.print("hostile: 4gb_segments: no spare frames at the top of memory; this is a failure")
            return
        }
        let base = (n - 8) << 12
        let below: UInt32 = 0x4742_0001, at: UInt32 = 0x4742_0002
        UnsafeMutablePointer<UInt32>(bitPattern: UInt(base - 4))!.pointee = below
        UnsafeMutablePointer<UInt32>(bitPattern: UInt(base))!.pointee = at
        // The scratch window as a one-page LDT: entry 1 a flat ring-1 data segment from `base`, which the
        // hypervisor truncates below itself; then read-only, as a descriptor page must be.
        let windowMFN = si.machineFrame(ofPFN: window >> 12)
        let ldt = UnsafeMutablePointer<UInt64>(bitPattern: UInt(window))!
        for i in 0..<512 { ldt[i] = 0 }
        ldt[1] = SegmentDescriptor(base: base, limit: 0xFFFFF, type: SegmentDescriptor.CodeDataType.dataReadWriteAccessed,
                                   isCodeOrData: true, dpl: 1, present: true, defaultBig: true, granularity4K: true).raw
        let selector: UInt32 = 1 << 3 | 4 | 1                  // LDT entry 1, RPL 1
        let readOnly = xen.updateVAMapping(window, UInt64(windowMFN) << 12 | 0x21, flags: UpdateVAFlags.invalidatePage)
        let setLDT = MMUExtBatch.single(xen, .setLDT, window, 2)
        guard readOnly == 0 && setLDT == 0 else {
            console.print("hostile: 4gb_segments: could not set up the LDT (\(readOnly), \(setLDT)); this is a failure")
            return
        }
        var value: UInt32 = 0
        // Without the assist: the hypervisor leaves the #GP to the guest.
        Hostile.lastVector = 0xFFFF
        let offFaulted = guest_probe_read_fs(selector, 0xFFFF_FFFC, &value) == 1
        console.print("hostile: 4gb_segments off: fs:0xfffffffc through LDT selector 0xd based at \(hex8: base): \(offFaulted ? "#GP bounced to its handler" : "not stopped by this CPU") (vector \(Hostile.lastVector))")

        // With the assist and its notification on vector 15.
        var table = TrapTableBuilder()
        table.add(vector: 15, dpl: 0, cs: Selector.flatRing1CS, address: guest_notify_stub_address())
        let bytes = table.terminated()
        let trapRC = bytes.withUnsafeBufferPointer { xen.setTrapTable(UInt32(UInt(bitPattern: $0.baseAddress))) }
        let onRC = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.fourGBSegments.rawValue)
        let notifyRC = xen.vmAssist(VMAssistCommand.enable.rawValue, VMAssistType.fourGBSegmentsNotify.rawValue)
        var negative: UInt32 = 0, zero: UInt32 = 0
        let negativeFaulted = guest_probe_read_fs(selector, 0xFFFF_FFFC, &negative) == 1
        let zeroFaulted = guest_probe_read_fs(selector, 0, &zero) == 1
        let right = trapRC == 0 && onRC == 0 && notifyRC == 0 && !negativeFaulted && !zeroFaulted && negative == below && zero == at
        Hostile.total += 1
        if right { Hostile.refused += 1 }
        var list = LogLine()
        for (i, l) in lengths.enumerated() {
            if i > 0 { list.append(", ") }
            list.append(decimal: UInt64(l))
        }
        console.print("hostile: 4gb_segments on (vm_assist \(onRC), notify \(notifyRC)): fs:0xfffffffc reads \(hex8: negative), fs:0 reads \(hex8: zero): \(right ? "the words below and at the base" : "WRONG")")
        _ = list.withBytes { console.print("hostile: 4gb_segments on: notified on vector 15 \(notified) times (instruction lengths \(text: $0))") }
        // Still no way past the hypervisor's start: the flip never covers it.
        Hostile.lastVector = 0xFFFF
        let reach = DescriptorCheck.segmentMaxAddr - base
        let stopped = guest_probe_read_fs(selector, reach, &value) == 1
        console.print("hostile: 4gb_segments on: fs:\(hex8: reach) (the hypervisor's first byte): \(stopped ? "refused" : "not stopped by this CPU") (vector \(Hostile.lastVector))")

        _ = xen.vmAssist(VMAssistCommand.disable.rawValue, VMAssistType.fourGBSegmentsNotify.rawValue)
        _ = xen.vmAssist(VMAssistCommand.disable.rawValue, VMAssistType.fourGBSegments.rawValue)
        _ = MMUExtBatch.single(xen, .setLDT, 0, 0)
        _ = xen.updateVAMapping(window, UInt64(windowMFN) << 12 | 0x63, flags: UpdateVAFlags.invalidatePage)
    }
}
