// VirtqueueTests.swift: the driver side of a split virtqueue against a device model that reads the
// descriptors and rings as a virtio device does: the layout's offsets, chains and free-list reuse
// over many index wraps, completions in any order, and each kind of device nonsense (an index run
// ahead, a descriptor that is not outstanding, a length beyond the buffers) detected and fatal.

import XCTest
@testable import GuestKit
import ApusCore

struct ByteQueueMemory: VirtqueueMemory {
    var bytes: [UInt8]
    var barriers = 0
    init(count: Int) { bytes = [UInt8](repeating: 0, count: count) }
    var byteCount: Int { bytes.count }
    func load16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
    func load32(_ o: Int) -> UInt32 { UInt32(load16(o)) | UInt32(load16(o + 2)) << 16 }
    func load64(_ o: Int) -> UInt64 { UInt64(load32(o)) | UInt64(load32(o + 4)) << 32 }
    mutating func store16(_ o: Int, _ v: UInt16) { bytes[o] = UInt8(v & 0xFF); bytes[o + 1] = UInt8(v >> 8) }
    mutating func store32(_ o: Int, _ v: UInt32) { store16(o, UInt16(v & 0xFFFF)); store16(o + 2, UInt16(v >> 16)) }
    mutating func store64(_ o: Int, _ v: UInt64) { store32(o, UInt32(v & 0xFFFF_FFFF)); store32(o + 4, UInt32(v >> 32)) }
    mutating func barrier() { barriers += 1 }
}

/// A device that takes chains from the driver ring and completes them later, as virtio describes.
struct DeviceModel {
    let layout: VirtqueueLayout
    var driverSeen: UInt16 = 0
    var usedIndex: UInt16 = 0
    /// Heads taken but not completed, with the chain's buffers as the device read them.
    var pending: [(head: UInt16, buffers: [VirtqueueBuffer])] = []

    mutating func take(_ m: ByteQueueMemory) {
        let published = m.load16(layout.driverRing + 2)
        while driverSeen != published {
            let head = m.load16(layout.driverRing + 4 + 2 * (Int(driverSeen) & (layout.size - 1)))
            var buffers: [VirtqueueBuffer] = []
            var d = head
            while true {
                let at = 16 * Int(d)
                let flags = m.load16(at + 12)
                buffers.append(VirtqueueBuffer(address: m.load64(at), length: m.load32(at + 8), deviceWrites: flags & 2 != 0))
                guard flags & 1 != 0 else { break }
                d = m.load16(at + 14)
                XCTAssertLessThan(Int(d), layout.size)
                XCTAssertLessThanOrEqual(buffers.count, layout.size, "a descriptor loop")
            }
            pending.append((head, buffers))
            driverSeen &+= 1
        }
    }

    mutating func complete(_ index: Int, id: UInt32? = nil, length: UInt32, _ m: inout ByteQueueMemory) {
        let p = pending.remove(at: index)
        let at = layout.deviceRing + 4 + 8 * (Int(usedIndex) & (layout.size - 1))
        m.store32(at, id ?? UInt32(p.head))
        m.store32(at + 4, length)
        usedIndex &+= 1
        m.store16(layout.deviceRing + 2, usedIndex)
    }
}

final class VirtqueueTests: XCTestCase {
    func testLayout() {
        XCTAssertNil(VirtqueueLayout(size: 0))
        XCTAssertNil(VirtqueueLayout(size: 3))
        XCTAssertNil(VirtqueueLayout(size: 65536))
        let l = VirtqueueLayout(size: 256)!
        XCTAssertEqual(l.driverRing, 4096)
        XCTAssertEqual(l.deviceRing, 4096 + 6 + 512 + 2)    // aligned to 4
        XCTAssertEqual(l.byteCount, l.deviceRing + 6 + 2048)
        XCTAssertEqual(VirtqueueLayout(size: 1)!.deviceRing, 24)
        XCTAssertNil(Virtqueue(layout: l, memory: ByteQueueMemory(count: l.byteCount - 1)))
    }

    func testABlockRequestShapedChain() {
        let l = VirtqueueLayout(size: 8)!
        var q = Virtqueue(layout: l, memory: ByteQueueMemory(count: l.byteCount))!
        let header = VirtqueueBuffer(address: 0x1000, length: 16, deviceWrites: false)
        let data = VirtqueueBuffer(address: 0x2000, length: 512, deviceWrites: true)
        let status = VirtqueueBuffer(address: 0x3000, length: 1, deviceWrites: true)
        XCTAssertFalse(q.submit([data, header], token: 1))        // readable after writable
        XCTAssertFalse(q.submit([], token: 1))
        XCTAssertTrue(q.submit([header, data, status], token: 7))
        XCTAssertEqual(q.freeCount, 5)
        var device = DeviceModel(layout: l)
        device.take(q.memory)
        XCTAssertEqual(device.pending.count, 1)
        XCTAssertEqual(device.pending[0].buffers, [header, data, status])
        var m = q.memory
        device.complete(0, length: 513, &m)
        var q2 = Virtqueue(layout: l, memory: m)!     // same rings, fresh driver state: nothing outstanding
        XCTAssertEqual(q2.collect { _ in }, .deviceIndexRanAhead(seen: 1, outstanding: 0))
        _ = q2
    }

