// NetAttempts.swift: the hostile domain as two netif frontends (hostile.cfg: vif 0 and vif 1 on dom0's
// bridge) that lie to dom0's netback. A frame from vif 0 to vif 1's MAC crosses the bridge: into a
// read-only receive buffer (refused), with no buffer posted (dropped), into a good buffer (delivered
// whole). Then transmit requests no frontend should send: too short, too long, past the page, from a
// grant never made, chained without scatter-gather; an extra-info slot answered NULL; and last,
// garbage ring indexes on each vif. It prints each answer; dom0 must refuse or drop and carry on.

import ApusCore
import GuestKit
import PVABI

enum NetAttempts {
    /// Grants: vif 0's rings and frame page, vif 1's rings, a good and a read-only receive buffer.
    static let tx0Ref: UInt32 = 20, rx0Ref: UInt32 = 21, tx1Ref: UInt32 = 22, rx1Ref: UInt32 = 23
    static let frameRef: UInt32 = 24, bufferRef: UInt32 = 25, readonlyRef: UInt32 = 26

    struct Vif {
        var node: [UInt8]
        var backend: [UInt8] = []
        var tx: UnsafeMutableRawPointer
        var rx: UnsafeMutableRawPointer
        var port: UInt32 = 0
        var txProduced: UInt32 = 0
        var txConsumed: UInt32 = 0
        var rxProduced: UInt32 = 0
        var rxConsumed: UInt32 = 0
    }

    static var frame = UnsafeMutableRawPointer(bitPattern: 0x1000)!
    static var buffer = UnsafeMutableRawPointer(bitPattern: 0x1000)!
    static let mac0: [UInt8] = [0x00, 0x16, 0x3E, 0x00, 0x0B, 0x01]
    static let mac1: [UInt8] = [0x00, 0x16, 0x3E, 0x00, 0x0B, 0x02]

    static func run() {
        let console = Hostile.console
        guard BlockAttempts.entries != nil else { return }
        func ringPage(_ ref: UInt32) -> UnsafeMutableRawPointer {
            let (p, frame) = BlockAttempts.page()
            p.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.requestEventOffset, as: UInt32.self)
            p.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
            BlockAttempts.grant(ref, frame, to: 0, readonly: false)
            return p
        }
        var v0 = Vif(node: Array("device/vif/0".utf8), tx: ringPage(tx0Ref), rx: ringPage(rx0Ref))
        var v1 = Vif(node: Array("device/vif/1".utf8), tx: ringPage(tx1Ref), rx: ringPage(rx1Ref))
        let (f, frameFrame) = BlockAttempts.page()
        let (b, bufferFrame) = BlockAttempts.page()
        let (_, readonlyFrame) = BlockAttempts.page()
        frame = f
        buffer = b
        BlockAttempts.grant(frameRef, frameFrame, to: 0, readonly: false)
        BlockAttempts.grant(bufferRef, bufferFrame, to: 0, readonly: false)
        BlockAttempts.grant(readonlyRef, readonlyFrame, to: 0, readonly: true)
        guard connect(&v0, tx: tx0Ref, rx: rx0Ref), connect(&v1, tx: tx1Ref, rx: rx1Ref) else {
            console.print("hostile: netif: dom0's netback did not connect its vifs; no network attempts")
            return
        }
        console.print("hostile: netif: vif 0 and vif 1 connected to dom0's netback")

        // A 60-byte frame from vif 0 to vif 1's MAC, its payload a sentence.
        for i in 0..<6 {
            frame.storeBytes(of: mac1[i], toByteOffset: i, as: UInt8.self)
            frame.storeBytes(of: mac0[i], toByteOffset: 6 + i, as: UInt8.self)
        }
        frame.storeBytes(of: UInt16(0xB588), toByteOffset: 12, as: UInt16.self)
        for (i, c) in Array("from vif 0 to vif 1".utf8).enumerated() { frame.storeBytes(of: c, toByteOffset: 14 + i, as: UInt8.self) }

