// LwipCallbacks.swift: what lwIP and netglue (Sources/Dom0/Net, shared with dom0) call back in the
// netdemo domU: a frame out through its netfront, the time, randomness, assertions, ping replies, and
// the TCP echo's events (a line printed per line echoed). Called from NetDemo's main loop only.

import ApusCore
import GuestKit
import PVABI

@_cdecl("dom0_net_transmit")
func netTransmit(_ frame: UnsafeRawPointer, _ length: UInt32) -> Int32 {
    guard let nic = NetDemo.nic else { return -1 }
    return nic.transmit(UnsafeRawBufferPointer(start: frame, count: Int(length))) ? 0 : -1
}

@_cdecl("sys_now")
func sysNow() -> UInt32 { UInt32(truncatingIfNeeded: GuestTime.now() / 1_000_000) }

@_cdecl("apus_lwip_random")
func lwipRandom() -> UInt32 {
    NetDemo.seed ^= NetDemo.seed << 13; NetDemo.seed ^= NetDemo.seed >> 17; NetDemo.seed ^= NetDemo.seed << 5
    return NetDemo.seed
}

@_cdecl("apus_lwip_assert")
func lwipAssert(_ message: UnsafePointer<UInt8>, _ file: UnsafePointer<UInt8>, _ line: Int32) {
    var text = LogLine("netdemo: lwip: assertion failed: ")
    var p = message
    while p.pointee != 0 && text.count < 120 { text.append(byte: p.pointee); p += 1 }
    text.append(" at ")
    p = file
    while p.pointee != 0 && text.count < 190 { text.append(byte: p.pointee); p += 1 }
    text.append(":")
    text.append(decimal: UInt64(UInt32(bitPattern: line)))
    NetDemo.console.print(text)
    StartOfDay.shutdown(.crash)
}

@_cdecl("dom0_net_ping_reply")
func netPingReply(_ seq: UInt16, _ from: UInt32) {
    NetDemo.pingReplies.append((seq, from))
}

/// netglue's TCP events: 1 accepted, 2 data (already echoed back), 3 closed; its client's (make
/// bench's round trips, NetBench): 4 connected, 5 `length` bytes received, 6 closed or failed.
@_cdecl("dom0_net_tcp_event")
func netTCPEvent(_ kind: Int32, _ address: UInt32, _ port: UInt16, _ data: UnsafeRawPointer?, _ length: UInt32) {
    func flush() {
        guard !NetDemo.line.isEmpty else { return }
        NetDemo.echoes &+= 1
        var l = LogLine("netdemo: echoed '")
        NetDemo.append(&l, bytes: NetDemo.line)
        l.append("' to ")
        NetDemo.append(&l, address: NetDemo.peer.address)
        l.append(":")
        l.append(decimal: UInt64(NetDemo.peer.port))
        NetDemo.console.print(l)
        NetDemo.line = []
    }
    switch kind {
    case 1:
        NetDemo.peer = (address, port)
        NetDemo.line = []
        var l = LogLine("netdemo: TCP connection from ")
        NetDemo.append(&l, address: address)
        l.append(":")
        l.append(decimal: UInt64(port))
        NetDemo.console.print(l)
    case 2:
        guard let data else { return }
        for i in 0..<Int(length) {
            let b = data.load(fromByteOffset: i, as: UInt8.self)
            if b == 10 { flush() } else if NetDemo.line.count < 160 { NetDemo.line.append(b) }
        }
    case 3:
        flush()
    case 4:
        NetBench.state = .connected
    case 5:
        NetBench.received &+= length
    default:
        NetBench.state = .closed
    }
}
