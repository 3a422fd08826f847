// Netfront.swift: a netif frontend for our own domUs (Xen's io/netif.h, rx-copy): a tx and an rx ring
// page and a set of buffer pages granted to the backend, the xenbus handshake (FrontendHandshake),
// receive buffers posted ahead, frames sent by copying them into a free transmit page, and `service`,
// which a domU's loop calls after an event wakes it: received frames handed up, buffers posted again,
// transmit pages taken back. Guest images only; slots through FrontendSlots, indexes through FrontRing.

import ApusCore
import PVABI

public final class Netfront {
    public private(set) var handshake: FrontendHandshake
    public let mac: InlineArray<6, UInt8>
    public let port: UInt32
    let txRing: UnsafeMutableRawPointer
    let rxRing: UnsafeMutableRawPointer
    var tx = FrontRing(size: 256)!
    var rx = FrontRing(size: 256)!
    /// Receive buffers (id = index) and transmit pages (id = index), each granted once for good.
    var rxPages: [(page: UnsafeMutableRawPointer, ref: UInt32)] = []
    var txPages: [(page: UnsafeMutableRawPointer, ref: UInt32)] = []
    var txFree: [UInt16] = []
    public private(set) var framesIn: UInt32 = 0
    public private(set) var framesOut: UInt32 = 0
    /// Frames the backend answered with an error, or that could not be sent for want of a page.
    public private(set) var errors: UInt32 = 0
    /// The backend answered with indexes that cannot be true: the device is no longer used.
    public private(set) var broken = false

    public static let receiveBuffers = 16
    public static let transmitPages = 8

    init(handshake: FrontendHandshake, mac: InlineArray<6, UInt8>, port: UInt32, txRing: UnsafeMutableRawPointer, rxRing: UnsafeMutableRawPointer) {
        self.handshake = handshake
        self.mac = mac
        self.port = port
        self.txRing = txRing
        self.rxRing = rxRing
    }

