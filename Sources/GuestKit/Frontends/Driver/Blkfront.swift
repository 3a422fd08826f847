// Blkfront.swift: a blkif frontend for our own domUs (Xen's io/blkif.h): it grants a ring page and a
// data page to the backend, runs the xenbus handshake (FrontendHandshake), reads the disk's size from
// the backend's nodes, and transfers up to 8 sectors at a time through the data page, blocked on the
// ring's event channel until the response comes, and closes through states 5 and 6, ending its
// grants. Guest images only; slots are written and read by
// FrontendSlots (pure) and indexes kept by FrontRing (pure).

import ApusCore
import PVABI

public struct Blkfront {
    public var handshake: FrontendHandshake
    public private(set) var sectors: UInt64 = 0
    public private(set) var sectorSize: UInt32 = 512
    /// The backend's `mode` is "r" (or its info says read-only).
    public private(set) var readonly = false
    public private(set) var port: UInt32 = 0
    let handle: UInt16
    let ring: UnsafeMutableRawPointer
    let ringRef: UInt32
    /// The page transfers go through, granted to the backend.
    public let data: UnsafeMutableRawPointer
    let dataRef: UInt32
    var indexes = FrontRing(size: 32)!
    var nextID: UInt64 = 1
    /// The backend answered with indexes that cannot be true: the device is no longer used.
    public private(set) var broken = false

    /// Connects device/vbd/`handle` within `ns`; nil when it is not there or the handshake failed.
    public init?(handle: UInt16, within ns: UInt64 = 10_000_000_000) {
        guard DomUGrants.setup() == 0,
              var hs = FrontendHandshake(node: Array("device/vbd/".utf8) + StorePayload.decimal(UInt32(handle))) else { return nil }
        handshake = hs
        self.handle = handle
        let backendID = DomUStore.read(hs.frontendNode("backend-id")).flatMap { StorePayload.decimal($0) } ?? 0
        let (r, ringFrame) = DomUGrants.page()
        let (d, dataFrame) = DomUGrants.page()
        ring = r
        data = d
        // SHARED_RING_INIT: no requests, no responses, an event wanted for the first of each.
        ring.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.requestEventOffset, as: UInt32.self)
        ring.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
        guard let rr = DomUGrants.grant(ringFrame, to: UInt16(backendID), readonly: false),
              let dr = DomUGrants.grant(dataFrame, to: UInt16(backendID), readonly: false) else { return nil }
        ringRef = rr
        dataRef = dr
        let p = GuestEvents.allocUnbound(remote: UInt16(backendID))
        guard p > 0 else { return nil }
        port = UInt32(p)
        let node = hs.frontendNode("ring-ref"), channel = hs.frontendNode("event-channel"), protocolNode = hs.frontendNode("protocol")
        let ref = ringRef, evtchn = port
        guard hs.connect(within: ns, publish: {
            DomUStore.write(node, StorePayload.decimal(ref)) && DomUStore.write(channel, StorePayload.decimal(evtchn))
                && DomUStore.write(protocolNode, Array("x86_32-abi".utf8))
        }) else { return nil }
        handshake = hs
        sectors = Blkfront.number(hs.backendNode("sectors")) ?? 0
        sectorSize = UInt32(truncatingIfNeeded: Blkfront.number(hs.backendNode("sector-size")) ?? 512)
        readonly = DomUStore.read(hs.backendNode("mode")) == [0x72] || (Blkfront.number(hs.backendNode("info")) ?? 0) & 4 != 0
    }

    /// Closes the device (states 5 and 6, the backend following), then ends its two grants and closes
    /// its port: whether all of it happened within `ns` (a grant the backend still maps is kept).
    public mutating func close(within ns: UInt64 = 5_000_000_000) -> Bool {
        guard handshake.close(within: ns) else { return false }
        broken = true
        let ended = DomUGrants.end(ringRef) && DomUGrants.end(dataRef)
        return GuestEvents.close(port) == 0 && ended
    }

    /// A decimal node's value.
    static func number(_ path: [UInt8]) -> UInt64? {
        guard let v = DomUStore.read(path), !v.isEmpty, v.count <= 19 else { return nil }
        var n: UInt64 = 0
        for b in v { guard b >= 0x30, b <= 0x39 else { return nil }; n = n * 10 + UInt64(b - 0x30) }
        return n
    }

    var page: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: ring, count: SharedRingLayout.pageBytes) }

    /// Reads (or writes) `count` sectors (1-8) at `sector` through the data page: the status the
    /// backend answered (BLKIF_RSP_*), or nil when no response came within 2 s or the ring broke.
    public mutating func transfer(_ op: BlkifOperation, sector: UInt64, count: UInt8) -> Int16? {
        guard !broken, count >= 1, count <= BlkifLayout.sectorsPerPage, let slot = indexes.nextRequestSlot() else { return nil }
        let id = nextID
        nextID &+= 1
        guard FrontendSlots.writeBlock(op: op, handle: handle, id: id, sector: sector,
                                       segments: [.init(grant: dataRef, first: 0, last: count - 1)], slot: slot, in: page) else { return nil }
        let old = ring.load(fromByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        guest_compiler_barrier()
        ring.storeBytes(of: indexes.requestProducer, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        guest_compiler_barrier()
        let wanted = ring.load(fromByteOffset: SharedRingLayout.requestEventOffset, as: UInt32.self)
        if FrontRing.notifyNeeded(published: old, now: indexes.requestProducer, requestEvent: wanted) { _ = GuestEvents.send(port) }
        var status: Int16? = nil
        let r = ring
        _ = FrontendClock.wait(atMost: 2_000_000_000) {
            guest_compiler_barrier()
            let producer = r.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self)
            switch indexes.responses(producer: producer) {
            case .failure: broken = true; return true
            case .success(0): return false
            case .success:
                let s = indexes.takeResponse()
                if let rsp = FrontendSlots.readBlockResponse(slot: s, in: page), rsp.id == id { status = rsp.status }
                r.storeBytes(of: indexes.responseEvent, toByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
                return status != nil
            }
        }
        return status
    }
}
