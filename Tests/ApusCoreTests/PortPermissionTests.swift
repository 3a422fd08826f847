// PortPermissionTests.swift: the I/O port rules dom0 and driver domains live by: port-range sets
// against a per-port reference model, the hypervisor's own ports, the PCI CONFIG_ADDRESS special
// case, and Xen's two levels (virtual IOPL or the guest's bitmap first, then the domain's grants).

import XCTest
import PVABI
@testable import ApusCore

final class PortPermissionTests: XCTestCase {
    func range(_ a: UInt16, _ b: UInt16) -> PortRange { PortRange(first: a, last: b)! }

    func testRangeConstruction() {
        XCTAssertNil(PortRange(first: 5, last: 4))
        XCTAssertNil(PortRange(first: 0xFFFF, count: 2))
        XCTAssertNil(PortRange(first: 0x1_0000, count: 1))
        XCTAssertNil(FrameNumberRange(first: 0xFFFF_FFFF, count: 2))
        XCTAssertEqual(FrameNumberRange(first: 0xFFFF_FFFF, count: 1)?.last, 0xFFFF_FFFF)
        XCTAssertNil(PortRange(first: 0, count: 0))
        XCTAssertEqual(PortRange(first: 0, count: 0x1_0000), range(0, 0xFFFF))
        XCTAssertEqual(PortRange(access: 0xFFFE, size: 2), range(0xFFFE, 0xFFFF))
        XCTAssertNil(PortRange(access: 0xFFFE, size: 4))
    }

    func testMergeAndSplit() {
        var s = PortRanges()
        XCTAssertTrue(s.add(range(10, 19)))
        XCTAssertTrue(s.add(range(20, 29)))       // adjacent: merged
        XCTAssertEqual(s.ranges, [range(10, 29)])
        XCTAssertTrue(s.add(range(0, 0)))
        XCTAssertTrue(s.add(range(0xFFFF, 0xFFFF)))
        XCTAssertEqual(s.ranges, [range(0, 0), range(10, 29), range(0xFFFF, 0xFFFF)])
        XCTAssertTrue(s.remove(range(15, 15)))
        XCTAssertEqual(s.ranges, [range(0, 0), range(10, 14), range(16, 29), range(0xFFFF, 0xFFFF)])
        XCTAssertTrue(s.covers(range(10, 14)))
        XCTAssertFalse(s.covers(range(14, 16)))
        XCTAssertTrue(s.intersects(range(14, 16)))
        XCTAssertTrue(s.remove(range(0, 0xFFFF)))
        XCTAssertTrue(s.isEmpty)
    }

    func testCapacityRefusesAndLeavesTheSetAlone() {
        var s = PortRanges()
        for i in 0..<PortRanges.capacity { XCTAssertTrue(s.add(range(UInt16(i * 4), UInt16(i * 4)))) }
        let before = s.ranges
        XCTAssertFalse(s.add(range(1000, 1000)))
        XCTAssertEqual(s.ranges, before)
        var t = PortRanges()
        for i in 0..<PortRanges.capacity - 1 { XCTAssertTrue(t.add(range(UInt16(i * 100), UInt16(i * 100 + 50)))) }
        XCTAssertTrue(t.add(range(60000, 60100)))
        let full = t.ranges
        XCTAssertFalse(t.remove(range(60050, 60050)))   // a split would need one more
        XCTAssertEqual(t.ranges, full)
    }

    /// Random grants and revocations, checked port by port against a plain bitmap, with the set's
    /// own invariant (sorted, disjoint, never adjacent) after every step.
    func testPropertyAgainstPerPortModel() {
        var rng = SplitMix64(seed: 0x10_0001)
        for _ in 0..<200 {
            var s = PortRanges()
            var model = [Bool](repeating: false, count: 0x1_0000)
            for _ in 0..<40 {
                let first = rng.chance(20) ? rng.below(0x1_0000) : rng.below(512)
                let len = rng.chance(10) ? rng.below(0x1_0000 - first) + 1 : rng.below(min(24, 0x1_0000 - first)) + 1
                let r = range(UInt16(first), UInt16(first + len - 1))
                let adding = rng.chance(60)
                let ok = adding ? s.add(r) : s.remove(r)
                if ok { for p in first..<(first + len) { model[p] = adding } }
                for (i, e) in s.ranges.enumerated() where i > 0 {
                    XCTAssertLessThan(Int(s.ranges[i - 1].last) + 1, Int(e.first), "ranges touch or overlap")
                }
                XCTAssertLessThanOrEqual(s.ranges.count, PortRanges.capacity)
                for _ in 0..<20 {
                    let qf = rng.chance(50) ? rng.below(600) : rng.below(0x1_0000)
                    let ql = rng.below(min(8, 0x1_0000 - qf)) + 1
                    let q = range(UInt16(qf), UInt16(qf + ql - 1))
                    let ports = model[qf..<(qf + ql)]
                    XCTAssertEqual(s.covers(q), ports.allSatisfy { $0 })
                    XCTAssertEqual(s.intersects(q), ports.contains(true))
                }
            }
            var count = 0
            for e in s.ranges { count += Int(e.last) - Int(e.first) + 1 }
            XCTAssertEqual(count, model.filter { $0 }.count)
        }
    }

