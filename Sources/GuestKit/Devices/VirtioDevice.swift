// VirtioDevice.swift: bringing up a virtio 1.0 ("modern") PCI device from the driver's side, through
// its common configuration structure: reset, ACKNOWLEDGE and DRIVER, feature negotiation (VERSION_1
// required, FEATURES_OK read back), one queue at a time (its size, its three areas, its notify
// offset checked against the notify region), then DRIVER_OK (virtio 1.0, 3.1.1 and 4.1.5). Every
// value the device reports is checked before use; a device that refuses or answers nonsense ends
// with FAILED set and a named problem. Pure over VirtioRegisters.

/// The device's register structures as the driver reaches them (dom0: its uncached mapping of the
/// BAR; tests: a device model). Offsets are inside the named structure.
public protocol VirtioRegisters {
    mutating func read8(_ s: VirtioStructure, _ offset: Int) -> UInt8
    mutating func read16(_ s: VirtioStructure, _ offset: Int) -> UInt16
    mutating func read32(_ s: VirtioStructure, _ offset: Int) -> UInt32
    mutating func write8(_ s: VirtioStructure, _ offset: Int, _ value: UInt8)
    mutating func write16(_ s: VirtioStructure, _ offset: Int, _ value: UInt16)
    mutating func write32(_ s: VirtioStructure, _ offset: Int, _ value: UInt32)
}

public enum VirtioStructure: Sendable {
    case common
    case notify
    case isr
    case device
}

/// struct virtio_pci_common_cfg offsets, status bits and the feature bits used here.
public enum VirtioCommon {
    public static let deviceFeatureSelect = 0x00, deviceFeature = 0x04
    public static let driverFeatureSelect = 0x08, driverFeature = 0x0C
    public static let numQueues = 0x12, deviceStatus = 0x14, configGeneration = 0x15
    public static let queueSelect = 0x16, queueSize = 0x18, queueEnable = 0x1C, queueNotifyOff = 0x1E
    public static let queueDesc = 0x20, queueDriver = 0x28, queueDevice = 0x30

    public static let acknowledge: UInt8 = 1, driver: UInt8 = 2, driverOK: UInt8 = 4
    public static let featuresOK: UInt8 = 8, needsReset: UInt8 = 64, failed: UInt8 = 128
    /// VIRTIO_F_VERSION_1: the device speaks virtio 1.0 (bit 32).
    public static let version1: UInt64 = 1 << 32
}

public enum VirtioProblem: Error, Equatable, Sendable {
    case resetNeverFinished
    case notModern
    case featuresRejected
    case noSuchQueue
    case notifyOutsideRegion

    public var reason: StaticString {
        switch self {
        case .resetNeverFinished: return "the device did not finish its reset"
        case .notModern: return "the device does not offer VIRTIO_F_VERSION_1"
        case .featuresRejected: return "the device did not accept the features the driver chose"
        case .noSuchQueue: return "the device has no such queue"
        case .notifyOutsideRegion: return "the queue's notify offset lies outside the notify region"
        }
    }
}

/// A queue the device accepted: its size and where the driver writes its index to notify it.
public struct VirtioQueueSetup: Equatable, Sendable {
    public let size: Int
    public let notifyOffset: Int
}

