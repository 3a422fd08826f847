// Bridge.swift: dom0's software bridge (xenbr0), the wiring around BridgeTable's decision: port 0 is
// dom0's virtio network card (QEMU's network beyond it), port 1 dom0's own lwIP interface, and each
// vif a port of its own. A frame is learnt from, routed, and handed to each port it goes to at once;
// nothing is queued, so a port that cannot take a frame (no buffer posted, card busy) drops it and
// counts it. It must never send a frame back out of the port it came in on.

import ApusCore
import GuestKit
import PVABI

enum Bridge {
    static let uplinkPort = 0
    static let hostPort = 1
    static var table = BridgeTable()
    static var nextPort = 2
    /// Frames in from and out to the uplink and dom0's own interface.
    static var uplinkIn: UInt64 = 0, uplinkOut: UInt64 = 0, hostIn: UInt64 = 0, hostOut: UInt64 = 0
    static var dropped: UInt64 = 0

    /// A new port number for a vif (never reused while dom0 runs).
    static func newPort() -> Int {
        nextPort += 1
        return nextPort - 1
    }

    /// Forwards `frame` that came in on `port`.
    static func forward(_ frame: UnsafeRawBufferPointer, from port: Int) {
        guard frame.count >= NetifLimits.minFrame, frame.count <= NetifLimits.maxFrame else { dropped &+= 1; return }
        if port == uplinkPort { uplinkIn &+= 1 } else if port == hostPort { hostIn &+= 1 }
        table.learn(BridgeTable.mac(frame, at: 6), port: port, now: GuestTime.now())
        switch table.route(BridgeTable.mac(frame, at: 0), from: port) {
        case .drop:
            return
        case .port(let p):
            if !send(frame, to: p) { dropped &+= 1 }
        case .flood:
            if port != uplinkPort { _ = send(frame, to: uplinkPort) }
            if port != hostPort { _ = send(frame, to: hostPort) }
            for vif in Backends.vifs where vif.bridgePort != port && vif.rxRing != nil { vif.deliver(frame) }
        }
    }

    /// Hands `frame` to one port; false when that port could not take it.
    static func send(_ frame: UnsafeRawBufferPointer, to port: Int) -> Bool {
        guard let base = frame.baseAddress else { return false }
        switch port {
        case uplinkPort:
            guard let nic = NetStack.nic, nic.send(base, frame.count) else { return false }
            uplinkOut &+= 1
            return true
        case hostPort:
            guard NetStack.started else { return false }
            // lwIP out of pbufs drops the frame: counted (TCP's retransmission brings it again).
            guard apus_net_input(base, UInt32(frame.count)) == 0 else { return false }
            hostOut &+= 1
            return true
        default:
            guard let vif = Backends.vifs.first(where: { $0.bridgePort == port }) else { return false }
            return vif.deliver(frame)
        }
    }

    /// A port went away: what was learnt on it is forgotten.
    static func remove(port: Int) { table.forget(port: port) }

    /// What the shell's `net` prints: the bridge's ports with their counts, then each vif.
    static func describe() {
        var line = LogLine("xenbr0: port 0 ")
        if let nic = NetStack.nic {
            line.append("en0 (virtio-net ")
            NetStack.append(&line, mac: nic.mac)
            line.append("): ")
        } else {
            line.append("(no network card): ")
        }
        line.append(decimal: uplinkIn)
        line.append(" frames in, ")
        line.append(decimal: uplinkOut)
        line.append(" out")
        if let nic = NetStack.nic {
            line.append(" (")
            line.append(decimal: UInt64(nic.framesQueued))
            line.append(" waited for a free transmit slot, ")
            line.append(decimal: UInt64(nic.framesDropped))
            line.append(" dropped)")
        }
        console.print(line)
        console.print("xenbr0: port 1 dom0 (lwIP): \(hostIn) frames in, \(hostOut) out; \(dropped) frames dropped, \(UInt32(table.entries.count)) addresses learnt")
        if NetStack.started {
            console.print("lwip: \(apus_net_stat(0)) connections without a pcb, \(apus_net_stat(1)) frames without a pbuf, \(apus_net_stat(2)) TCP segments sent, \(apus_net_stat(3)) dropped, \(apus_net_stat(4)) out of memory")
        }
        for vif in Backends.vifs {
            var v = LogLine("xenbr0: port ")
            v.append(decimal: UInt64(vif.bridgePort))
            v.append(" d")
            v.append(decimal: UInt64(vif.domain))
            v.append(" vif ")
            v.append(decimal: UInt64(vif.index))
            v.append(" (")
            NetBackend.appendMAC(&v, vif.mac)
            v.append(vif.rxRing != nil ? StaticString(", connected): ") : StaticString(", not connected): "))
            vif.describeCounts(&v)
            console.print(v)
        }
    }
}
