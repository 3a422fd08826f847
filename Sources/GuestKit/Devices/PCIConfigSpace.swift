// PCIConfigSpace.swift: the seam to PCI configuration space (dom0 implements it with the 0xCF8/0xCFC
// port pair; tests with a table of devices), the address of one function, and the header fields
// enumeration reads. Pure: it names offsets; it never decides what a device may do.

/// Bus, device (0-31) and function (0-7) of one PCI function.
public struct PCIAddress: Equatable, Hashable, Sendable {
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8

    public init?(bus: UInt8, device: UInt8, function: UInt8) {
        guard device < 32, function < 8 else { return nil }
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// The CONFIG_ADDRESS word for register `offset` (enable bit, bus, device, function, dword).
    public func configAddress(_ offset: UInt8) -> UInt32 {
        1 << 31 | UInt32(bus) << 16 | UInt32(device) << 11 | UInt32(function) << 8 | UInt32(offset & 0xFC)
    }
}

/// Reads and writes configuration dwords (offsets are dword-aligned, below 256).
public protocol PCIConfigSpace {
    mutating func read32(_ a: PCIAddress, _ offset: UInt8) -> UInt32
    mutating func write32(_ a: PCIAddress, _ offset: UInt8, _ value: UInt32)
}

extension PCIConfigSpace {
    public mutating func read16(_ a: PCIAddress, _ offset: UInt8) -> UInt16 {
        UInt16(truncatingIfNeeded: read32(a, offset & 0xFC) >> (UInt32(offset & 2) * 8))
    }

    public mutating func read8(_ a: PCIAddress, _ offset: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: read32(a, offset & 0xFC) >> (UInt32(offset & 3) * 8))
    }
}

/// Standard header offsets (PCI Local Bus 3.0, 6.1).
public enum PCIHeader {
    public static let vendorDevice: UInt8 = 0x00
    public static let command: UInt8 = 0x04
    public static let status: UInt8 = 0x06
    public static let classRevision: UInt8 = 0x08
    public static let headerType: UInt8 = 0x0E
    public static let bar0: UInt8 = 0x10
    public static let subsystem: UInt8 = 0x2C
    public static let capabilitiesPointer: UInt8 = 0x34
    public static let interrupt: UInt8 = 0x3C
    /// Type 1 (bridge): primary, secondary and subordinate bus numbers.
    public static let busNumbers: UInt8 = 0x18
    /// Status bit 4: a capability list is present.
    public static let statusCapabilities: UInt16 = 1 << 4
    /// Command bits: I/O space, memory space, bus master, interrupt disable.
    public static let commandIO: UInt16 = 1 << 0
    public static let commandMemory: UInt16 = 1 << 1
    public static let commandBusMaster: UInt16 = 1 << 2
    public static let commandInterruptDisable: UInt16 = 1 << 10
}
