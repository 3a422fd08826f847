// DevicesTest.swift: the `devices` scenario from dom0's side: the PCI functions QEMU made (listed at
// boot), the virtio disk brought up through DOMID_IO mappings and its pirq, sector 0 read and its
// CRC-32 printed for the host to compare with the image, a sector written, flushed and read back, and
// the refusals dom0 itself must meet (a RAM frame or the local APIC through DOMID_IO).

import ApusCore
import GuestKit
import PVABI

enum DevicesTest {
    static var failures = 0

    static func check(_ what: StaticString, _ ok: Bool, _ detail: LogLine = LogLine()) {
        var line = LogLine()
        line.append("check: ")
        line.append(what)
        if detail.count > 0 {
            line.append(" (")
            detail.withBytes { for b in $0 { line.append(byte: b) } }
            line.append(")")
        }
        line.append(ok ? ": ok" : ": FAILED")
        console.print(line)
        if !ok { failures += 1 }
    }

    /// The network card: DHCP from QEMU's user network, three pings of the gateway, and the TCP
    /// echo service answering the host (devices.setup's client, through hostfwd).
    static func network() {
        guard let nic = Devices.attachNetwork() else { check("virtio-net brought up", false); return }
        check("lwIP's TCP echo service listens on port 7", NetStack.echoListening)
        NetStack.run { NetStack.hasLease }
        NetStack.printInterface()
        check("a DHCP lease from QEMU's user network", NetStack.address != 0 && NetStack.gateway != 0)
        for seq: UInt16 in 1...3 {
            let rc = apus_net_ping(NetStack.gateway, seq)
            guard rc == 0 else { check("ping sent", false, "lwIP error \(rc)"); return }
            NetStack.run { NetStack.pingReplies.contains { $0.seq == seq } }
            var reply = LogLine()
            reply.append("ping: echo reply seq ")
            reply.append(decimal: UInt64(seq))
            reply.append(" from ")
            NetStack.append(&reply, address: NetStack.pingReplies.last!.from)
            console.print(reply)
        }
        var waiting = LogLine()
        waiting.append("tcp: echo service on ")
        NetStack.append(&waiting, address: NetStack.address)
        waiting.append(":7 waits for the host")
        console.print(waiting)
        NetStack.run { NetStack.closed > 0 && !NetStack.received.isEmpty }
        var got = LogLine()
        got.append("tcp: ")
        NetStack.append(&got, address: NetStack.peer.address)
        got.append(":")
        got.append(decimal: UInt64(NetStack.peer.port))
        got.append(" sent ")
        got.append(decimal: UInt64(NetStack.received.count))
        got.append(" bytes, echoed: '")
        for b in NetStack.received where b >= 32 && b < 127 && got.count < 180 { got.append(byte: b) }
        got.append("'")
        console.print(got)
        NetStack.printInterface()
        check("frames went both ways through the card's interrupt", nic.framesIn > 0 && nic.framesOut > 0 && nic.interrupts > 0 && !nic.broken)
    }

    static func run() -> Bool {
        Reaper.start()
        GuestEvents.enable()
        guard let disk = Devices.attachDisk() else { return false }
        let flags = PhysicalInterrupts.status(pirq: disk.pirq)
        check("irq_status_query on the disk's pirq says an EOI is needed", flags >= 0 && UInt32(flags) & PhysdevLayout.needsEOI != 0,
              "flags \(flags)")

        // Sector 0: the host made it; its CRC goes to the log for the host to compare.
        let read0 = disk.transfer(VirtioBlock.read, sector: 0, sectors: 1)
        check("virtio-blk read of sector 0", read0 == .ok)
        let crc0 = CRC32.of(disk.bytes(512))
        console.print("virtio-blk: sector 0 crc32 \(hex8: crc0)")

        // A sector near the end, filled with bytes that depend on this run's clock, written,
        // flushed, then read back over a cleared page.
        let target = disk.capacity > 8 ? disk.capacity - 3 : 1
        var seed = UInt32(truncatingIfNeeded: guest_rdtsc()) | 1
        for i in 0..<512 {
            seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5
            disk.data.bytes.storeBytes(of: UInt8(truncatingIfNeeded: seed), toByteOffset: i, as: UInt8.self)
        }
        let written = CRC32.of(disk.bytes(512))
        let write = disk.transfer(VirtioBlock.write, sector: target, sectors: 1)
        check("virtio-blk write of one sector", write == .ok)
        console.print("virtio-blk: wrote sector \(target) crc32 \(hex8: written)")
        let flush = disk.transfer(VirtioBlock.flush, sector: 0, sectors: 0)
        check("virtio-blk flush", flush == .ok || (disk.features & VirtioBlock.featureFlush == 0 && flush == .unsupported))
        dom0_zero_page(disk.data.address)
        let readBack = disk.transfer(VirtioBlock.read, sector: target, sectors: 1)
        let back = CRC32.of(disk.bytes(512))
        check("virtio-blk read back of the written sector", readBack == .ok && back == written, "crc32 \(hex8: back)")
        check("every request completed through the pirq's event channel",
              disk.completed == 4 && disk.interrupts >= 4 && disk.broken == nil,
              "\(disk.completed) requests, \(disk.interrupts) interrupts")
        let past = disk.transfer(VirtioBlock.read, sector: disk.capacity, sectors: 1)
        check("a read past the disk's end is an I/O error from the device", past == .ioError)

        // What dom0 itself may not map through DOMID_IO.
        let ramFrame = UInt64(OwnPageTables.mfn(DMAPages.next > 0 ? disk.data.address >> 12 : 0))
        let ram = DeviceMemory.probe(frame: ramFrame)
        check("refused: dom0 mapping its own RAM frame through DOMID_IO", ram == -1, "returned \(ram)")
        let apic = DeviceMemory.probe(frame: 0xFEE00)
        check("refused: dom0 mapping the local APIC through DOMID_IO", apic == -1, "returned \(apic)")
        let hostBridge = PhysicalInterrupts.map(line: 0)
        check("refused: map_pirq of the timer's line 0", hostBridge == -1, "returned \(hostBridge)")
        network()
        console.print("devices test: \(failures == 0 ? StaticString("passed") : StaticString("FAILED"))")
        return failures == 0
    }
}
