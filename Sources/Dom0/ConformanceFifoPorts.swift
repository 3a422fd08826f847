// ConformanceFifoPorts.swift: dom0's FIFO event channels past the 2-level ABI's 1024 ports (issue #16), run from
// ConformanceTest.fifoQueues while dom0 is on the FIFO ABI with its control block and event-array page 0. It adds
// pages, binds ports at and above 1024 and sends on them as Xen allows: a port the pages cover is linked on its
// queue; a port past them is bound all the same and its event held until the page for it comes; then the
// refusals: expand_array past dom0's last page and a bind past its last port -ENOSPC, set_priority past it -EINVAL.
// It must never write outside its own pages, and it leaves its ports for the EVTCHNOP_reset that follows it.

import ApusCore
import GuestKit
import PVABI

extension ConformanceTest {
    /// Event-array pages 1 ... 3 (ports 1024 ..< 4096): three page-aligned frames of dom0's own data.
    static var fifoMorePages = [UInt8](repeating: 0, count: 4 * 4096)

    /// Alloc_unbound towards dom0 itself until the port it gets is `last` (every port below is then taken);
    /// the count of ports taken, or the first errno.
    static func fillPorts(through last: UInt32) -> (taken: UInt32, rc: Int32) {
        var taken: UInt32 = 0
        while true {
            let p = GuestEvents.allocUnbound(remote: 0)
            if p < 0 { return (taken, p) }
            taken += 1
            if UInt32(bitPattern: p) >= last { return (taken, 0) }
        }
    }

    static func fifoBeyond1024(control: UnsafeMutableRawPointer, array: UnsafeMutableRawPointer) {
        let shared = StartOfDay.sharedInfo
        let base = fifoMorePages.withUnsafeMutableBufferPointer { (UInt32(UInt(bitPattern: $0.baseAddress)) + 4095) & ~4095 }
        var pages: [UnsafeMutableRawPointer] = [array]
        var frames: [UInt64] = []
        for i in UInt32(0)..<3 {
            let page = UnsafeMutableRawPointer(bitPattern: UInt(base + i * 4096))!
            for j in 0..<1024 { page.storeBytes(of: UInt32(0), toByteOffset: j * 4, as: UInt32.self) }
            pages.append(page)
            frames.append(UInt64(Kernel.startInfo.machineFrame(ofPFN: (base + i * 4096) >> 12)))
        }
        func word(_ p: UInt32) -> UInt32 { pages[Int(p / 1024)].load(fromByteOffset: Int(p % 1024) * 4, as: UInt32.self) }
        func head(_ priority: UInt32) -> UInt32 { control.load(fromByteOffset: EvtchnFifoControlBlockLayout.head(priority), as: UInt32.self) }
        func ready() -> UInt32 { control.load(fromByteOffset: EvtchnFifoControlBlockLayout.readyOffset, as: UInt32.self) }
        func consume(_ p: UInt32, priority: UInt32) {
            pages[Int(p / 1024)].storeBytes(of: UInt32(0), toByteOffset: Int(p % 1024) * 4, as: UInt32.self)
            control.storeBytes(of: ready() & ~(1 << priority), toByteOffset: EvtchnFifoControlBlockLayout.readyOffset, as: UInt32.self)
        }
        let linked: UInt32 = 1 << EvtchnFifo.pendingBit | 1 << EvtchnFifo.linkedBit

        // Page 1, then every port below 1024 taken: the next bind is port 1024, linked on its queue like any other.
        let added = expandArray(gfn: frames[0])
        let low = fillPorts(through: 1023)
        let first = bindIPI()
        let prioritySet = setPriority(first, 4)
        shared.clearUpcallPending()
        let sent = GuestEvents.send(first)
        let firstWord = word(first), firstReady = ready()
        check("2 array pages, ports 1..1023 taken: port 1024 binds, its send linked on its queue in page 1",
              added == 0 && low.rc == 0 && first == 1024 && prioritySet == 0 && sent == 0 && firstWord == linked
                && head(4) == first && firstReady & 0x10 != 0 && shared.upcallPending == 1,
              "\(added) \(low.taken) \(first) \(prioritySet) \(sent) \(hex: firstWord) \(head(4)) \(hex: firstReady)")
        consume(first, priority: 4)

        // Past the pages: every port below 2048 taken, port 2048 binds (as on Xen) and its send is held until page 2.
        let middle = fillPorts(through: 2047)
        let past = bindIPI()
        let pastPriority = setPriority(past, 3)
        shared.clearUpcallPending()
        let pastSent = GuestEvents.send(past)
        let heldReady = ready(), heldUpcall = shared.upcallPending
        let page2 = expandArray(gfn: frames[1])
        let raisedWord = word(past), raisedReady = ready()
        check("port 2048 past the array pages binds, its send held; page 2 links it on its queue",
              middle.rc == 0 && past == 2048 && pastPriority == 0 && pastSent == 0 && heldReady & 0x8 == 0 && heldUpcall == 0
                && page2 == 0 && raisedWord == linked && head(3) == past && raisedReady & 0x8 != 0 && shared.upcallPending == 1,
              "\(past) \(pastPriority) \(pastSent) \(hex: heldReady) \(heldUpcall); \(page2) \(hex: raisedWord) \(head(3)) \(hex: raisedReady)")
        consume(past, priority: 3)
        shared.clearUpcallPending()

        // Refusal twins: dom0's 4096 ports take four pages; a fifth is -ENOSPC, a bind past port 4095 -ENOSPC,
        // set_priority past it -EINVAL.
        let page3 = expandArray(gfn: frames[2])
        let fifth = expandArray(gfn: frames[2])
        let rest = fillPorts(through: 4096)
        let beyondPriority = setPriority(4096, 3)
        check("expand_array to 4 pages, a fifth -ENOSPC; ports up to 4095 bind, one more -ENOSPC; set_priority on port 4096 -EINVAL",
              page3 == 0 && fifth == -28 && rest.rc == -28 && beyondPriority == -22,
              "\(page3) \(fifth); \(rest.taken) more ports, then \(rest.rc); \(beyondPriority)")
    }
}
