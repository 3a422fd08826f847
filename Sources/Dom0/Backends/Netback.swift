// Netback.swift: dom0's network backend for one domU vif (Xen's netif with rx-copy, as Linux's
// xen-netback serves it): the xenbus handshake (XenbusBackend decides), then frames between the
// frontend's two rings and dom0's bridge. Receive: a frame for the vif is grant-copied into the next
// buffer the frontend posted (none posted: the frame is dropped and counted, nothing waits).
// Transmit: each request copied out of the ring once, a packet's slots checked together (NetTxRequest),
// its frame grant-copied out of the frontend's pages, its checksum completed if the frontend left it
// blank, and handed to the bridge. It must never read a request twice from the
// shared page, and a frontend that floods, sends garbage or never posts buffers costs only itself.

import ApusCore
import GuestKit
import PVABI

final class NetBackend: SplitBackend {
    let domain: UInt16
    let index: UInt32
    let mac: MACAddress
    let nodes: BackendNodes
    /// Its port on the bridge.
    let bridgePort: Int
    var handshake = XenbusBackend()
    var frontState: [UInt8]? = nil
    var txRing: GrantMapping? = nil
    var rxRing: GrantMapping? = nil
    var port: UInt32 = 0
    var tx = BackendRing(size: SharedRingLayout.entries(entryBytes: NetifTxLayout.entryBytes))!
    var rx = BackendRing(size: SharedRingLayout.entries(entryBytes: NetifRxLayout.entryBytes))!
    var entry = [UInt8](repeating: 0, count: NetifTxLayout.requestBytes)

    /// Frames to the domain and from it, their bytes, frames dropped for want of a posted buffer,
    /// transmit requests refused.
    var framesIn: UInt64 = 0, bytesIn: UInt64 = 0, framesOut: UInt64 = 0, bytesOut: UInt64 = 0
    var droppedNoBuffer: UInt64 = 0, refused: UInt64 = 0

    static let budget = 64
    static let maxRefusalsShown: UInt64 = 16
    /// One page each way for every vif: dom0 moves one frame at a time.
    static var rxStaging: DMAPage? = nil
    static var txStaging: DMAPage? = nil

    init(domain: UInt16, index: UInt32, mac: MACAddress, bridgePort: Int) {
        self.domain = domain
        self.index = index
        self.mac = mac
        self.bridgePort = bridgePort
        nodes = BackendNodes(kind: "vif", domain: domain, device: index)
    }

    func prefix() -> LogLine {
        var line = LogLine("netback: d")
        line.append(decimal: UInt64(domain))
        line.append(" vif ")
        line.append(decimal: UInt64(index))
        line.append(" ")
        return line
    }

    static func appendMAC(_ line: inout LogLine, _ mac: MACAddress) {
        for i in 0..<6 {
            if i > 0 { line.append(":") }
            let b = UInt8(truncatingIfNeeded: mac >> UInt64(8 * (5 - i)))
            for nibble in [b >> 4, b & 0xF] { line.append(byte: nibble < 10 ? 48 + nibble : 87 + nibble) }
        }
    }

    // MARK: the handshake

    /// The backend for vif `index` of `domain` with `mac`, probed; nil (said why) without staging pages.
    static func probe(_ domain: UInt16, index: UInt32, mac: MACAddress, bridgePort: Int) -> NetBackend? {
        if rxStaging == nil { rxStaging = DMAPages.take() }
        if txStaging == nil { txStaging = DMAPages.take() }
        guard rxStaging != nil, txStaging != nil else {
            console.print("netback: d\(domain) vif \(index) not served: no DMA pages left for staging frames")
            return nil
        }
        let b = NetBackend(domain: domain, index: index, mac: mac, bridgePort: bridgePort)
        b.nodes.write("feature-rx-copy", [0x31])
        b.nodes.write("feature-rx-flip", [0x30])
        // No scatter-gather (a frame split only where it crosses a page) and no segmentation offload.
        b.nodes.write("feature-sg", [0x30])
        b.nodes.write("feature-gso-tcpv4", [0x30])
        var line = b.prefix()
        line.append("(")
        appendMAC(&line, mac)
        line.append("): bridge port ")
        line.append(decimal: UInt64(bridgePort))
        console.print(line)
        b.apply(b.handshake.handle(.probe))
        return b
    }