        // Receive into a read-only grant: the copy is refused, the buffer comes back with an error.
        post(&v1, id: 1, ref: readonlyRef)
        _ = transmit(&v0, [(frameRef, 0, 0, 1, 60)])
        expect("netif receive into a read-only grant", received(&v1), .error)
        // No buffer posted: the frame is dropped, nothing comes back.
        _ = transmit(&v0, [(frameRef, 0, 0, 2, 60)])
        let none = received(&v1, within: 200_000_000)
        Hostile.total += 1
        if none == nil { Hostile.refused += 1 }
        console.print("hostile: netif frame for a vif with no receive buffer posted: \(none == nil ? "dropped" : "NOT dropped") (\(none == nil ? StaticString("no response") : StaticString("a response came")))")
        // A good buffer: the frame arrives whole.
        post(&v1, id: 2, ref: bufferRef)
        let sent = transmit(&v0, [(frameRef, 0, 0, 3, 60)])
        let got = received(&v1)
        var intact = got?.status == 60 && got?.id == 2
        for i in 0..<60 where intact { intact = buffer.load(fromByteOffset: i, as: UInt8.self) == frame.load(fromByteOffset: i, as: UInt8.self) }
        console.print("hostile: a frame from its vif 0 to its vif 1 through dom0's bridge: \(intact ? "delivered whole" : "NOT delivered") (transmit status \(Int32(sent.first ?? 99)), receive status \(Int32(got?.status ?? 99)))")

        expectTx("netif transmit of a 13-byte frame", transmit(&v0, [(frameRef, 0, 0, 4, 13)]), [.error])
        expectTx("netif transmit of a 1600-byte frame", transmit(&v0, [(frameRef, 0, 0, 5, 1600)]), [.error])
        expectTx("netif transmit of a frame past the end of its page", transmit(&v0, [(frameRef, 4000, 0, 6, 200)]), [.error])
        expectTx("netif transmit from a grant it never made", transmit(&v0, [(400, 0, 0, 7, 60)]), [.error])
        expectTx("netif transmit of a frame in two slots (as Linux splits one across a page)",
                 transmit(&v0, [(frameRef, 0, NetTxFlags.moreData, 8, 100), (frameRef, 60, 0, 9, 40)]), [.okay, .okay])
        expectTx("netif transmit of a chain whose fragments outgrow the frame",
                 transmit(&v0, [(frameRef, 0, NetTxFlags.moreData, 12, 100), (frameRef, 100, 0, 13, 140)]), [.error, .error])
        var long: [(UInt32, UInt16, UInt16, UInt16, UInt16)] = [(frameRef, 0, NetTxFlags.moreData, 14, 1000)]
        for i in 0..<18 { long.append((frameRef, 0, i < 17 ? NetTxFlags.moreData : 0, UInt16(15 + i), 1)) }
        expectTx("netif transmit of a frame in 19 slots (18 at most)", transmit(&v0, long), [NetifStatus](repeating: .error, count: 19))
        expectTx("netif transmit with an extra-info slot (answered NULL)",
                 transmit(&v0, [(frameRef, 0, NetTxFlags.extraInfo, 10, 60), (0, 0, 0, 0, 0)]), [.okay, .null])

