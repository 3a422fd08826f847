// PingPong.swift: two domUs bounce an event back and forth over an interdomain event channel.
// `role=ping peer=ID count=N`: ping allocates an unbound port for its peer and waits for pong's
// hello; `role=pong peer=ID`: pong binds to the peer's first port after its store and console
// channels (the builder gives every domU the same two, so that is one past pong's own) and answers every event. Each side
// counts what it got, and a round only starts after the previous reply, so order is kept.

import ApusCore
import GuestKit
import PVABI

enum PingPong {
    static var received: UInt32 = 0
}

@_cdecl("guest_start")
public func guestStart(_ startInfo: UInt32) {
    let firstTSC = guest_rdtsc()
    let console = GuestConsole(xen)
    StartOfDay.runOrCrash(startInfo, "pingpong")
    guard let peer = StartOfDay.number("peer"), let role = StartOfDay.argument("role") else {
        console.print("pingpong: needs role= and peer= on the command line")
        StartOfDay.shutdown(.crash)
    }
    let rounds = StartOfDay.number("count") ?? 1000
    GuestEvents.handler = { _ in PingPong.received &+= 1 }
    // Its own x87 and SSE values, checked at the end: the pair switches back and forth 2000 times.
    let seed = 0x600D_0000 | UInt32(truncatingIfNeeded: peer) << 4 | (BootOptions.equal(role, "ping") ? 1 : 2)
    guest_fpu_fill(seed)
    if BootOptions.equal(role, "ping") {
        let port = GuestEvents.allocUnbound(remote: UInt16(peer))
        guard port > 0 else { console.print("pingpong: alloc_unbound failed with \(port)"); StartOfDay.shutdown(.crash) }
        console.print("pingpong: ping on port \(port), waiting for d\(peer)")
        console.print("bench: guest domu_first_instruction_tsc \(firstTSC)")
        GuestEvents.wait { PingPong.received >= 1 }                       // pong's hello
        let start = GuestTime.now()
        var sent: UInt32 = 0
        while sent < rounds {
            let before = PingPong.received
            _ = GuestEvents.send(UInt32(port))
            sent += 1
            GuestEvents.wait { PingPong.received > before }
            if PingPong.received != sent + 1 {
                console.print("pingpong: out of order: sent \(sent), received \(PingPong.received - 1) replies")
                StartOfDay.shutdown(.crash)
            }
        }
        let elapsed = GuestTime.now() - start
        console.print("pingpong: ping sent \(sent) events and got \(PingPong.received - 1) replies in order, \(elapsed / 1000) us")
        console.print("bench: guest event_round_trip_ns \(elapsed / UInt64(sent))")

    } else {
        let si = StartOfDay.startInfo
        let peerPort = max(si.storeEvtchn, si.consoleEvtchn) + 1
        var port: Int32 = -1
        while port < 0 {
            port = GuestEvents.bindInterdomain(remote: UInt16(peer), port: peerPort)
            if port < 0 { _ = xen.schedOp(.yield) }
        }
        GuestEvents.discardPending()                                         // bind marks the new port pending once
        PingPong.received = 0
        console.print("pingpong: pong bound port \(port) to d\(peer) port \(peerPort)")
        _ = GuestEvents.send(UInt32(port))                                   // hello
        var answered: UInt32 = 0
        while answered < rounds {
            GuestEvents.wait { PingPong.received > answered }
            answered += 1
            _ = GuestEvents.send(UInt32(port))
        }
        console.print("pingpong: pong answered \(answered) events")
    }
    let changed = guest_fpu_check(seed)
    console.print("pingpong: my x87 and SSE registers \(changed == 0 ? "kept their values" : "FAILED to keep their values"): \(changed) of 9 changed")
    StartOfDay.shutdown(changed == 0 ? .poweroff : .crash)
}

@_cdecl("guest_trap_dispatch") public func guestTrapDispatch(_ frame: UnsafeMutableRawPointer) { GuestTraps.standard(frame) }
@_cdecl("guest_failsafe") public func guestFailsafe(_ frame: UnsafeMutableRawPointer) { StartOfDay.shutdown(.crash) }
