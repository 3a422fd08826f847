// VirtioNetDriver.swift: dom0's virtio-net driver over the modern PCI transport: the MAC from the
// device configuration, a receive queue kept full of DMA buffers and a transmit queue of DMA slots,
// each frame behind virtio 1.0's 12-byte header. A frame sent while every transmit slot is in flight
// waits in a bounded backlog (copied, in order) and goes out as the device hands slots back: TCP would
// recover a dropped frame only after a retransmission timeout of guest seconds. The pirq's event
// handler only acknowledges the device, notes the interrupt and EOIs; the main loop takes the frames
// (lwIP is single-threaded and must never run in the upcall). A device whose answers break a queue is
// reported and left alone.

import ApusCore
import GuestKit
import PVABI

final class VirtioNetDevice {
    static let featureMAC: UInt64 = 1 << 5
    static let headerBytes = 12
    static let slotBytes = 2048
    static let queueSize = 16
    /// Frames the transmit backlog holds while every slot is in flight (each up to a slot's bytes).
    static let backlogFrames = 64

    let function: PCIFunction
    var registers: VirtioMMIO
    var rx: Virtqueue<DMAQueueMemory>
    var tx: Virtqueue<DMAQueueMemory>
    let rxSetup: VirtioQueueSetup
    let txSetup: VirtioQueueSetup
    /// Slot i of a queue is half a page: page i / 2, offset (i % 2) * 2048.
    let rxPages: [DMAPage]
    let txPages: [DMAPage]
    var txFree: [Bool]
    var mac = InlineArray<6, UInt8>(repeating: 0)
    var pirq: UInt32 = 0
    var port: UInt32 = 0
    /// Interrupts the handler took, and the count the main loop has served.
    var interrupts: UInt32 = 0
    var served: UInt32 = 0
    var framesIn: UInt32 = 0
    var framesOut: UInt32 = 0
    /// Frames that waited in the backlog, and frames dropped because it was full too.
    var framesQueued: UInt32 = 0
    var framesDropped: UInt32 = 0
    /// The transmit backlog: a ring of `backlogFrames` buffers of `slotBytes`, oldest at `backlogHead`.
    var backlog: [UInt8]
    var backlogLengths: [Int]
    var backlogHead = 0
    var backlogCount = 0
    var broken = false

    private init(function: PCIFunction, registers: VirtioMMIO, rx: Virtqueue<DMAQueueMemory>, tx: Virtqueue<DMAQueueMemory>,
                 rxSetup: VirtioQueueSetup, txSetup: VirtioQueueSetup, rxPages: [DMAPage], txPages: [DMAPage]) {
        self.function = function
        self.registers = registers
        self.rx = rx
        self.tx = tx
        self.rxSetup = rxSetup
        self.txSetup = txSetup
        self.rxPages = rxPages
        self.txPages = txPages
        txFree = [Bool](repeating: true, count: txSetup.size)
        backlog = [UInt8](repeating: 0, count: Self.backlogFrames * Self.slotBytes)
        backlogLengths = [Int](repeating: 0, count: Self.backlogFrames)
    }

    func slotAddress(_ pages: [DMAPage], _ i: Int) -> (va: UInt32, machine: UInt64) {
        let page = pages[i / 2], offset = (i % 2) * Self.slotBytes
        return (page.address + UInt32(offset), page.machine + UInt64(offset))
    }

    static func queue(_ r: inout VirtioMMIO, _ index: UInt16, _ regions: VirtioRegions) -> (Virtqueue<DMAQueueMemory>, VirtioQueueSetup)? {
        guard let ring = DMAPages.take(), let layout = VirtqueueLayout(size: queueSize) else { return nil }
        switch VirtioDevice.setUpQueue(&r, index: index, maxSize: layout.size, descriptors: ring.machine + UInt64(layout.descriptors),
                                       driverRing: ring.machine + UInt64(layout.driverRing),
                                       deviceRing: ring.machine + UInt64(layout.deviceRing),
                                       multiplier: regions.notifyMultiplier, notifyLength: regions.notify.length) {
        case .failure(let p): console.print("virtio-net: queue \(UInt32(index)): \(p.reason)"); return nil
        case .success(let setup):
            guard setup.size == layout.size, let q = Virtqueue(layout: layout, memory: DMAQueueMemory(page: ring)) else {
                console.print("virtio-net: queue \(UInt32(index)) is smaller than \(UInt32(queueSize))")
                return nil
            }
            return (q, setup)
        }
    }

    /// Brings up the virtio-net function `f`, fills its receive queue and binds its line; nil with
    /// the reason printed.
    static func attach(_ f: PCIFunction, _ config: inout PCIPorts) -> VirtioNetDevice? {
        guard var (registers, regions) = VirtioMMIO.open(f, &config, name: "virtio-net") else { return nil }
        switch VirtioDevice.negotiate(&registers, wanted: featureMAC) {
        case .failure(let p): console.print("virtio-net: \(p.reason)"); return nil
        case .success(let chosen):
            guard chosen & featureMAC != 0 else { console.print("virtio-net: the device has no MAC address to give"); return nil }
        }
        guard let (rx, rxSetup) = queue(&registers, 0, regions), let (tx, txSetup) = queue(&registers, 1, regions) else { return nil }
        var rxPages: [DMAPage] = [], txPages: [DMAPage] = []
        for _ in 0..<(queueSize / 2) {
            guard let a = DMAPages.take(), let b = DMAPages.take() else { console.print("virtio-net: no DMA pages left"); return nil }
            rxPages.append(a)
            txPages.append(b)
        }
        let nic = VirtioNetDevice(function: f, registers: registers, rx: rx, tx: tx, rxSetup: rxSetup, txSetup: txSetup,
                                  rxPages: rxPages, txPages: txPages)
        for i in 0..<6 { nic.mac[i] = nic.registers.read8(.device, i) }
        for i in 0..<queueSize { _ = nic.postReceive(i) }
        guard let bound = PhysicalInterrupts.attach(line: UInt32(f.interruptLine), name: "virtio-net", handler: { nic.interrupt() }) else {
            return nil
        }
        nic.pirq = bound.pirq
        nic.port = bound.port
        VirtioDevice.start(&nic.registers)
        VirtioDevice.notify(&nic.registers, rxSetup, index: 0)
        return nic
    }