public enum VirtioDevice {
    /// Reset, acknowledge, and negotiate: the features both sides have among `wanted` (VERSION_1
    /// always), or the problem (FAILED then set).
    public static func negotiate<R: VirtioRegisters>(_ r: inout R, wanted: UInt64) -> Result<UInt64, VirtioProblem> {
        r.write8(.common, VirtioCommon.deviceStatus, 0)
        var polls = 0
        while r.read8(.common, VirtioCommon.deviceStatus) != 0 {
            polls += 1
            if polls >= 1000 { return fail(&r, .resetNeverFinished) }
        }
        r.write8(.common, VirtioCommon.deviceStatus, VirtioCommon.acknowledge)
        r.write8(.common, VirtioCommon.deviceStatus, VirtioCommon.acknowledge | VirtioCommon.driver)
        r.write32(.common, VirtioCommon.deviceFeatureSelect, 0)
        var offered = UInt64(r.read32(.common, VirtioCommon.deviceFeature))
        r.write32(.common, VirtioCommon.deviceFeatureSelect, 1)
        offered |= UInt64(r.read32(.common, VirtioCommon.deviceFeature)) << 32
        guard offered & VirtioCommon.version1 != 0 else { return fail(&r, .notModern) }
        let chosen = offered & (wanted | VirtioCommon.version1)
        r.write32(.common, VirtioCommon.driverFeatureSelect, 0)
        r.write32(.common, VirtioCommon.driverFeature, UInt32(truncatingIfNeeded: chosen))
        r.write32(.common, VirtioCommon.driverFeatureSelect, 1)
        r.write32(.common, VirtioCommon.driverFeature, UInt32(truncatingIfNeeded: chosen >> 32))
        let status = VirtioCommon.acknowledge | VirtioCommon.driver | VirtioCommon.featuresOK
        r.write8(.common, VirtioCommon.deviceStatus, status)
        guard r.read8(.common, VirtioCommon.deviceStatus) & VirtioCommon.featuresOK != 0 else { return fail(&r, .featuresRejected) }
        return .success(chosen)
    }

    /// Queue `index`: at most `maxSize` entries (a power of two), its areas at the given machine
    /// addresses. The notify region's `notifyLength` bytes and `multiplier` bound the notify offset.
    public static func setUpQueue<R: VirtioRegisters>(_ r: inout R, index: UInt16, maxSize: Int, descriptors: UInt64,
                                                      driverRing: UInt64, deviceRing: UInt64, multiplier: UInt32,
                                                      notifyLength: UInt32) -> Result<VirtioQueueSetup, VirtioProblem> {
        r.write16(.common, VirtioCommon.queueSelect, index)
        let offered = Int(r.read16(.common, VirtioCommon.queueSize))
        guard offered > 0, index < r.read16(.common, VirtioCommon.numQueues) else { return fail(&r, .noSuchQueue) }
        // The largest power of two the device and the driver both allow.
        var size = 1
        while size * 2 <= min(offered, maxSize) { size *= 2 }
        let notifyOffset = UInt64(r.read16(.common, VirtioCommon.queueNotifyOff)) * UInt64(multiplier)
        guard notifyOffset + 2 <= UInt64(notifyLength) else { return fail(&r, .notifyOutsideRegion) }
        r.write16(.common, VirtioCommon.queueSize, UInt16(size))
        write64(&r, VirtioCommon.queueDesc, descriptors)
        write64(&r, VirtioCommon.queueDriver, driverRing)
        write64(&r, VirtioCommon.queueDevice, deviceRing)
        r.write16(.common, VirtioCommon.queueEnable, 1)
        return .success(VirtioQueueSetup(size: size, notifyOffset: Int(notifyOffset)))
    }

    /// Everything is set up: the device may use its queues.
    public static func start<R: VirtioRegisters>(_ r: inout R) {
        r.write8(.common, VirtioCommon.deviceStatus,
                 VirtioCommon.acknowledge | VirtioCommon.driver | VirtioCommon.featuresOK | VirtioCommon.driverOK)
    }

    /// Tells the device queue `index` has new buffers.
    public static func notify<R: VirtioRegisters>(_ r: inout R, _ q: VirtioQueueSetup, index: UInt16) {
        r.write16(.notify, q.notifyOffset, index)
    }

    /// Reads and clears the ISR: bit 0 a queue interrupt, bit 1 a configuration change.
    public static func takeInterrupt<R: VirtioRegisters>(_ r: inout R) -> UInt8 { r.read8(.isr, 0) }

    private static func write64<R: VirtioRegisters>(_ r: inout R, _ offset: Int, _ value: UInt64) {
        r.write32(.common, offset, UInt32(truncatingIfNeeded: value))
        r.write32(.common, offset + 4, UInt32(truncatingIfNeeded: value >> 32))
    }

    private static func fail<R: VirtioRegisters, T>(_ r: inout R, _ p: VirtioProblem) -> Result<T, VirtioProblem> {
        r.write8(.common, VirtioCommon.deviceStatus, r.read8(.common, VirtioCommon.deviceStatus) | VirtioCommon.failed)
        return .failure(p)
    }
}
