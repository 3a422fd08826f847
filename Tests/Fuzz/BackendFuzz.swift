// BackendFuzz.swift: libFuzzer cases for what dom0's split-driver backends take from a frontend: a blkif
// request's 108 bytes (decoded against a disk of any size and access), a netif transmit request's 12,
// the ring's producer index against any backend indexes, a xenbus state node's bytes driving the
// handshake, and frame addresses driving the bridge's table. A trap, a request the checks let through
// that touches a sector past the disk or a byte past its page, or a handshake that maps twice, is a finding.

import ApusCore
import GuestKit
import PVABI

enum BackendFuzz {
    static func run(_ a: HypercallArguments, _ image: UnsafeRawBufferPointer) {
        switch a.a1 % 4 {
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
            if let r = NetTxRequest.decode(image), r.refusal == nil {
                precondition(!r.chained && Int(r.offset) + Int(r.size) <= 4096 && Int(r.size) <= NetifLimits.maxFrame, "tx checks")
            }
        case 2:
            guard var ring = BackendRing(size: 1 << Int(a.a2 % 9)) else { return }
            for _ in 0..<Int(a.a3 % 64) { _ = ring.takeRequest(); _ = ring.nextResponseSlot() }
            if case .success(let n) = ring.pending(producer: a.a4) {
                precondition(n <= ring.size, "more waiting than a ring")
                for _ in 0..<n { precondition(ring.takeRequest() < ring.size, "slot outside the ring") }
            }
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
