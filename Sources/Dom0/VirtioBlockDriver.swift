// VirtioBlockDriver.swift: dom0's virtio-blk driver over the modern PCI transport: bring-up (BARs
// mapped through DOMID_IO, features, one request queue in a DMA page), requests of up to eight
// sectors (header, data page, status byte), and completions taken in the pirq's event handler,
// which reads the ISR and then EOIs the line. One request is in flight at a time: one the device did
// not answer in time keeps its pages until it does, and no other request is made meanwhile (the
// device may still write them). A device whose answers break the queue (Virtqueue's checks) is
// reported and never trusted again.

import ApusCore
import GuestKit
import PVABI

final class VirtioBlockDevice {
    let function: PCIFunction
    var registers: VirtioMMIO
    var queue: Virtqueue<DMAQueueMemory>
    let setup: VirtioQueueSetup
    let capacity: UInt64
    let features: UInt64
    /// The request header (16 bytes at 0) and the status byte (at 64) the device writes last.
    let control: DMAPage
    /// Data: up to eight sectors.
    let data: DMAPage
    var pirq: UInt32 = 0
    var port: UInt32 = 0
    /// Interrupts taken, requests completed, and the last completion's written byte count.
    var interrupts: UInt32 = 0
    var completed: UInt32 = 0
    var lastWritten: UInt32 = 0
    var broken: VirtqueueFault? = nil
    /// A request was handed to the device and has not completed (it owns the control and data pages).
    var inFlight = false
    /// The TSC at the handler's first instruction (make bench's interrupt-to-handler row).
    var handlerTSC: UInt64 = 0

    static let maxSectors = 8
    static let statusOffset = 64

    private init(function: PCIFunction, registers: VirtioMMIO, queue: Virtqueue<DMAQueueMemory>, setup: VirtioQueueSetup,
                 capacity: UInt64, features: UInt64, control: DMAPage, data: DMAPage) {
        self.function = function
        self.registers = registers
        self.queue = queue
        self.setup = setup
        self.capacity = capacity
        self.features = features
        self.control = control
        self.data = data
    }

    /// Brings up the virtio-blk function `f` and binds its interrupt line; nil with the reason printed.
    static func attach(_ f: PCIFunction, _ config: inout PCIPorts) -> VirtioBlockDevice? {
        guard var (registers, regions) = VirtioMMIO.open(f, &config, name: "virtio-blk") else { return nil }
        let features: UInt64
        switch VirtioDevice.negotiate(&registers, wanted: VirtioBlock.featureFlush) {
        case .failure(let p): console.print("virtio-blk: \(p.reason)"); return nil
        case .success(let chosen): features = chosen
        }
        guard let ring = DMAPages.take(), let control = DMAPages.take(), let data = DMAPages.take(),
              let layout = VirtqueueLayout(size: 128) else {
            console.print("virtio-blk: no DMA pages left")
            return nil
        }
        let setup: VirtioQueueSetup
        switch VirtioDevice.setUpQueue(&registers, index: 0, maxSize: layout.size, descriptors: ring.machine + UInt64(layout.descriptors),
                                       driverRing: ring.machine + UInt64(layout.driverRing),
                                       deviceRing: ring.machine + UInt64(layout.deviceRing),
                                       multiplier: regions.notifyMultiplier, notifyLength: regions.notify.length) {
        case .failure(let p): console.print("virtio-blk: \(p.reason)"); return nil
        case .success(let s): setup = s
        }
        guard let sized = VirtqueueLayout(size: setup.size), let queue = Virtqueue(layout: sized, memory: DMAQueueMemory(page: ring)),
              sized.byteCount <= 4096 else {
            console.print("virtio-blk: the queue does not fit its page")
            return nil
        }
        guard let capacity = VirtioBlock.capacity(&registers) else {
            console.print("virtio-blk: the configuration kept changing while read")
            return nil
        }
        let device = VirtioBlockDevice(function: f, registers: registers, queue: queue, setup: setup, capacity: capacity,
                                       features: features, control: control, data: data)
        guard let bound = PhysicalInterrupts.attach(line: UInt32(f.interruptLine), name: "virtio-blk", handler: { device.interrupt() }) else {
            return nil
        }
        device.pirq = bound.pirq
        device.port = bound.port
        VirtioDevice.start(&device.registers)
        return device
    }

    /// The pirq's event: acknowledge the device (reading the ISR lowers its line), take the
    /// completions, then EOI so the hypervisor unmasks the line.
    func interrupt() {
        handlerTSC = guest_rdtsc()
        interrupts &+= 1
        _ = VirtioDevice.takeInterrupt(&registers)
        if broken == nil {
            broken = queue.collect { c in
                self.completed &+= 1
                self.lastWritten = c.written
                self.inFlight = false
            }
        }
        _ = PhysicalInterrupts.eoi(pirq: pirq)
    }

    /// One request of `type` at `sector` over `sectors` sectors of the data page (none for flush):
    /// the device's status, or nil when the device did not answer in time or broke the queue.
    func transfer(_ type: UInt32, sector: UInt64, sectors: Int) -> VirtioBlock.Status? {
        guard broken == nil, sectors >= 0, sectors <= Self.maxSectors else { return nil }
        guard !inFlight else {
            console.print("virtio-blk: the previous request is still with the device; no new one until it completes")
            return nil
        }
        let header = VirtioBlock.header(type: type, sector: sector)
        for i in 0..<16 { control.bytes.storeBytes(of: header[i], toByteOffset: i, as: UInt8.self) }
        control.bytes.storeBytes(of: 0xFF, toByteOffset: Self.statusOffset, as: UInt8.self)
        var buffers = [VirtqueueBuffer(address: control.machine, length: 16, deviceWrites: false)]
        if sectors > 0 {
            buffers.append(VirtqueueBuffer(address: data.machine, length: UInt32(sectors * VirtioBlock.sectorSize),
                                           deviceWrites: type == VirtioBlock.read))
        }
        buffers.append(VirtqueueBuffer(address: control.machine + UInt64(Self.statusOffset), length: 1, deviceWrites: true))
        let before = completed
        inFlight = true
        guard queue.submit(buffers, token: UInt32(truncatingIfNeeded: sector)) else { inFlight = false; return nil }
        VirtioDevice.notify(&registers, setup, index: 0)
        let answered = Dom0Events.wait(atMost: 2_000_000_000) { self.completed != before || self.broken != nil }
        if let fault = broken {
            console.print("virtio-blk: the device broke its queue: \(fault.reason); the disk is not used again")
            return nil
        }
        guard answered else { return nil }
        return VirtioBlock.status(control.bytes.load(fromByteOffset: Self.statusOffset, as: UInt8.self))
    }

    /// The data page's first `count` bytes.
    func bytes(_ count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: data.bytes, count: min(count, 4096)) }
}