    func connect() -> Bool {
        guard let txRef = nodes.frontNumber("tx-ring-ref"), let rxRef = nodes.frontNumber("rx-ring-ref") else {
            return cannotConnect("no tx-ring-ref or rx-ring-ref")
        }
        guard let remote = nodes.frontNumber("event-channel") else {
            return cannotConnect("no event-channel (split event channels are not offered)")
        }
        guard nodes.frontNumber("request-rx-copy") == 1 else {
            return cannotConnect("it did not ask for request-rx-copy (page flipping is not offered)")
        }
        guard let t = GrantWindow.map(domain: domain, ref: txRef) else { return cannotConnect("its tx ring grant could not be mapped") }
        guard let r = GrantWindow.map(domain: domain, ref: rxRef) else {
            GrantWindow.unmap(t)
            return cannotConnect("its rx ring grant could not be mapped")
        }
        let p = GuestEvents.bindInterdomain(remote: domain, port: remote)
        guard p > 0 else {
            GrantWindow.unmap(t)
            GrantWindow.unmap(r)
            return cannotConnect("its event channel could not be bound")
        }
        GuestEvents.clearPending(UInt32(p))
        _ = Dom0Events.take(UInt32(p))
        txRing = t
        rxRing = r
        port = UInt32(p)
        tx = BackendRing(size: SharedRingLayout.entries(entryBytes: NetifTxLayout.entryBytes))!
        rx = BackendRing(size: SharedRingLayout.entries(entryBytes: NetifRxLayout.entryBytes))!
        var line = prefix()
        line.append("connected: tx ring grant ")
        line.append(decimal: UInt64(txRef))
        line.append(", rx ring grant ")
        line.append(decimal: UInt64(rxRef))
        line.append(", event channel ")
        line.append(decimal: UInt64(remote))
        line.append(" -> dom0 port ")
        line.append(decimal: UInt64(port))
        line.append(", rx-copy")
        console.print(line)
        return true
    }

    func disconnect() {
        for m in [txRing, rxRing] { if let m { GrantWindow.unmap(m) } }
        if port != 0 { _ = GuestEvents.close(port) }
        txRing = nil
        rxRing = nil
        port = 0
        var line = prefix()
        line.append("disconnected: ")
        describeCounts(&line)
        console.print(line)
    }

    func describeCounts(_ line: inout LogLine) {
        line.append(decimal: framesIn)
        line.append(" frames to it (")
        line.append(decimal: bytesIn)
        line.append(" bytes), ")
        line.append(decimal: framesOut)
        line.append(" from it (")
        line.append(decimal: bytesOut)
        line.append(" bytes), ")
        line.append(decimal: droppedNoBuffer)
        line.append(" dropped for want of a buffer, ")
        line.append(decimal: refused)
        line.append(" refused")
    }


    func fault(_ which: StaticString, _ producer: UInt32, _ consumer: UInt32) {
        var line = prefix()
        line.append("the frontend's ")
        line.append(which)
        line.append(" request producer is garbage (")
        line.append(decimal: UInt64(producer))
        line.append(", ")
        line.append(decimal: UInt64(consumer))
        line.append(" taken); its rings are disconnected")
        console.print(line)
        apply(handshake.handle(.fault))
    }

    func refuse(_ id: UInt16, _ why: StaticString, receiving: Bool = false) {
        refused &+= 1
        guard refused <= Self.maxRefusalsShown else { return }
        var line = prefix()
        line.append(receiving ? StaticString("receive buffer ") : StaticString("transmit request "))
        line.append(decimal: UInt64(id))
        line.append(" refused: ")
        line.append(why)
        if refused == Self.maxRefusalsShown { line.append(" (further refusals only counted)") }
        console.print(line)
    }

    // MARK: receive: the bridge to the domain

    /// Grant-copies `frame` into the next buffer the frontend posted; false when it was dropped.
    @discardableResult
    func deliver(_ frame: UnsafeRawBufferPointer) -> Bool {
        guard let page = rxRing?.bytes, let staging = Self.rxStaging, let base = frame.baseAddress,
              frame.count <= NetifLimits.maxFrame else { return false }
        switch RingPage(page: page).look(rx) {
        case .garbage(let producer):
            fault("receive", producer, rx.requestConsumer)
            return false
        case .idle:
            droppedNoBuffer &+= 1
            return false
        case .waiting:
            break
        }
        let slot = rx.takeRequest()
        let at = SharedRingLayout.entriesOffset + Int(slot) * NetifRxLayout.entryBytes
        // The request's 8 bytes, read once.
        let id = page.loadUnaligned(fromByteOffset: at + NetifRxLayout.idOffset, as: UInt16.self)
        let grant = page.loadUnaligned(fromByteOffset: at + NetifRxLayout.grantOffset, as: UInt32.self)
        dom0_copy_bytes(staging.address, UInt32(UInt(bitPattern: base)), UInt32(frame.count))
        let span = GrantCopySpan(domain: domain, ref: grant, grantOffset: 0, ownFrame: UInt32(truncatingIfNeeded: staging.machine >> 12),
                                 ownOffset: 0, length: UInt16(frame.count), intoGrant: true)
        let failed = GrantCopy.run([span])
        let status: Int16 = failed == nil ? Int16(frame.count) : NetifStatus.error.rawValue
        if failed == nil {
            framesIn &+= 1
            bytesIn &+= UInt64(frame.count)
        } else {
            refuse(id, "its grant could not be copied into", receiving: true)
        }
        let old = rx.responseProducer
        guard let r = rx.nextResponseSlot() else { return false }
        let response = NetRxResponse.make(id: id, offset: 0, flags: 0, status: status)
        let to = SharedRingLayout.entriesOffset + Int(r) * NetifRxLayout.entryBytes
        for i in 0..<NetifRxLayout.responseBytes { page.storeBytes(of: response[i], toByteOffset: to + i, as: UInt8.self) }
        RingPage(page: page).publish(since: old, now: rx.responseProducer, port: port)
        return failed == nil
    }

