// NetStack.swift: dom0's TCP/IP, the Swift side: lwIP (C, Sources/Dom0/Net) over the virtio-net
// driver. It starts lwIP with the card's MAC, runs it from the main loop only (frames in, timers), and
// answers lwIP's calls: a frame out, the time, randomness, assertions, ping replies and TCP events,
// which it records for `ifconfig`, `ping` and the devices scenario. It never runs lwIP in an upcall.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "apus_net_start") func apus_net_start(_ mac: UnsafeRawPointer)
@_extern(c, "apus_net_input") func apus_net_input(_ frame: UnsafeRawPointer, _ length: UInt32) -> Int32
@_extern(c, "apus_net_timers") func apus_net_timers()
@_extern(c, "apus_net_info") func apus_net_info(_ which: Int32) -> UInt32
@_extern(c, "apus_net_stat") func apus_net_stat(_ which: Int32) -> UInt32
@_extern(c, "apus_net_ping") func apus_net_ping(_ address: UInt32, _ seq: UInt16) -> Int32
@_extern(c, "apus_net_echo_listen") func apus_net_echo_listen(_ port: UInt16) -> Int32

enum NetStack {
    static var nic: VirtioNetDevice? = nil
    static var started = false
    /// Ping replies: sequence number and when each arrived.
    static var pingReplies: [(seq: UInt16, from: UInt32)] = []
    /// TCP: connections accepted and closed, and the bytes of the last connection (up to 256).
    static var accepted: UInt32 = 0
    static var closed: UInt32 = 0
    static var received: [UInt8] = []
    static var peer: (address: UInt32, port: UInt16) = (0, 0)
    static var seed: UInt32 = 0x2545_F491
    /// The lease has been printed (by ifconfig or when it came): the shell does not announce it again.
    static var leaseShown = false
    static var echoListening = false

    static func start(_ card: VirtioNetDevice) {
        nic = card
        seed ^= UInt32(truncatingIfNeeded: guest_rdtsc())
        withUnsafeBytes(of: card.mac) { apus_net_start($0.baseAddress!) }
        started = true
    }

    /// One turn of the main loop: frames the card received go up the stack, then lwIP's timers.
    static func poll() {
        guard started, let nic else { return }
        // Frames from the card go onto the bridge (to dom0's lwIP, the vifs, or both).
        nic.service { va, length in
            Bridge.forward(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(va)), count: length), from: Bridge.uplinkPort)
        }
        apus_net_timers()
    }

    /// Runs the stack until `condition` holds, blocking between turns (the card's interrupt or a
    /// 20 ms timer wakes it). With no bound on time: the caller's condition must come true, or the
    /// scenario's timeout ends the run.
    static func run(until condition: () -> Bool) {
        while true {
            poll()
            if condition() { return }
            _ = Dom0Events.wait(atMost: 20_000_000) { nic?.hasWork ?? false }
        }
    }

    /// As `run(until:)`, for at most `ns` of system time: whether the condition came true.
    static func run(atMost ns: UInt64, until condition: () -> Bool) -> Bool {
        let deadline = GuestTime.now() + ns
        while true {
            poll()
            if condition() { return true }
            if GuestTime.now() >= deadline { return false }
            _ = Dom0Events.wait(atMost: 20_000_000) { nic?.hasWork ?? false }
        }
    }

    static var address: UInt32 { apus_net_info(0) }
    static var netmask: UInt32 { apus_net_info(1) }
    static var gateway: UInt32 { apus_net_info(2) }
    static var hasLease: Bool { apus_net_info(3) != 0 }

    /// `a` (network byte order, as lwIP keeps it) in dotted decimal.
    static func append(_ line: inout LogLine, address a: UInt32) {
        for i in 0..<4 {
            if i > 0 { line.append(".") }
            line.append(decimal: UInt64((a >> UInt32(8 * i)) & 0xFF))
        }
    }

    static func append(_ line: inout LogLine, mac: InlineArray<6, UInt8>) {
        for i in 0..<6 {
            if i > 0 { line.append(":") }
            let b = mac[i]
            for nibble in [b >> 4, b & 0xF] { line.append(byte: nibble < 10 ? 48 + nibble : 87 + nibble) }
        }
    }

    /// What `ifconfig` prints.
    static func printInterface() {
        guard let nic else { console.print("en0: no network card"); return }
        var line = LogLine()
        line.append("en0: ether ")
        append(&line, mac: nic.mac)
        line.append(" inet ")
        append(&line, address: address)
        line.append(" netmask ")
        append(&line, address: netmask)
        line.append(" gateway ")
        append(&line, address: gateway)
        line.append(hasLease ? " (DHCP lease)" : " (no lease yet)")
        if hasLease { leaseShown = true }
        console.print(line)
        console.print("en0: \(nic.framesIn) frames in, \(nic.framesOut) out, \(nic.interrupts) interrupts (pirq \(nic.pirq))")
    }
}

@_cdecl("dom0_net_transmit")
func dom0NetTransmit(_ frame: UnsafeRawPointer, _ length: UInt32) -> Int32 {
    // dom0's own frames go onto the bridge: to the card, the vifs, or both.
    Bridge.forward(UnsafeRawBufferPointer(start: frame, count: Int(length)), from: Bridge.hostPort)
    return 0
}

@_cdecl("sys_now")
func sysNow() -> UInt32 { UInt32(truncatingIfNeeded: GuestTime.now() / 1_000_000) }

@_cdecl("apus_lwip_random")
func lwipRandom() -> UInt32 {
    NetStack.seed ^= NetStack.seed << 13; NetStack.seed ^= NetStack.seed >> 17; NetStack.seed ^= NetStack.seed << 5
    return NetStack.seed
}

@_cdecl("apus_lwip_assert")
func lwipAssert(_ message: UnsafePointer<UInt8>, _ file: UnsafePointer<UInt8>, _ line: Int32) {
    var text = LogLine()
    text.append("lwip: assertion failed: ")
    var p = message
    while p.pointee != 0 && text.count < 120 { text.append(byte: p.pointee); p += 1 }
    text.append(" at ")
    p = file
    while p.pointee != 0 && text.count < 190 { text.append(byte: p.pointee); p += 1 }
    text.append(":")
    text.append(decimal: UInt64(UInt32(bitPattern: line)))
    console.print(text)
    Kernel.shutdown(.crash)
}

@_cdecl("dom0_net_ping_reply")
func netPingReply(_ seq: UInt16, _ from: UInt32) {
    NetStack.pingReplies.append((seq, from))
}

@_cdecl("dom0_net_tcp_event")
func netTCPEvent(_ kind: Int32, _ address: UInt32, _ port: UInt16, _ data: UnsafeRawPointer?, _ length: UInt32) {
    switch kind {
    case 1:
        NetStack.accepted &+= 1
        NetStack.received = []
        NetStack.peer = (address, port)
    case 2:
        guard let data else { return }
        for i in 0..<Int(length) where NetStack.received.count < 256 { NetStack.received.append(data.load(fromByteOffset: i, as: UInt8.self)) }
    case 3:
        NetStack.closed &+= 1
    default:
        break       // 4-6: netglue's TCP client, which dom0 does not use
    }
}
