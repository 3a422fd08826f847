// PCITests.swift: PCI enumeration, BAR sizing and the virtio capability walk against a model of
// QEMU's i440fx machine with a virtio disk and NIC (QEMU's own ids, BAR layout and capabilities), a
// bridge, and hostile configuration space: bridges that loop, capability lists that loop, virtio
// regions outside their BAR.

import XCTest
@testable import GuestKit

/// Configuration space of a few functions: registers as a dword table, BARs with sizes (writing all
/// ones reads back the size mask), everything else reads as all ones.
struct FakePCI: PCIConfigSpace {
    struct Function {
        var registers = [UInt32](repeating: 0, count: 64)
        var barSizes = [UInt64](repeating: 0, count: 6)
        var probing = [Bool](repeating: false, count: 6)
    }
    var functions: [PCIAddress: Function] = [:]
    var writes = 0

    mutating func add(_ bus: UInt8, _ dev: UInt8, _ fn: UInt8, vendor: UInt16, device: UInt16, cls: UInt32,
                      header: UInt8 = 0, irq: UInt8 = 0xFF, pin: UInt8 = 0) {
        var f = Function()
        f.registers[0] = UInt32(device) << 16 | UInt32(vendor)
        f.registers[2] = cls << 8
        f.registers[3] = UInt32(header) << 16
        f.registers[15] = UInt32(pin) << 8 | UInt32(irq)
        functions[PCIAddress(bus: bus, device: dev, function: fn)!] = f
    }

    mutating func read32(_ a: PCIAddress, _ offset: UInt8) -> UInt32 {
        guard let f = functions[a] else { return 0xFFFF_FFFF }
        let i = Int(offset >> 2)
        if i >= 4 && i < 10 && f.probing[i - 4] {
            let bar = i - 4
            let low = f.registers[i] & (f.registers[i] & 1 == 1 ? 3 : 0xF)
            if f.barSizes[bar] == 0 {
                // The upper half of a 64-bit BAR: its mask comes from the lower BAR's size.
                if bar > 0 && (f.registers[i - 1] >> 1) & 3 == 2 { return UInt32(truncatingIfNeeded: ~(f.barSizes[bar - 1] - 1) >> 32) }
                return 0
            }
            return UInt32(truncatingIfNeeded: ~(f.barSizes[bar] - 1)) | low
        }
        return f.registers[i]
    }

    mutating func write32(_ a: PCIAddress, _ offset: UInt8, _ value: UInt32) {
        writes += 1
        guard functions[a] != nil else { return }
        let i = Int(offset >> 2)
        if i >= 4 && i < 10 {
            functions[a]!.probing[i - 4] = value == 0xFFFF_FFFF
            if value == 0xFFFF_FFFF { return }
        }
        functions[a]!.registers[i] = value
    }

    mutating func poke8(_ a: PCIAddress, _ offset: UInt8, _ value: UInt8) {
        let i = Int(offset >> 2), shift = UInt32(offset & 3) * 8
        functions[a]!.registers[i] = functions[a]!.registers[i] & ~(0xFF << shift) | UInt32(value) << shift
    }

    mutating func poke32(_ a: PCIAddress, _ offset: UInt8, _ value: UInt32) { functions[a]!.registers[Int(offset >> 2)] = value }

    /// A virtio capability (QEMU's layout: cap_len 16, or 20 for notify).
    mutating func addVirtioCap(_ a: PCIAddress, at: UInt8, next: UInt8, type: UInt8, bar: UInt8, offset: UInt32, length: UInt32, multiplier: UInt32? = nil) {
        let capLength: UInt32 = multiplier == nil ? 16 : 20
        poke32(a, at, UInt32(type) << 24 | capLength << 16 | UInt32(next) << 8 | 0x09)
        poke32(a, at + 4, UInt32(bar))
        poke32(a, at + 8, offset)
        poke32(a, at + 12, length)
        if let m = multiplier { poke32(a, at + 16, m) }
    }

