// Devices.swift: dom0's devices at start of day: the first virtio disk and the first virtio network
// card on the PCI buses, brought up by their drivers (lwIP started on the card), each announced with
// what it is and how its interrupt reaches dom0. A machine without them is reported, not an error.

import ApusCore
import GuestKit
import PVABI

enum Devices {
    static var disk: VirtioBlockDevice? = nil

    static func first(_ type: UInt16) -> PCIFunction? {
        DeviceList.functions.first { VirtioPCI.deviceType($0) == type }
    }

    /// Runs `body` with PCI configuration space (a virtual IOPL held meanwhile, given back after).
    static func withConfigSpace<T>(_ body: (inout PCIPorts) -> T) -> T {
        _ = xen.setIOPL(1)
        var config = PCIPorts()
        let result = body(&config)
        _ = xen.setIOPL(0)
        return result
    }

    /// The virtio disk, brought up and announced; nil (said why) when there is none or it failed.
    static func attachDisk() -> VirtioBlockDevice? {
        guard let f = first(VirtioPCI.blockType) else { console.print("devices: no virtio disk on the PCI buses"); return nil }
        guard let d = withConfigSpace({ VirtioBlockDevice.attach(f, &$0) }) else { return nil }
        console.print("virtio-blk: \(d.capacity) sectors (\(d.capacity / 2) KiB), features \(hex: d.features), queue of \(UInt32(d.setup.size)), irq \(UInt32(f.interruptLine)) -> pirq \(d.pirq) -> event channel \(d.port)")
        disk = d
        return d
    }

    /// The virtio network card, brought up, announced, with lwIP started on it (DHCP under way).
    static func attachNetwork() -> VirtioNetDevice? {
        guard let f = first(VirtioPCI.networkType) else { console.print("devices: no virtio network card on the PCI buses"); return nil }
        guard let nic = withConfigSpace({ VirtioNetDevice.attach(f, &$0) }) else { return nil }
        var line = LogLine()
        line.append("virtio-net: mac ")
        NetStack.append(&line, mac: nic.mac)
        line.append(", receive and transmit queues of ")
        line.append(decimal: UInt64(nic.rxSetup.size))
        line.append(", irq ")
        line.append(decimal: UInt64(f.interruptLine))
        line.append(" -> pirq ")
        line.append(decimal: UInt64(nic.pirq))
        line.append(" -> event channel ")
        line.append(decimal: UInt64(nic.port))
        console.print(line)
        NetStack.start(nic)
        // An echo service on TCP port 7 (make run forwards host port 5555 to it).
        NetStack.echoListening = apus_net_echo_listen(7) == 0
        console.print("tcp: echo service on port 7 \(NetStack.echoListening ? StaticString("listening") : StaticString("could not listen"))")
        // The toolstack's HTTP API (issue #15): port from http=PORT, token from api_token= or made now.
        HttpServer.start()
        return nic
    }

    /// What `disk` prints.
    static func describeDisk() {
        guard let d = disk else { console.print("disk: no virtio disk"); return }
        console.print("disk: virtio-blk, \(d.capacity) sectors of 512 bytes (\(d.capacity / 2) KiB), \(d.completed) requests, \(d.interrupts) interrupts (pirq \(d.pirq))")
    }

    /// `disk read <sector>`: its CRC-32 and first 16 bytes.
    static func readSector(_ sector: UInt64) {
        guard let d = disk else { console.print("disk: no virtio disk"); return }
        guard sector < d.capacity else { console.print("disk: sector \(sector) is past the end (\(d.capacity) sectors)"); return }
        guard let status = d.transfer(VirtioBlock.read, sector: sector, sectors: 1) else {
            console.print("disk: the device did not answer")
            return
        }
        guard status == .ok else { console.print("disk: the device refused the read"); return }
        let bytes = d.bytes(512)
        var line = LogLine()
        line.append("disk: sector ")
        line.append(decimal: sector)
        line.append(" crc32 ")
        line.append(hex: UInt64(CRC32.of(bytes)), digits: 8)
        line.append(":")
        for i in 0..<16 {
            line.append(" ")
            let b = bytes[i]
            for nibble in [b >> 4, b & 0xF] { line.append(byte: nibble < 10 ? 48 + nibble : 87 + nibble) }
        }
        console.print(line)
    }

    /// `ping <address>`: three echo requests, a second apart at most each.
    static func ping(_ address: UInt32) {
        guard NetStack.started else { console.print("ping: no network card"); return }
        if !NetStack.hasLease {
            console.print("ping: waiting for the DHCP lease")
            guard NetStack.run(atMost: 10_000_000_000, until: { NetStack.hasLease }) else {
                console.print("ping: no DHCP lease; not sent")
                return
            }
        }
        var target = LogLine()
        NetStack.append(&target, address: address)
        for seq: UInt16 in 1...3 {
            let tag = UInt16(truncatingIfNeeded: NetStack.pingReplies.count) &+ seq &+ 100
            let sent = GuestTime.now()
            let rc = apus_net_ping(address, tag)
            guard rc == 0 else { console.print("ping: lwIP could not send (error \(rc))"); return }
            var line = LogLine()
            if NetStack.run(atMost: 1_000_000_000, until: { NetStack.pingReplies.contains { $0.seq == tag } }) {
                line.append("ping: reply from ")
                target.withBytes { for b in $0 { line.append(byte: b) } }
                line.append(" seq ")
                line.append(decimal: UInt64(seq))
                line.append(" time ")
                line.append(decimal: (GuestTime.now() - sent) / 1000)
                line.append(" us")
            } else {
                line.append("ping: no reply from ")
                target.withBytes { for b in $0 { line.append(byte: b) } }
                line.append(" seq ")
                line.append(decimal: UInt64(seq))
            }
            console.print(line)
        }
    }
}
