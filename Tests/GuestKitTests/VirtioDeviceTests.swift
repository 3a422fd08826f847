// VirtioDeviceTests.swift: bringing a virtio 1.0 device up against a model of the common
// configuration structure as QEMU's virtio-pci implements it (status, feature windows, queue
// registers, notify offsets), and each way a device can refuse or answer nonsense; the virtio-blk
// header, status byte and capacity read.

import XCTest
@testable import GuestKit

struct ModelDevice: VirtioRegisters {
    var offered: UInt64 = VirtioCommon.version1 | VirtioBlock.featureFlush | VirtioBlock.featureBlockSize | 1 << 28
    var accepts: (UInt64) -> Bool = { _ in true }
    var status: UInt8 = 0x0F
    var resetSticks = false
    var deviceSelect: UInt32 = 0, driverSelect: UInt32 = 0
    var driverFeatures: UInt64 = 0
    var queues: [UInt16] = [256]          // each queue's maximum size
    var notifyOffsets: [UInt16] = [0]
    var select: UInt16 = 0
    var sizes: [UInt16: UInt16] = [:]
    var enabled: Set<UInt16> = []
    var addresses: [Int: UInt32] = [:]
    var notified: [(Int, UInt16)] = []
    var isr: UInt8 = 0
    var capacity: UInt64 = 2048
    var generation: UInt8 = 0
    var bumpGenerationOnRead = 0

    mutating func read8(_ s: VirtioStructure, _ o: Int) -> UInt8 {
        switch (s, o) {
        case (.common, VirtioCommon.deviceStatus): return status
        case (.common, VirtioCommon.configGeneration): return generation
        case (.isr, 0): let v = isr; isr = 0; return v
        default: return 0xFF
        }
    }
    mutating func read16(_ s: VirtioStructure, _ o: Int) -> UInt16 {
        switch (s, o) {
        case (.common, VirtioCommon.numQueues): return UInt16(queues.count)
        case (.common, VirtioCommon.queueSize): return Int(select) < queues.count ? (sizes[select] ?? queues[Int(select)]) : 0
        case (.common, VirtioCommon.queueNotifyOff): return Int(select) < notifyOffsets.count ? notifyOffsets[Int(select)] : 0
        default: return 0xFFFF
        }
    }
    mutating func read32(_ s: VirtioStructure, _ o: Int) -> UInt32 {
        switch (s, o) {
        case (.common, VirtioCommon.deviceFeature): return UInt32(truncatingIfNeeded: offered >> (32 * UInt64(deviceSelect & 1)))
        case (.device, 0):
            if bumpGenerationOnRead > 0 { bumpGenerationOnRead -= 1; generation &+= 1 }
            return UInt32(truncatingIfNeeded: capacity)
        case (.device, 4): return UInt32(truncatingIfNeeded: capacity >> 32)
        default: return 0xFFFF_FFFF
        }
    }
    mutating func write8(_ s: VirtioStructure, _ o: Int, _ v: UInt8) {
        guard s == .common, o == VirtioCommon.deviceStatus else { return XCTFail("write8 at \(o)") }
        if v == 0 { status = resetSticks ? 1 : 0; driverFeatures = 0; sizes = [:]; enabled = []; return }
        // FEATURES_OK sticks only when the device accepts the chosen features (3.1.1 step 6).
        if v & VirtioCommon.featuresOK != 0 && status & VirtioCommon.featuresOK == 0 && !accepts(driverFeatures) {
            status = v & ~VirtioCommon.featuresOK
        } else {
            status = v
        }
    }
    mutating func write16(_ s: VirtioStructure, _ o: Int, _ v: UInt16) {
        switch (s, o) {
        case (.common, VirtioCommon.queueSelect): select = v
        case (.common, VirtioCommon.queueSize): sizes[select] = v
        case (.common, VirtioCommon.queueEnable): if v == 1 { enabled.insert(select) }
        case (.notify, let off): notified.append((off, v))
        default: XCTFail("write16 at \(o)")
        }
    }
    mutating func write32(_ s: VirtioStructure, _ o: Int, _ v: UInt32) {
        switch o {
        case VirtioCommon.deviceFeatureSelect: deviceSelect = v
        case VirtioCommon.driverFeatureSelect: driverSelect = v
        case VirtioCommon.driverFeature:
            let shift = UInt64(32 * (driverSelect & 1))
            driverFeatures = driverFeatures & ~(0xFFFF_FFFF << shift) | UInt64(v) << shift
        default: addresses[o] = v
        }
    }
}