    /// QEMU's modern virtio-pci device: BAR 4 is a 16 KiB 64-bit prefetchable memory BAR holding
    /// common (0x0), ISR (0x1000), device (0x2000) and notify (0x3000, multiplier 4) structures.
    mutating func addVirtio(_ dev: UInt8, id: UInt16, cls: UInt32) {
        let a = PCIAddress(bus: 0, device: dev, function: 0)!
        add(0, dev, 0, vendor: 0x1AF4, device: id, cls: cls, irq: 11, pin: 1)
        functions[a]!.registers[1] = UInt32(PCIHeader.statusCapabilities) << 16
        functions[a]!.registers[4] = 0xC040 | 1                     // BAR0: I/O (legacy-capable NIC)
        functions[a]!.barSizes[0] = 0x20
        functions[a]!.registers[8] = 0xFEBF_0000 | 0xC                // BAR4: 64-bit prefetchable
        functions[a]!.barSizes[4] = 0x4000
        poke8(a, PCIHeader.capabilitiesPointer, 0x84)
        addVirtioCap(a, at: 0x84, next: 0x70, type: 5, bar: 0, offset: 0, length: 0)   // pci cfg: ignored
        addVirtioCap(a, at: 0x70, next: 0x60, type: 2, bar: 4, offset: 0x3000, length: 0x1000, multiplier: 4)
        addVirtioCap(a, at: 0x60, next: 0x50, type: 4, bar: 4, offset: 0x2000, length: 0x1000)
        addVirtioCap(a, at: 0x50, next: 0x40, type: 3, bar: 4, offset: 0x1000, length: 0x1000)
        addVirtioCap(a, at: 0x40, next: 0x00, type: 1, bar: 4, offset: 0x0000, length: 0x1000)
    }

    static func qemu() -> FakePCI {
        var p = FakePCI()
        p.add(0, 0, 0, vendor: 0x8086, device: 0x1237, cls: 0x06_00_00)
        p.add(0, 1, 0, vendor: 0x8086, device: 0x7000, cls: 0x06_01_00, header: 0x80)
        p.add(0, 1, 1, vendor: 0x8086, device: 0x7010, cls: 0x01_01_80)
        p.add(0, 1, 3, vendor: 0x8086, device: 0x7113, cls: 0x06_80_00, irq: 9, pin: 1)
        p.add(0, 2, 0, vendor: 0x1234, device: 0x1111, cls: 0x03_00_00)
        p.addVirtio(3, id: 0x1041, cls: 0x02_00_00)
        p.addVirtio(4, id: 0x1042, cls: 0x01_00_00)
        return p
    }
}

final class PCITests: XCTestCase {
    func at(_ b: UInt8, _ d: UInt8, _ f: UInt8) -> PCIAddress { PCIAddress(bus: b, device: d, function: f)! }

    func testConfigAddress() {
        XCTAssertEqual(at(0, 3, 0).configAddress(0x10), 0x8000_1810)
        XCTAssertEqual(at(1, 31, 7).configAddress(0x3F), 0x8001_FF3C)
        XCTAssertNil(PCIAddress(bus: 0, device: 32, function: 0))
        XCTAssertNil(PCIAddress(bus: 0, device: 0, function: 8))
    }

    func testQEMUMachine() {
        var pci = FakePCI.qemu()
        let found = PCIEnumeration.scan(&pci)
        XCTAssertEqual(found.map(\.address), [at(0, 0, 0), at(0, 1, 0), at(0, 1, 1), at(0, 1, 3), at(0, 2, 0), at(0, 3, 0), at(0, 4, 0)])
        let nic = found[5]
        XCTAssertEqual(VirtioPCI.deviceType(nic), VirtioPCI.networkType)
        XCTAssertEqual(VirtioPCI.deviceType(found[6]), VirtioPCI.blockType)
        XCTAssertNil(VirtioPCI.deviceType(found[4]))
        XCTAssertEqual(nic.classCode, 2)
        XCTAssertEqual(nic.interruptLine, 11)
        XCTAssertEqual(nic.interruptPin, 1)
        XCTAssertEqual(PCIEnumeration.capabilities(nic.address, &pci).map(\.offset), [0x84, 0x70, 0x60, 0x50, 0x40])
        XCTAssertEqual(pci.writes, 0, "enumeration only reads")
    }

