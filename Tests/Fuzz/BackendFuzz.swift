// BackendFuzz.swift: libFuzzer cases for what dom0's split-driver backends take from a frontend: a blkif
// request's 108 bytes (decoded against a disk of any size and access), a netif transmit request's 12,
// the ring's producer index against any backend indexes, a xenbus state node's bytes driving the
// handshake, and frame addresses driving the bridge's table; and what our frontends take from a
// backend and xenstored (FrontendFuzz). A trap, a request the checks let through
// that touches a sector past the disk or a byte past its page, or a handshake that maps twice, is a finding.

import ApusCore
import GuestKit
import PVABI

enum BackendFuzz {
    static func run(_ a: HypercallArguments, _ image: UnsafeRawBufferPointer) {
        switch a.a1 % 5 {
        case 0:
            let disk = BlockDisk(sectors: UInt64(a.a2) << (a.a3 % 33), writable: a.a4 & 1 == 0, flushes: a.a4 & 2 == 0)
            if case .success(let r) = BlockRequest.decode(image, disk: disk) {
                if r.operation == .read || r.operation == .write {
                    precondition(!r.segments.isEmpty && r.segments.count <= BlkifLayout.maxSegments, "segment count")
                    precondition(r.sector <= disk.sectors && r.sectorCount <= disk.sectors - r.sector, "past the disk")
                    for s in r.segments { precondition(s.first <= s.last && s.last < 8, "past the page") }
                    precondition(r.operation == .read || disk.writable, "a write to a read-only disk")
                }
            }
        case 1:
            var slots: [NetTxRequest] = []
            var at = 0
            while at + 12 <= image.count, slots.count < 24, let r = NetTxRequest.decode(UnsafeRawBufferPointer(rebasing: image[at..<(at + 12)])) {
                slots.append(r)
                at += 12
            }
            if case .success(let pieces) = NetTxRequest.assemble(slots) {
                var end = 0
                for p in pieces {
                    precondition(Int(p.offset) + Int(p.length) <= 4096, "a piece past its page")
                    precondition(Int(p.at) == end, "pieces out of order")
                    end += Int(p.length)
                }
                precondition(end == Int(slots[0].size) && end <= NetifLimits.maxFrame && end >= NetifLimits.minFrame, "frame size")
            }
            // A frame's checksum completed in place stays inside the frame and verifies.
            let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: min(image.count, 1518), alignment: 4)
            defer { frame.deallocate() }
            for i in 0..<frame.count { frame[i] = image[i] }
            if FrameChecksum.complete(frame) { precondition(FrameChecksum.verify(UnsafeRawBufferPointer(frame)), "checksum") }
        case 2:
            guard var ring = BackendRing(size: 1 << Int(a.a2 % 9)) else { return }
            for _ in 0..<Int(a.a3 % 64) { _ = ring.takeRequest(); _ = ring.nextResponseSlot() }
            if case .success(let n) = ring.pending(producer: a.a4) {
                precondition(n <= ring.size, "more waiting than a ring")
                for _ in 0..<n { precondition(ring.takeRequest() < ring.size, "slot outside the ring") }
            }
        case 3:
            FrontendFuzz.run(a, image)
        default:
            var handshake = XenbusBackend()
            var mapped = false
            var table = BridgeTable(perPortLimit: 4, capacity: 16)
            var i = 0
            while i + 8 <= image.count {
                let kind = image[i] % 7
                let state = XenbusBackend.parse(Array(image[(i + 1)..<(i + 4)]))
                let events: [XenbusBackend.Event] = [.probe, .frontend(state), .connected, .connectFailed, .fault, .teardown, .frontend(nil)]
                let steps = handshake.handle(events[Int(kind)])
                if steps.disconnect { precondition(mapped, "unmapped a ring never mapped"); mapped = false }
                if events[Int(kind)] == .connected && steps.announce == .connected { precondition(!mapped, "mapped twice"); mapped = true }
                table.learn(BridgeTable.mac(image, at: i + 2), port: Int(image[i] % 5), now: UInt64(i))
                if case .port(let p) = table.route(BridgeTable.mac(image, at: i), from: Int(image[i + 7] % 5)) {
                    precondition(p != Int(image[i + 7] % 5), "back out of its own port")
                }
                precondition(table.entries.count <= 16, "the table grew past its capacity")
                i += 8
            }
        }
    }
}
