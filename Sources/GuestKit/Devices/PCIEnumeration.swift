// PCIEnumeration.swift: finds every PCI function from bus 0 down through PCI-to-PCI bridges, as an
// OS does at boot, and reads what `lspci` shows. Bounded whatever the hardware answers: each bus is
// visited once, at most 256 buses, so a bridge that names a bus already seen (or itself) cannot loop
// it. Pure over PCIConfigSpace: it only reads.

public struct PCIFunction: Equatable, Sendable {
    public let address: PCIAddress
    public let vendor: UInt16
    public let device: UInt16
    /// Class, subclass, programming interface.
    public let classCode: UInt8
    public let subclass: UInt8
    public let progIF: UInt8
    public let revision: UInt8
    public let headerType: UInt8
    /// The legacy interrupt line the firmware routed (0xFF: none) and the pin (0: none, 1-4 INTA-D).
    public let interruptLine: UInt8
    public let interruptPin: UInt8

    public var isBridge: Bool { headerType & 0x7F == 1 }
}

public enum PCIEnumeration {
    /// Every function present, in bus/device/function order of discovery.
    public static func scan<C: PCIConfigSpace>(_ config: inout C) -> [PCIFunction] {
        var found: [PCIFunction] = []
        var visited = [Bool](repeating: false, count: 256)
        var buses: [UInt8] = [0]
        while let bus = buses.popLast() {
            guard !visited[Int(bus)] else { continue }
            visited[Int(bus)] = true
            for device: UInt8 in 0..<32 {
                guard let f0 = read(PCIAddress(bus: bus, device: device, function: 0)!, &config) else { continue }
                let functions: UInt8 = f0.headerType & 0x80 != 0 ? 8 : 1
                for function in 0..<functions {
                    guard let f = function == 0 ? f0 : read(PCIAddress(bus: bus, device: device, function: function)!, &config) else { continue }
                    found.append(f)
                    if f.isBridge {
                        let secondary = config.read8(f.address, PCIHeader.busNumbers + 1)
                        if secondary != 0 && !visited[Int(secondary)] { buses.insert(secondary, at: 0) }
                    }
                }
            }
        }
        return found
    }

    /// The function at `a`, or nil when nothing answers (vendor 0xFFFF).
    public static func read<C: PCIConfigSpace>(_ a: PCIAddress, _ config: inout C) -> PCIFunction? {
        let id = config.read32(a, PCIHeader.vendorDevice)
        let vendor = UInt16(truncatingIfNeeded: id)
        guard vendor != 0xFFFF && vendor != 0 else { return nil }
        let cls = config.read32(a, PCIHeader.classRevision)
        let irq = config.read32(a, PCIHeader.interrupt)
        return PCIFunction(address: a, vendor: vendor, device: UInt16(truncatingIfNeeded: id >> 16),
                           classCode: UInt8(truncatingIfNeeded: cls >> 24), subclass: UInt8(truncatingIfNeeded: cls >> 16),
                           progIF: UInt8(truncatingIfNeeded: cls >> 8), revision: UInt8(truncatingIfNeeded: cls),
                           headerType: config.read8(a, PCIHeader.headerType),
                           interruptLine: UInt8(truncatingIfNeeded: irq), interruptPin: UInt8(truncatingIfNeeded: irq >> 8))
    }

    /// The capability list: (id, offset) pairs, at most 48 (what fits in 192 bytes of dwords), so a
    /// list whose pointers loop ends.
    public static func capabilities<C: PCIConfigSpace>(_ a: PCIAddress, _ config: inout C) -> [(id: UInt8, offset: UInt8)] {
        guard config.read16(a, PCIHeader.status) & PCIHeader.statusCapabilities != 0 else { return [] }
        var list: [(id: UInt8, offset: UInt8)] = []
        var at = config.read8(a, PCIHeader.capabilitiesPointer) & 0xFC
        while at >= 0x40 && list.count < 48 {
            let word = config.read16(a, at)
            list.append((UInt8(truncatingIfNeeded: word), at))
            at = UInt8(truncatingIfNeeded: word >> 8) & 0xFC
        }
        return list
    }
}