    // MARK: transmit: the domain to the bridge

    /// Takes up to `budget` packets; true when more are waiting.
    func service() -> Bool {
        guard let page = txRing?.bytes, let staging = Self.txStaging else { return false }
        let shared = RingPage(page: page)
        var served = 0
        loop: while served < Self.budget {
            switch shared.look(tx) {
            case .garbage(let producer):
                fault("transmit", producer, tx.requestConsumer)
                return false
            case .idle:
                break loop
            case .waiting(let n):
                served += 1
                let before = tx.responseProducer
                transmitOne(page, staging, waiting: n)
                guard txRing != nil else { return false }
                // Each packet's responses go out at once, as Linux's netback pushes them: a frontend
                // woken by the reply to this packet (dom0's own lwIP answers within transmitOne) finds
                // its transmit pages back instead of waiting for the end of the batch.
                shared.publish(since: before, now: tx.responseProducer, port: port)
            }
        }
        return served == Self.budget
    }

    /// One packet: its slots (a frame split where it crosses a page), the extra-info slots after its
    /// first, each answered; `waiting` requests are on the ring.
    func transmitOne(_ page: UnsafeMutableRawBufferPointer, _ staging: DMAPage, waiting: UInt32) {
        func take() -> NetTxRequest? {
            let slot = tx.takeRequest()
            let at = SharedRingLayout.entriesOffset + Int(slot) * NetifTxLayout.entryBytes
            return entry.withUnsafeMutableBytes { e -> NetTxRequest? in
                dom0_copy_bytes(UInt32(UInt(bitPattern: e.baseAddress)), txRing!.address + UInt32(at), UInt32(NetifTxLayout.requestBytes))
                return NetTxRequest.decode(UnsafeRawBufferPointer(e))
            }
        }
        func respond(_ id: UInt16, _ status: NetifStatus) {
            guard let r = tx.nextResponseSlot() else { return }
            let response = NetTxRequest.response(id: id, status: status)
            let to = SharedRingLayout.entriesOffset + Int(r) * NetifTxLayout.entryBytes
            for i in 0..<NetifTxLayout.responseBytes { page.storeBytes(of: response[i], toByteOffset: to + i, as: UInt8.self) }
        }
        guard let first = take() else { return }
        var left = waiting - 1
        // Extra-info slots follow the first: each gets a NULL response after the packet's.
        var extras = 0
        if first.hasExtraInfo {
            var more = true
            while more && left > 0 {
                let slot = tx.requestConsumer & (tx.size - 1)
                let flags = page.load(fromByteOffset: SharedRingLayout.entriesOffset + Int(slot) * NetifTxLayout.entryBytes + NetExtraInfo.flagsOffset,
                                      as: UInt8.self)
                _ = tx.takeRequest()
                left -= 1
                extras += 1
                more = flags & NetExtraInfo.flagMore != 0
            }
        }
        // The rest of the packet's slots: as many as it chains (a chain longer than allowed is
        // still taken whole, so that the ring stays in step, and refused).
        var slots = [first]
        var chained = first.chained
        while chained && left > 0, let next = take() {
            left -= 1
            slots.append(next)
            chained = next.chained
        }
        var status = NetifStatus.okay
        var length = 0
        switch NetTxRequest.assemble(slots) {
        case .failure(let why):
            refuse(first.id, why.reason)
            status = .error
        case .success(let pieces):
            let own = UInt32(truncatingIfNeeded: staging.machine >> 12)
            let spans = pieces.map { GrantCopySpan(domain: domain, ref: $0.grant, grantOffset: $0.offset, ownFrame: own,
                                                   ownOffset: $0.at, length: $0.length, intoGrant: false) }
            if GrantCopy.run(spans) != nil {
                refuse(first.id, "the frame's grant could not be copied from")
                status = .error
            }
            length = Int(first.size)
        }
        respond(first.id, status)
        for _ in 0..<extras { respond(0, .null) }
        for s in slots.dropFirst() { respond(s.id, status) }
        guard status == .okay else { return }
        let frame = UnsafeMutableRawBufferPointer(start: staging.bytes, count: length)
        // A frontend with checksum offload (Linux) leaves the TCP or UDP checksum to the backend.
        if first.flags & NetTxFlags.checksumBlank != 0 { _ = FrameChecksum.complete(frame) }
        framesOut &+= 1
        bytesOut &+= UInt64(length)
        Bridge.forward(UnsafeRawBufferPointer(frame), from: bridgePort)
    }
}