    /// Connects device/vif/`handle` within `ns`: rings, buffers, handshake; nil when it failed.
    public static func connect(handle: UInt16, within ns: UInt64 = 10_000_000_000) -> Netfront? {
        guard DomUGrants.setup() == 0,
              var hs = FrontendHandshake(node: Array("device/vif/".utf8) + StorePayload.decimal(UInt32(handle))),
              let bytes = DomUStore.read(hs.frontendNode("mac")).flatMap({ VifSpec.parseMAC($0) }), bytes.count == 6 else { return nil }
        var mac = InlineArray<6, UInt8>(repeating: 0)
        for i in 0..<6 { mac[i] = bytes[i] }
        let backendID = UInt16(truncatingIfNeeded: DomUStore.read(hs.frontendNode("backend-id")).flatMap { StorePayload.decimal($0) } ?? 0)
        let (t, txFrame) = DomUGrants.page()
        let (r, rxFrame) = DomUGrants.page()
        for ring in [t, r] {
            ring.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.requestEventOffset, as: UInt32.self)
            ring.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
        }
        guard let txRef = DomUGrants.grant(txFrame, to: backendID, readonly: false),
              let rxRef = DomUGrants.grant(rxFrame, to: backendID, readonly: false) else { return nil }
        let p = GuestEvents.allocUnbound(remote: backendID)
        guard p > 0 else { return nil }
        let port = UInt32(p)
        let n = Netfront(handshake: hs, mac: mac, port: port, txRing: t, rxRing: r)
        for _ in 0..<receiveBuffers {
            let (page, frame) = DomUGrants.page()
            guard let ref = DomUGrants.grant(frame, to: backendID, readonly: false) else { return nil }
            n.rxPages.append((page, ref))
        }
        for i in 0..<transmitPages {
            let (page, frame) = DomUGrants.page()
            guard let ref = DomUGrants.grant(frame, to: backendID, readonly: true) else { return nil }
            n.txPages.append((page, ref))
            n.txFree.append(UInt16(i))
        }
        // Receive buffers go up before the backend connects, as Linux's netfront posts them.
        for id in 0..<receiveBuffers { n.post(UInt16(id)) }
        n.publish(rx: true, old: 0)
        let nodes = (hs.frontendNode("tx-ring-ref"), hs.frontendNode("rx-ring-ref"), hs.frontendNode("event-channel"),
                     hs.frontendNode("request-rx-copy"))
        guard hs.connect(within: ns, publish: {
            DomUStore.write(nodes.0, StorePayload.decimal(txRef)) && DomUStore.write(nodes.1, StorePayload.decimal(rxRef))
                && DomUStore.write(nodes.2, StorePayload.decimal(port)) && DomUStore.write(nodes.3, [0x31])
        }) else { return nil }
        n.handshake = hs
        return n
    }

    static func whole(_ p: UnsafeMutableRawPointer) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: p, count: SharedRingLayout.pageBytes)
    }

    /// Writes an rx request for buffer `id` (not yet published).
    func post(_ id: UInt16) {
        guard let slot = rx.nextRequestSlot() else { return }
        _ = FrontendSlots.writeRx(id: id, grant: rxPages[Int(id)].ref, slot: slot, in: Netfront.whole(rxRing))
    }

    /// Publishes the requests written on one ring and notifies the backend if it asked.
    func publish(rx isRx: Bool, old: UInt32) {
        let ring = isRx ? rxRing : txRing
        let produced = isRx ? rx.requestProducer : tx.requestProducer
        guest_compiler_barrier()
        ring.storeBytes(of: produced, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        guest_compiler_barrier()
        let wanted = ring.load(fromByteOffset: SharedRingLayout.requestEventOffset, as: UInt32.self)
        if FrontRing.notifyNeeded(published: old, now: produced, requestEvent: wanted) {
            _ = GuestEvents.send(port)
        }
    }

    /// Sends one Ethernet frame: false when it is not one netif carries or no transmit page is free.
    public func transmit(_ frame: UnsafeRawBufferPointer) -> Bool {
        guard !broken else { return false }
        reclaim()
        guard frame.count >= NetifLimits.minFrame, frame.count <= NetifLimits.maxFrame, let id = txFree.popLast() else {
            errors &+= 1
            return false
        }
        let page = txPages[Int(id)].page
        for i in 0..<frame.count { page.storeBytes(of: frame[i], toByteOffset: i, as: UInt8.self) }
        let old = tx.requestProducer
        guard let slot = tx.nextRequestSlot(),
              FrontendSlots.writeTx(id: id, grant: txPages[Int(id)].ref, offset: 0, size: UInt16(frame.count), slot: slot,
                                    in: Netfront.whole(txRing)) else {
            txFree.append(id)
            errors &+= 1
            return false
        }
        publish(rx: false, old: old)
        framesOut &+= 1
        return true
    }

    /// Takes back the transmit pages the backend is done with.
    func reclaim() {
        guard !broken else { return }
        guest_compiler_barrier()
        let producer = txRing.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self)
        switch tx.responses(producer: producer) {
        case .failure: broken = true
        case .success(let waiting):
            for _ in 0..<waiting {
                let slot = tx.takeResponse()
                guard let (id, status) = FrontendSlots.readTxResponse(slot: slot, in: Netfront.whole(txRing)),
                      Int(id) < txPages.count, !txFree.contains(id) else { continue }
                if status != NetifStatus.okay.rawValue { errors &+= 1 }
                txFree.append(id)
            }
            txRing.storeBytes(of: tx.responseEvent, toByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
        }
    }

    /// Whether the backend answered something not yet taken (a frame or a sent page).
    public var hasWork: Bool {
        guest_compiler_barrier()
        return rxRing.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) != rx.responseConsumer
            || txRing.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) != tx.responseConsumer
    }

    /// Hands each received frame to `deliver`, posts its buffer again, and takes back sent pages.
    public func service(_ deliver: (UnsafeRawBufferPointer) -> Void) {
        guard !broken else { return }
        reclaim()
        let old = rx.requestProducer
        while !broken {
            guest_compiler_barrier()
            let producer = rxRing.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self)
            guard case .success(let waiting) = rx.responses(producer: producer) else { broken = true; break }
            if waiting == 0 {
                // RING_FINAL_CHECK_FOR_RESPONSES: ask for an event for the next one, then look again.
                rxRing.storeBytes(of: rx.responseEvent, toByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
                guest_compiler_barrier()
                if rxRing.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) == rx.responseConsumer { break }
                continue
            }
            for _ in 0..<waiting {
                let slot = rx.takeResponse()
                guard let result = FrontendSlots.readRxResponse(slot: slot, in: Netfront.whole(rxRing)) else { continue }
                switch result {
                case .frame(let id, let offset, let length):
                    guard Int(id) < rxPages.count else { errors &+= 1; continue }
                    framesIn &+= 1
                    deliver(UnsafeRawBufferPointer(start: UnsafeRawPointer(rxPages[Int(id)].page).advanced(by: offset), count: length))
                    post(id)
                case .failed(let id, _), .unsupported(let id, _), .outOfPage(let id):
                    errors &+= 1
                    if Int(id) < rxPages.count { post(id) }
                }
            }
        }
        if rx.requestProducer != old { publish(rx: true, old: old) }
    }
}