    /// Hands receive slot `i` to the device.
    func postReceive(_ i: Int) -> Bool {
        let slot = slotAddress(rxPages, i)
        return rx.submit([VirtqueueBuffer(address: slot.machine, length: UInt32(Self.slotBytes), deviceWrites: true)], token: UInt32(i))
    }

    /// The pirq's event (upcall context): acknowledge the device, note it, EOI.
    func interrupt() {
        interrupts &+= 1
        _ = VirtioDevice.takeInterrupt(&registers)
        _ = PhysicalInterrupts.eoi(pirq: pirq)
    }

    var hasWork: Bool { interrupts != served }

    /// Main loop: every received frame to `deliver`, its slot back to the device; sent slots freed.
    func service(_ deliver: (UInt32, Int) -> Void) {
        served = interrupts
        guard !broken else { return }
        var reposted = false
        var arrived: [(token: UInt32, written: UInt32)] = []
        if let fault = rx.collect({ arrived.append(($0.token, $0.written)) }) { fail(fault) }
        for a in arrived {
            if a.written > UInt32(Self.headerBytes) {
                framesIn &+= 1
                deliver(slotAddress(rxPages, Int(a.token)).va + UInt32(Self.headerBytes), Int(a.written) - Self.headerBytes)
            }
            if postReceive(Int(a.token)) { reposted = true }
        }
        if reposted { VirtioDevice.notify(&registers, rxSetup, index: 0) }
        if let fault = tx.collect({ self.txFree[Int($0.token)] = true }) { fail(fault) }
        drainBacklog()
    }

    func fail(_ fault: VirtqueueFault) {
        if !broken { console.print("virtio-net: the device broke a queue: \(fault.reason); the card is not used again") }
        broken = true
    }

    /// Sends one Ethernet frame, or keeps a copy in the backlog while every slot is in flight: false
    /// when the backlog is full too, the frame is too long, or the card is broken.
    func send(_ frame: UnsafeRawPointer, _ length: Int) -> Bool {
        guard !broken, length > 0, length + Self.headerBytes <= Self.slotBytes else { return false }
        if let fault = tx.collect({ self.txFree[Int($0.token)] = true }) { fail(fault); return false }
        drainBacklog()
        // Behind a backlog a frame waits its turn: frames leave in the order the stack sent them.
        if backlogCount == 0, let i = txFree.firstIndex(of: true) {
            return transmit(UInt32(UInt(bitPattern: frame)), length, slot: i)
        }
        guard backlogCount < Self.backlogFrames else { framesDropped &+= 1; return false }
        let at = (backlogHead + backlogCount) % Self.backlogFrames
        backlog.withUnsafeMutableBytes {
            dom0_copy_bytes(UInt32(UInt(bitPattern: $0.baseAddress!)) + UInt32(at * Self.slotBytes), UInt32(UInt(bitPattern: frame)), UInt32(length))
        }
        backlogLengths[at] = length
        backlogCount += 1
        framesQueued &+= 1
        return true
    }

    /// Moves backlogged frames into the slots the device handed back, oldest first.
    func drainBacklog() {
        while backlogCount > 0 && !broken, let i = txFree.firstIndex(of: true) {
            let length = backlogLengths[backlogHead]
            let sent = backlog.withUnsafeBytes {
                transmit(UInt32(UInt(bitPattern: $0.baseAddress!)) + UInt32(backlogHead * Self.slotBytes), length, slot: i)
            }
            guard sent else { return }
            backlogHead = (backlogHead + 1) % Self.backlogFrames
            backlogCount -= 1
        }
    }

    /// Copies the frame at dom0 address `va` into free slot `i` behind its header and hands it to the device.
    func transmit(_ va: UInt32, _ length: Int, slot i: Int) -> Bool {
        let slot = slotAddress(txPages, i)
        let header = UnsafeMutableRawPointer(bitPattern: UInt(slot.va))!     // virtio_net_hdr: no offloads
        header.storeBytes(of: UInt32(0), toByteOffset: 0, as: UInt32.self)
        header.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        header.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self)
        dom0_copy_bytes(slot.va + UInt32(Self.headerBytes), va, UInt32(length))
        guard tx.submit([VirtqueueBuffer(address: slot.machine, length: UInt32(length + Self.headerBytes), deviceWrites: false)],
                        token: UInt32(i)) else { return false }
        txFree[i] = false
        framesOut &+= 1
        VirtioDevice.notify(&registers, txSetup, index: 1)
        return true
    }
}
