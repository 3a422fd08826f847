// VirtioMMIO.swift: a virtio 1.0 PCI device's register structures as dom0 reaches them: the memory BARs
// they live in mapped uncached through DOMID_IO (DeviceMemory), each access one load or store of its
// width (Asm/devices.asm). An offset outside its structure is never touched: reads give all ones.

import ApusCore
import GuestKit

@_extern(c, "dom0_mmio_read8") func dom0_mmio_read8(_ address: UInt32) -> UInt32
@_extern(c, "dom0_mmio_read16") func dom0_mmio_read16(_ address: UInt32) -> UInt32
@_extern(c, "dom0_mmio_read32") func dom0_mmio_read32(_ address: UInt32) -> UInt32
@_extern(c, "dom0_mmio_write8") func dom0_mmio_write8(_ address: UInt32, _ value: UInt32)
@_extern(c, "dom0_mmio_write16") func dom0_mmio_write16(_ address: UInt32, _ value: UInt32)
@_extern(c, "dom0_mmio_write32") func dom0_mmio_write32(_ address: UInt32, _ value: UInt32)

struct VirtioMMIO: VirtioRegisters {
    /// Where each structure starts in dom0's address space, and its length.
    var starts = InlineArray<4, UInt32>(repeating: 0)
    var lengths = InlineArray<4, UInt32>(repeating: 0)

    /// Maps every BAR the regions name (once each) and places the structures; nil with the reason
    /// printed when a BAR is not memory or cannot be mapped.
    init?(_ regions: VirtioRegions, bars: [PCIBar], name: StaticString) {
        var mapped: [(bar: UInt8, va: UInt32)] = []
        let list: [(VirtioStructure, VirtioRegion?)] = [(.common, regions.common), (.notify, regions.notify),
                                                        (.isr, regions.isr), (.device, regions.device)]
        for (structure, region) in list {
            guard let region else { continue }
            var va: UInt32? = mapped.first { $0.bar == region.bar }?.va
            if va == nil {
                guard case .memory(let base, let size, _) = bars[Int(region.bar)] else {
                    console.print("\(name): BAR \(UInt32(region.bar)) is not memory")
                    return nil
                }
                guard let at = DeviceMemory.map(base: base, bytes: size) else { return nil }
                console.print("\(name): BAR \(UInt32(region.bar)) at \(hex: base) (\(size >> 10) KiB) mapped uncached at \(hex8: at) through DOMID_IO")
                mapped.append((region.bar, at))
                va = at
            }
            starts[Self.slot(structure)] = va! + region.offset
            lengths[Self.slot(structure)] = region.length
        }
    }

    static func slot(_ s: VirtioStructure) -> Int {
        switch s {
        case .common: return 0
        case .notify: return 1
        case .isr: return 2
        case .device: return 3
        }
    }

    /// The address of `width` bytes at `offset` of `s`, nil when outside it.
    func address(_ s: VirtioStructure, _ offset: Int, _ width: Int) -> UInt32? {
        let i = Self.slot(s)
        guard offset >= 0, offset + width <= Int(lengths[i]) else { return nil }
        return starts[i] + UInt32(offset)
    }

    mutating func read8(_ s: VirtioStructure, _ offset: Int) -> UInt8 {
        address(s, offset, 1).map { UInt8(truncatingIfNeeded: dom0_mmio_read8($0)) } ?? 0xFF
    }
    mutating func read16(_ s: VirtioStructure, _ offset: Int) -> UInt16 {
        address(s, offset, 2).map { UInt16(truncatingIfNeeded: dom0_mmio_read16($0)) } ?? 0xFFFF
    }
    mutating func read32(_ s: VirtioStructure, _ offset: Int) -> UInt32 {
        address(s, offset, 4).map { dom0_mmio_read32($0) } ?? 0xFFFF_FFFF
    }
    mutating func write8(_ s: VirtioStructure, _ offset: Int, _ value: UInt8) {
        if let a = address(s, offset, 1) { dom0_mmio_write8(a, UInt32(value)) }
    }
    mutating func write16(_ s: VirtioStructure, _ offset: Int, _ value: UInt16) {
        if let a = address(s, offset, 2) { dom0_mmio_write16(a, UInt32(value)) }
    }
    mutating func write32(_ s: VirtioStructure, _ offset: Int, _ value: UInt32) {
        if let a = address(s, offset, 4) { dom0_mmio_write32(a, value) }
    }

    /// A modern virtio PCI function made ready for its driver: its regions found and checked, memory
    /// decoding and bus mastering on (the device reads and writes dom0's pages), INTx enabled, its
    /// BARs mapped. The registers and regions, or nil with the reason printed under `name`.
    static func open(_ f: PCIFunction, _ config: inout PCIPorts, name: StaticString) -> (VirtioMMIO, VirtioRegions)? {
        let bars = PCIBars.read(f.address, &config)
        let regions: VirtioRegions
        switch VirtioRegions.locate(f.address, bars: bars, &config) {
        case .failure(let p): console.print("\(name): \(p.reason)"); return nil
        case .success(let r): regions = r
        }
        let command = config.read16(f.address, PCIHeader.command)
        config.write32(f.address, PCIHeader.command,
                       UInt32(command | PCIHeader.commandMemory | PCIHeader.commandBusMaster) & ~UInt32(PCIHeader.commandInterruptDisable))
        guard let registers = VirtioMMIO(regions, bars: bars, name: name) else { return nil }
        return (registers, regions)
    }
}