final class VirtioDeviceTests: XCTestCase {
    func testBringUpAsQEMUDoes() {
        var d = ModelDevice()
        let features = try! VirtioDevice.negotiate(&d, wanted: VirtioBlock.featureFlush | VirtioBlock.featureReadOnly).get()
        XCTAssertEqual(features, VirtioCommon.version1 | VirtioBlock.featureFlush, "only what both sides have")
        XCTAssertEqual(d.driverFeatures, features)
        XCTAssertEqual(d.status, 0x0B)
        let q = try! VirtioDevice.setUpQueue(&d, index: 0, maxSize: 128, descriptors: 0x1_2345_6000, driverRing: 0x7000, deviceRing: 0x8000,
                                             multiplier: 4, notifyLength: 0x1000).get()
        XCTAssertEqual(q, VirtioQueueSetup(size: 128, notifyOffset: 0))
        XCTAssertEqual(d.sizes[0], 128)
        XCTAssertEqual(d.enabled, [0])
        XCTAssertEqual([d.addresses[0x20], d.addresses[0x24], d.addresses[0x28], d.addresses[0x30]], [0x2345_6000, 1, 0x7000, 0x8000])
        VirtioDevice.start(&d)
        XCTAssertEqual(d.status, 0x0F)
        VirtioDevice.notify(&d, q, index: 0)
        XCTAssertEqual(d.notified.map(\.0), [0])
        d.isr = 1
        XCTAssertEqual(VirtioDevice.takeInterrupt(&d), 1)
        XCTAssertEqual(VirtioDevice.takeInterrupt(&d), 0, "reading the ISR clears it")
    }

    func testQueueSizeIsAPowerOfTwoBothAllow() {
        var d = ModelDevice()
        d.queues = [96, 1024]
        d.notifyOffsets = [0, 1]
        _ = VirtioDevice.negotiate(&d, wanted: 0)
        XCTAssertEqual(try VirtioDevice.setUpQueue(&d, index: 0, maxSize: 256, descriptors: 0, driverRing: 0, deviceRing: 0,
                                                   multiplier: 4, notifyLength: 8).get().size, 64)
        XCTAssertEqual(try VirtioDevice.setUpQueue(&d, index: 1, maxSize: 256, descriptors: 0, driverRing: 0, deviceRing: 0,
                                                   multiplier: 4, notifyLength: 8).get(), VirtioQueueSetup(size: 256, notifyOffset: 4))
    }

    func testRefusalsEndWithFailed() {
        var legacy = ModelDevice()
        legacy.offered = 1 << 28
        XCTAssertEqual(VirtioDevice.negotiate(&legacy, wanted: 0), .failure(.notModern))
        XCTAssertNotEqual(legacy.status & VirtioCommon.failed, 0)

        var picky = ModelDevice()
        picky.accepts = { $0 & VirtioBlock.featureFlush == 0 }
        XCTAssertEqual(VirtioDevice.negotiate(&picky, wanted: VirtioBlock.featureFlush), .failure(.featuresRejected))
        XCTAssertNotEqual(picky.status & VirtioCommon.failed, 0)

        var stuck = ModelDevice()
        stuck.resetSticks = true
        XCTAssertEqual(VirtioDevice.negotiate(&stuck, wanted: 0), .failure(.resetNeverFinished))

        for (queues, index, offsets, length) in [([UInt16(0)], UInt16(0), [UInt16(0)], UInt32(8)),     // size 0
                                                 ([256], 1, [0], 8),                                      // past num_queues
                                                 ([256], 0, [2], 8),                                      // 2 * 4 + 2 > 8
                                                 ([256], 0, [0xFFFF], 0xFFFF_FFFF)] {
            var d = ModelDevice()
            d.queues = queues
            d.notifyOffsets = offsets
            _ = VirtioDevice.negotiate(&d, wanted: 0)
            let r = VirtioDevice.setUpQueue(&d, index: index, maxSize: 256, descriptors: 0, driverRing: 0, deviceRing: 0,
                                            multiplier: length == 0xFFFF_FFFF ? 0x1_0000 : 4, notifyLength: length == 0xFFFF_FFFF ? 0x1000 : length)
            guard case .failure = r else { return XCTFail("accepted \(queues) \(index) \(offsets)") }
            XCTAssertTrue(d.enabled.isEmpty)
            XCTAssertNotEqual(d.status & VirtioCommon.failed, 0)
        }
    }

    func testBlockWireFormat() {
        let h = VirtioBlock.header(type: VirtioBlock.write, sector: 0x0102_0304_0506_0708)
        XCTAssertEqual(Array(0..<16).map { h[$0] }, [1, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1])
        XCTAssertEqual(VirtioBlock.status(0), .ok)
        XCTAssertEqual(VirtioBlock.status(1), .ioError)
        XCTAssertEqual(VirtioBlock.status(2), .unsupported)
        XCTAssertEqual(VirtioBlock.status(0xFF), .nonsense(0xFF))
        var d = ModelDevice()
        d.capacity = 0x1_0000_0800
        XCTAssertEqual(VirtioBlock.capacity(&d), 0x1_0000_0800)
        d.bumpGenerationOnRead = 1
        XCTAssertEqual(VirtioBlock.capacity(&d), 0x1_0000_0800, "read again after a generation change")
        d.bumpGenerationOnRead = 10
        XCTAssertNil(VirtioBlock.capacity(&d), "a configuration that never settles")
    }
}