    func testHypervisorPortsAreNeverGiven() {
        let everything = PortRanges([range(0, 0xFFFF)])
        for (port, size): (UInt16, UInt8) in [(0x20, 1), (0x21, 1), (0xA0, 1), (0x40, 1), (0x43, 1), (0x61, 1), (0x70, 1),
                                               (0x71, 1), (0x3F8, 1), (0x3FD, 1), (0xF4, 4), (0x604, 2), (0xB004, 2),
                                               (0x4D0, 2), (0xCF9, 1), (0x8900, 1), (0x1E, 4), (0x3F6, 4)] {
            XCTAssertEqual(PortAccessRule.adminVerdict(port: port, size: size, permitted: everything),
                           .denied(.hypervisorPort), "port \(port) size \(size)")
        }
        // What dom0's drivers need: PCI configuration space, a legacy IDE/ATA block, high ports.
        for (port, size): (UInt16, UInt8) in [(0xCF8, 4), (0xCFC, 4), (0xCFE, 2), (0xCFF, 1), (0x1F0, 1), (0xC000, 4), (0xFFFC, 4)] {
            XCTAssertEqual(PortAccessRule.adminVerdict(port: port, size: size, permitted: everything), .perform, "port \(port)")
        }
        // A byte or word at 0xCF8 reaches 0xCF9's neighbourhood the dword does not.
        XCTAssertEqual(PortAccessRule.adminVerdict(port: 0xCF8, size: 2, permitted: everything), .denied(.hypervisorPort))
        XCTAssertEqual(PortAccessRule.adminVerdict(port: 0xFFFE, size: 4, permitted: everything), .denied(.pastLastPort))
    }

    /// The comparison-only test the emulation path uses agrees with the block table for every
    /// port and every access width.
    func testTouchesAgreesWithTheBlockTable() {
        for first in 0...0xFFFF {
            for size in [1, 2, 4] where first + size - 1 <= 0xFFFF {
                let r = PortRange(first: UInt16(first), last: UInt16(first + size - 1))!
                XCTAssertEqual(HypervisorPorts.touches(r), HypervisorPorts.owner(of: r) != nil, "port \(first) size \(size)")
            }
        }
    }

    func testOnlyGivenPorts() {
        let some = PortRanges([range(0xC000, 0xC01F)])
        XCTAssertEqual(PortAccessRule.adminVerdict(port: 0xC01C, size: 4, permitted: some), .perform)
        XCTAssertEqual(PortAccessRule.adminVerdict(port: 0xC01E, size: 4, permitted: some), .denied(.notGiven))
        XCTAssertEqual(PortAccessRule.adminVerdict(port: 0x1F0, size: 1, permitted: PortRanges()), .denied(.notGiven))
    }

    func state(iopl: UInt32, kernel: Bool = true, architectural: Bool = false, bitmap: GuestRange? = nil, ports: UInt32 = 0) -> GuestPortState {
        GuestPortState(iopl: iopl, kernelMode: kernel, architecturalIOPL: architectural, bitmap: bitmap, bitmapPorts: ports)
    }

    /// Xen's iopl_ok: the kernel counts as ring 1 (ring 0 with architectural_iopl), user mode as 3.
    func testVirtualIOPL() {
        var m = FakeGuestMemory(seed: 1)
        m.mappedPercent = 0
        for iopl: UInt32 in 0...3 {
            XCTAssertEqual(PortAccessRule.guestAllows(port: 0x1F0, size: 1, state(iopl: iopl), &m), iopl >= 1)
            XCTAssertEqual(PortAccessRule.guestAllows(port: 0x1F0, size: 1, state(iopl: iopl, architectural: true), &m), true)
            XCTAssertEqual(PortAccessRule.guestAllows(port: 0x1F0, size: 1, state(iopl: iopl, kernel: false), &m), iopl == 3)
        }
        XCTAssertEqual(m.copiesIn, 0)
    }