    func testBarsAreSizedAndRestored() {
        var pci = FakePCI.qemu()
        let a = at(0, 3, 0)
        pci.poke32(a, PCIHeader.command, 0x0007)
        let before = pci.functions[a]!.registers
        let bars = PCIBars.read(a, &pci)
        XCTAssertEqual(bars, [.io(base: 0xC040, size: 0x20), .none, .none, .none,
                              .memory(base: 0xFEBF_0000, size: 0x4000, prefetchable: true), .none])
        XCTAssertEqual(pci.functions[a]!.registers, before, "every register restored")
        XCTAssertFalse(pci.functions[a]!.probing.contains(true))
    }

    func testVirtioRegions() {
        var pci = FakePCI.qemu()
        let a = at(0, 4, 0)
        let bars = PCIBars.read(a, &pci)
        let r = try! VirtioRegions.locate(a, bars: bars, &pci).get()
        XCTAssertEqual(r.common, VirtioRegion(bar: 4, offset: 0, length: 0x1000))
        XCTAssertEqual(r.isr, VirtioRegion(bar: 4, offset: 0x1000, length: 0x1000))
        XCTAssertEqual(r.device, VirtioRegion(bar: 4, offset: 0x2000, length: 0x1000))
        XCTAssertEqual(r.notify, VirtioRegion(bar: 4, offset: 0x3000, length: 0x1000))
        XCTAssertEqual(r.notifyMultiplier, 4)
    }

    func testVirtioRegionOutsideItsBarIsRefused() {
        var pci = FakePCI.qemu()
        let a = at(0, 4, 0)
        pci.addVirtioCap(a, at: 0x40, next: 0, type: 1, bar: 4, offset: 0x3F00, length: 0x1000)   // past 16 KiB
        XCTAssertEqual(VirtioRegions.locate(a, bars: PCIBars.read(a, &pci), &pci),
                       .failure(.regionOutsideBar))
        pci.addVirtioCap(a, at: 0x40, next: 0, type: 1, bar: 0, offset: 0, length: 0x38)          // an I/O BAR
        XCTAssertEqual(VirtioRegions.locate(a, bars: PCIBars.read(a, &pci), &pci), .failure(.regionOutsideBar))
        pci.addVirtioCap(a, at: 0x40, next: 0, type: 1, bar: 7, offset: 0, length: 0x38)
        if case .success = VirtioRegions.locate(a, bars: PCIBars.read(a, &pci), &pci) { XCTFail("BAR 7 accepted") }
        // Without a common capability at all.
        pci.poke32(a, 0x40, 0)
        pci.poke8(a, 0x51, 0)
        XCTAssertEqual(VirtioRegions.locate(a, bars: PCIBars.read(a, &pci), &pci),
                       .failure(.missingCapability))
    }

    func testHostileConfigurationSpaceEnds() {
        var pci = FakePCI.qemu()
        // A bridge on bus 0 to bus 1, whose own bridge names bus 0 and itself.
        pci.add(0, 5, 0, vendor: 0x1B36, device: 0x0001, cls: 0x06_04_00, header: 1)
        pci.poke8(at(0, 5, 0), PCIHeader.busNumbers + 1, 1)
        pci.add(1, 0, 0, vendor: 0x1B36, device: 0x0001, cls: 0x06_04_00, header: 1)
        pci.poke8(at(1, 0, 0), PCIHeader.busNumbers + 1, 0)
        pci.add(1, 1, 0, vendor: 0x1B36, device: 0x0001, cls: 0x06_04_00, header: 1)
        pci.poke8(at(1, 1, 0), PCIHeader.busNumbers + 1, 1)
        pci.add(1, 2, 0, vendor: 0x1AF4, device: 0x1042, cls: 0x01_00_00)
        let found = PCIEnumeration.scan(&pci)
        XCTAssertEqual(found.count, 11)
        XCTAssertEqual(Set(found.map(\.address)).count, 11, "no function twice")
        XCTAssertTrue(found.contains { $0.address == at(1, 2, 0) })
        // A capability list that points back at itself.
        let a = at(0, 3, 0)
        pci.poke8(a, 0x41, 0x40)
        XCTAssertLessThanOrEqual(PCIEnumeration.capabilities(a, &pci).count, 48)
    }
}
