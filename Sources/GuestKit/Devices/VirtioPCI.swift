// VirtioPCI.swift: where a virtio 1.0 ("modern") PCI device keeps its registers: the vendor-specific
// capabilities naming the common, notify, ISR and device-specific structures by BAR, offset and
// length (virtio 1.0, 4.1.4). Every capability is checked against the BAR it names before a driver
// maps it, so a device cannot point the driver outside its own memory. Pure over PCIConfigSpace.

public enum VirtioPCI {
    public static let vendor: UInt16 = 0x1AF4
    /// Modern device ids are 0x1040 + the virtio device type.
    public static let modernBase: UInt16 = 0x1040
    public static let networkType: UInt16 = 1
    public static let blockType: UInt16 = 2
    /// Vendor-specific capability id and the virtio structure types.
    static let vendorCapability: UInt8 = 0x09
    static let commonType: UInt8 = 1, notifyType: UInt8 = 2, isrType: UInt8 = 3, deviceType: UInt8 = 4

    /// The virtio device type of a function, for modern and transitional ids; nil when not virtio.
    public static func deviceType(_ f: PCIFunction) -> UInt16? {
        guard f.vendor == vendor else { return nil }
        if f.device >= modernBase && f.device <= 0x107F { return f.device - modernBase }
        // Transitional devices: 0x1000 network, 0x1001 block.
        if f.device == 0x1000 { return networkType }
        if f.device == 0x1001 { return blockType }
        return nil
    }
}

/// One structure: the memory BAR it lives in and where.
public struct VirtioRegion: Equatable, Sendable {
    public let bar: UInt8
    public let offset: UInt32
    public let length: UInt32
}

/// The four structures a modern driver needs.
public struct VirtioRegions: Equatable, Sendable {
    public let common: VirtioRegion
    public let notify: VirtioRegion
    public let notifyMultiplier: UInt32
    public let isr: VirtioRegion
    /// Absent for devices without configuration (never for net or block).
    public let device: VirtioRegion?

    /// Why a device's capabilities were not usable.
    public enum Problem: Error, Equatable, Sendable {
        case missingCapability
        case regionOutsideBar

        public var reason: StaticString {
            switch self {
            case .missingCapability: return "the device has no virtio 1.0 common, notify or ISR capability"
            case .regionOutsideBar: return "a virtio capability names a region outside its BAR"
            }
        }
    }

    /// The first capability of each type whose region lies inside a memory BAR (as the spec tells a
    /// driver to use the first one it can), or the problem.
    public static func locate<C: PCIConfigSpace>(_ a: PCIAddress, bars: [PCIBar], _ config: inout C) -> Result<VirtioRegions, Problem> {
        var common: VirtioRegion?, notify: VirtioRegion?, isr: VirtioRegion?, device: VirtioRegion?
        var multiplier: UInt32 = 0
        var rejected = false
        for cap in PCIEnumeration.capabilities(a, &config) where cap.id == VirtioPCI.vendorCapability {
            let head = config.read32(a, cap.offset)
            let type = UInt8(truncatingIfNeeded: head >> 24)
            let length = UInt8(truncatingIfNeeded: head >> 16)
            guard length >= 16, cap.offset <= 0xEC else { continue }
            let bar = config.read8(a, cap.offset + 4)
            let r = VirtioRegion(bar: bar, offset: config.read32(a, cap.offset + 8), length: config.read32(a, cap.offset + 12))
            let minimum: UInt32
            switch type {
            case VirtioPCI.commonType: minimum = 56
            case VirtioPCI.notifyType: minimum = 2
            case VirtioPCI.isrType: minimum = 1
            case VirtioPCI.deviceType: minimum = 1
            default: continue
            }
            guard bar < 6, Int(bar) < bars.count, r.length >= minimum, bars[Int(bar)].holds(offset: r.offset, length: r.length) else {
                rejected = true
                continue
            }
            switch type {
            case VirtioPCI.commonType: if common == nil { common = r }
            case VirtioPCI.notifyType:
                guard length >= 20 else { continue }
                if notify == nil { notify = r; multiplier = config.read32(a, cap.offset + 16) }
            case VirtioPCI.isrType: if isr == nil { isr = r }
            default: if device == nil { device = r }
            }
        }
        guard let c = common, let n = notify, let i = isr else {
            return .failure(rejected ? .regionOutsideBar : .missingCapability)
        }
        return .success(VirtioRegions(common: c, notify: n, notifyMultiplier: multiplier, isr: i, device: device))
    }
}