        // Garbage indexes: vif 1's receive producer, then vif 0's transmit producer.
        Hostile.total += 2
        v1.rx.storeBytes(of: v1.rxProduced &+ 1000, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        _ = transmit(&v0, [(frameRef, 0, 0, 11, 60)])
        let closed1 = BlockAttempts.waitForBackend(v1.backend, atLeast: 5)
        if closed1 >= 5 { Hostile.refused += 1 }
        console.print("hostile: netif receive producer 1000 ahead: \(closed1 >= 5 ? "refused" : "NOT refused") (vif 1 backend state \(closed1))")
        v0.tx.storeBytes(of: v0.txProduced &+ 1000, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        _ = GuestEvents.send(v0.port)
        let closed0 = BlockAttempts.waitForBackend(v0.backend, atLeast: 5)
        if closed0 >= 5 { Hostile.refused += 1 }
        console.print("hostile: netif transmit producer 1000 ahead: \(closed0 >= 5 ? "refused" : "NOT refused") (vif 0 backend state \(closed0))")
    }

    /// Mini-OS's netfront handshake for `v`: its rings, a port, request-rx-copy, Connected.
    static func connect(_ v: inout Vif, tx: UInt32, rx: UInt32) -> Bool {
        let p = GuestEvents.allocUnbound(remote: 0)
        guard p > 0 else { return false }
        v.port = UInt32(p)
        guard BlockAttempts.write("tx-ring-ref", BlockAttempts.decimal(tx), under: v.node),
              BlockAttempts.write("rx-ring-ref", BlockAttempts.decimal(rx), under: v.node),
              BlockAttempts.write("event-channel", BlockAttempts.decimal(v.port), under: v.node),
              BlockAttempts.write("request-rx-copy", [0x31], under: v.node),
              BlockAttempts.write("state", [0x34], under: v.node),
              let backend = BlockAttempts.store(.read, v.node + Array("/backend".utf8) + [0]) else { return false }
        v.backend = backend
        return BlockAttempts.waitForBackend(backend, atLeast: 4) == 4
    }

    /// Posts one receive buffer on `v`'s rx ring.
    static func post(_ v: inout Vif, id: UInt16, ref: UInt32) {
        let at = SharedRingLayout.entriesOffset + Int(v.rxProduced & 255) * NetifRxLayout.entryBytes
        v.rx.storeBytes(of: id, toByteOffset: at + NetifRxLayout.idOffset, as: UInt16.self)
        v.rx.storeBytes(of: ref, toByteOffset: at + NetifRxLayout.grantOffset, as: UInt32.self)
        v.rxProduced &+= 1
        guest_compiler_barrier()
        v.rx.storeBytes(of: v.rxProduced, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        _ = GuestEvents.send(v.port)
    }

    /// The next receive response on `v` within `ns`: its id and status.
    static func received(_ v: inout Vif, within ns: UInt64 = 1_000_000_000) -> (id: UInt16, status: Int16)? {
        let deadline = GuestTime.now() + ns
        while GuestTime.now() < deadline {
            guest_compiler_barrier()
            if v.rx.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) != v.rxConsumed {
                let at = SharedRingLayout.entriesOffset + Int(v.rxConsumed & 255) * NetifRxLayout.entryBytes
                v.rxConsumed &+= 1
                return (v.rx.load(fromByteOffset: at + NetifRxLayout.responseIDOffset, as: UInt16.self),
                        v.rx.load(fromByteOffset: at + NetifRxLayout.responseStatusOffset, as: Int16.self))
            }
            _ = xen.schedOp(.yield)
        }
        return nil
    }

    /// Puts requests (grant, offset, flags, id, size) on `v`'s tx ring, notifies, and returns the
    /// statuses of as many responses (an empty list when they did not all come within 1 s).
    static func transmit(_ v: inout Vif, _ requests: [(UInt32, UInt16, UInt16, UInt16, UInt16)]) -> [Int16] {
        for r in requests {
            let at = SharedRingLayout.entriesOffset + Int(v.txProduced & 255) * NetifTxLayout.entryBytes
            v.tx.storeBytes(of: r.0, toByteOffset: at + NetifTxLayout.grantOffset, as: UInt32.self)
            v.tx.storeBytes(of: r.1, toByteOffset: at + NetifTxLayout.offsetOffset, as: UInt16.self)
            v.tx.storeBytes(of: r.2, toByteOffset: at + NetifTxLayout.flagsOffset, as: UInt16.self)
            v.tx.storeBytes(of: r.3, toByteOffset: at + NetifTxLayout.idOffset, as: UInt16.self)
            v.tx.storeBytes(of: r.4, toByteOffset: at + NetifTxLayout.sizeOffset, as: UInt16.self)
            v.txProduced &+= 1
        }
        guest_compiler_barrier()
        v.tx.storeBytes(of: v.txProduced, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        _ = GuestEvents.send(v.port)
        let deadline = GuestTime.now() + 1_000_000_000
        while GuestTime.now() < deadline {
            guest_compiler_barrier()
            if v.tx.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) &- v.txConsumed >= UInt32(requests.count) { break }
            _ = xen.schedOp(.yield)
        }
        guard v.tx.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) &- v.txConsumed >= UInt32(requests.count) else { return [] }
        var statuses: [Int16] = []
        for _ in requests {
            let at = SharedRingLayout.entriesOffset + Int(v.txConsumed & 255) * NetifTxLayout.entryBytes
            statuses.append(v.tx.load(fromByteOffset: at + NetifTxLayout.responseStatusOffset, as: Int16.self))
            v.txConsumed &+= 1
        }
        return statuses
    }

    static func expect(_ what: StaticString, _ got: (id: UInt16, status: Int16)?, _ wanted: NetifStatus) {
        Hostile.total += 1
        let ok = got?.status == wanted.rawValue
        if ok { Hostile.refused += 1 }
        Hostile.console.print("hostile: \(what): \(ok ? "refused" : "NOT refused") (status \(Int32(got?.status ?? 99)))")
    }

    static func expectTx(_ what: StaticString, _ got: [Int16], _ wanted: [NetifStatus]) {
        Hostile.total += 1
        let ok = got == wanted.map { $0.rawValue }
        if ok { Hostile.refused += 1 }
        var line = LogLine("hostile: ")
        line.append(what)
        line.append(ok ? StaticString(": answered as netif says (statuses") : StaticString(": NOT answered as netif says (statuses"))
        for s in got {
            line.append(" ")
            if s < 0 { line.append("-") }
            line.append(decimal: UInt64(s.magnitude))
        }
        line.append(")")
        Hostile.console.print(line)
    }
}