    /// Many requests over several wraps of the 16-bit indexes, completed out of order; every token
    /// comes back exactly once with the length the device wrote, and descriptors are all free at the end.
    func testRandomTrafficWithAnHonestDevice() {
        var rng = SplitMix64(seed: 0x71_0001)
        for size in [1, 8, 64] {
            let l = VirtqueueLayout(size: size)!
            var q = Virtqueue(layout: l, memory: ByteQueueMemory(count: l.byteCount))!
            var device = DeviceModel(layout: l)
            var expected: [UInt32: UInt32] = [:]     // token -> writable bytes
            var written: [UInt32: UInt32] = [:]
            var nextToken: UInt32 = 0
            var returned = 0
            var steps = 0
            while nextToken < 70_000 && steps < 400_000 {
                steps += 1
                if rng.chance(55) {
                    let n = rng.below(min(4, size)) + 1
                    let split = rng.below(n + 1)
                    let buffers = (0..<n).map { i in
                        VirtqueueBuffer(address: UInt64(rng.next() >> 20), length: UInt32(rng.below(5000)), deviceWrites: i >= split)
                    }
                    let fits = n <= q.freeCount
                    XCTAssertEqual(q.submit(buffers, token: nextToken), fits)
                    if fits {
                        expected[nextToken] = buffers.filter { $0.deviceWrites }.reduce(UInt32(0)) { $0 + $1.length }
                        nextToken += 1
                    }
                } else {
                    var m = q.memory
                    device.take(m)
                    for _ in 0..<(device.pending.isEmpty ? 0 : rng.below(device.pending.count) + 1) {
                        let i = rng.below(device.pending.count)
                        let max: UInt32 = device.pending[i].buffers.filter { $0.deviceWrites }.reduce(0) { $0 + $1.length }
                        device.complete(i, length: max == 0 ? 0 : UInt32(rng.below(Int(max) + 1)), &m)
                    }
                    q = withMemory(q, m)
                    XCTAssertNil(q.collect { c in
                        XCTAssertNil(written[c.token], "a token came back twice")
                        XCTAssertLessThanOrEqual(c.written, expected[c.token]!)
                        written[c.token] = c.written
                        returned += 1
                    })
                }
            }
            device.take(q.memory)
            XCTAssertEqual(returned + q.outstanding, Int(nextToken))
            XCTAssertEqual(q.outstanding, device.pending.count)
            XCTAssertEqual(q.freeCount + device.pending.reduce(0) { $0 + $1.buffers.count }, size)
            XCTAssertGreaterThan(Int(nextToken), 65536, "the 16-bit ring indexes wrapped")
        }
    }

    /// Each kind of nonsense is caught, breaks the queue, and nothing after it is believed.
    func testADeviceThatLies() {
        let l = VirtqueueLayout(size: 4)!
        func fresh() -> (Virtqueue<ByteQueueMemory>, DeviceModel) {
            var q = Virtqueue(layout: l, memory: ByteQueueMemory(count: l.byteCount))!
            XCTAssertTrue(q.submit([VirtqueueBuffer(address: 0x1000, length: 16, deviceWrites: false),
                                    VirtqueueBuffer(address: 0x2000, length: 512, deviceWrites: true)], token: 1))
            XCTAssertTrue(q.submit([VirtqueueBuffer(address: 0x5000, length: 100, deviceWrites: true)], token: 2))
            var d = DeviceModel(layout: l)
            d.take(q.memory)
            return (q, d)
        }
        for (id, length, fault) in [(UInt32(9), UInt32(0), VirtqueueFault.badDescriptor(9)),
                                    (1, 0, .badDescriptor(1)),              // inside a chain, not its head
                                    (0, 513, .lengthBeyondBuffers(id: 0, length: 513, writable: 512))] {
            var (q, d) = fresh()
            var m = q.memory
            d.complete(0, id: id, length: length, &m)
            q = withMemory(q, m)
            XCTAssertEqual(q.collect { _ in XCTFail("believed") }, fault)
            XCTAssertTrue(q.isBroken)
            XCTAssertFalse(q.submit([VirtqueueBuffer(address: 0, length: 1, deviceWrites: true)], token: 3))
        }
        // The index run ahead of what is outstanding.
        var (q, _) = fresh()
        var m = q.memory
        m.store16(l.deviceRing + 2, 3)
        q = withMemory(q, m)
        XCTAssertEqual(q.collect { _ in XCTFail("believed") }, .deviceIndexRanAhead(seen: 3, outstanding: 2))
        // A completion repeated: the second names a head no longer outstanding.
        var (q2, d2) = fresh()
        var m2 = q2.memory
        d2.complete(1, length: 100, &m2)
        let at = l.deviceRing + 4 + 8
        m2.store32(at, 2); m2.store32(at + 4, 100); m2.store16(l.deviceRing + 2, 2)
        q2 = withMemory(q2, m2)
        var got: [UInt32] = []
        XCTAssertEqual(q2.collect { got.append($0.token) }, .badDescriptor(2))
        XCTAssertEqual(got, [2])
    }
}

private extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// The queue with its shared memory replaced by what the device model wrote.
func withMemory(_ q: Virtqueue<ByteQueueMemory>, _ m: ByteQueueMemory) -> Virtqueue<ByteQueueMemory> {
    var copy = q
    copy.replaceMemoryForTests(m)
    return copy
}