    /// The guest's bitmap, checked bit by bit against the plain rule (every bit of the access clear,
    /// the access ending below the limit, an unreadable bitmap denies).
    func testBitmapAgainstReference() {
        var rng = SplitMix64(seed: 0x10_0002)
        let base: UInt32 = 0x40_0000
        for round in 0..<300 {
            var m = FakeGuestMemory(seed: UInt64(round))
            m.mappedPercent = 0
            var bits = [UInt8](repeating: 0, count: 8192)
            for i in bits.indices { bits[i] = rng.chance(70) ? 0 : UInt8(truncatingIfNeeded: rng.next()) }
            let unmappedPage = rng.chance(20) ? UInt32(rng.below(2)) : nil
            m.place(bits, at: base)
            if let p = unmappedPage { m.pages[(base >> 12) + p] = nil }
            let limit = UInt32(rng.chance(20) ? rng.below(65537) : 65536)
            let g = state(iopl: 0, kernel: rng.chance(50), bitmap: GuestRange(base, count: 8192)!, ports: limit)
            for _ in 0..<50 {
                let size = UInt8([1, 2, 4][rng.below(3)])
                let port = UInt16(rng.chance(10) ? 0xFFFF - rng.below(8) : rng.below(0x1_0000))
                var expected = UInt32(port) + UInt32(size) < limit
                if expected {
                    for p in Int(port)..<(Int(port) + Int(size)) {
                        let byteIndex = p >> 3
                        if let u = unmappedPage, UInt32(byteIndex) >> 12 == u { expected = false }
                        if byteIndex < 8192 && bits[byteIndex] >> (p & 7) & 1 == 1 { expected = false }
                    }
                }
                XCTAssertEqual(PortAccessRule.guestAllows(port: port, size: size, g, &m), expected, "port \(port) size \(size) limit \(limit)")
            }
        }
    }

    func testBothLevelsInXensOrder() {
        var m = FakeGuestMemory(seed: 2)
        let given = PortRanges([range(0x1F0, 0x1F7)])
        XCTAssertEqual(PortAccessRule.decide(port: 0x1F0, size: 1, guest: state(iopl: 0), permitted: given, &m), .generalProtection)
        XCTAssertEqual(PortAccessRule.decide(port: 0x1F0, size: 1, guest: state(iopl: 1), permitted: given, &m), .perform)
        XCTAssertEqual(PortAccessRule.decide(port: 0x1F8, size: 1, guest: state(iopl: 1), permitted: given, &m), .denied(.notGiven))
        XCTAssertEqual(PortAccessRule.decide(port: 0x20, size: 1, guest: state(iopl: 0), permitted: given, &m), .generalProtection)
        XCTAssertEqual(PortAccessRule.decide(port: 0x20, size: 1, guest: state(iopl: 3), permitted: given, &m), .denied(.hypervisorPort))
    }
}

final class DeviceAccessTests: XCTestCase {
    func testDom0HoldsEverythingButTheHypervisorsLines() {
        let d = DeviceAccess.dom0
        XCTAssertTrue(d.ports.covers(PortRange(first: 0, last: 0xFFFF)!))
        XCTAssertTrue(d.frames.covers(FrameNumberRange(first: 0, last: 0xFFFF_FFFF)!))
        XCTAssertEqual((0..<16).filter { d.lines.contains(UInt8($0)) }, [1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
        XCTAssertTrue(DeviceAccess().ports.isEmpty)
    }

    /// Only what the caller holds can be passed on or taken away; the target's set follows.
    func testPassingOn() {
        var dom0 = DeviceAccess.dom0
        var domU = DeviceAccess()
        let fwcfg = PortRange(first: 0x510, last: 0x511)!
        XCTAssertNil(DeviceAccess.pass(fwcfg, allow: true, caller: dom0.ports, target: &domU.ports))
        XCTAssertTrue(domU.ports.covers(fwcfg))
        // A domU passes on only what it holds.
        var other = DeviceAccess()
        XCTAssertEqual(DeviceAccess.pass(PortRange(first: 0x510, last: 0x512)!, allow: true, caller: domU.ports, target: &other.ports)?.error, .EPERM)
        XCTAssertNil(DeviceAccess.pass(fwcfg, allow: true, caller: domU.ports, target: &other.ports))
        XCTAssertNil(DeviceAccess.pass(PortRange(first: 0x511, last: 0x511)!, allow: false, caller: dom0.ports, target: &domU.ports))
        XCTAssertEqual(domU.ports.ranges, [PortRange(first: 0x510, last: 0x510)!])
        // Dom0 that gave its own lines away cannot pass them on.
        XCTAssertNil(DeviceAccess.pass(ResourceRange<UInt8>(first: 11, last: 11)!, allow: false, caller: dom0.lines, target: &dom0.lines))
        XCTAssertEqual(DeviceAccess.pass(ResourceRange<UInt8>(first: 11, last: 11)!, allow: true, caller: dom0.lines, target: &domU.lines)?.error, .EPERM)
        // A full set refuses with -ENOMEM and stays as it was.
        for i in 0..<UInt16(PortRanges.capacity - 1) { _ = domU.ports.add(PortRange(first: 0x1000 + 4 * i, last: 0x1000 + 4 * i)!) }
        XCTAssertEqual(DeviceAccess.pass(PortRange(first: 0x9000, last: 0x9000)!, allow: true, caller: dom0.ports, target: &domU.ports)?.error, .ENOMEM)
        XCTAssertEqual(DeviceAccess.line(ofPirq: 15), 15)
        XCTAssertNil(DeviceAccess.line(ofPirq: 16))
    }
}
