// FrontendSlots.swift: what a frontend writes into and reads out of a ring slot of a shared ring page
// (Xen's blkif and netif on x86_32): a blkif request and response, a netif tx and rx request and
// their responses, with the checks a frontend makes on what the backend answered (an rx response
// whose data would run past its page is an error, never a copy past the buffer). Layout from PVABI;
// pure: it reads and writes only the page it is given, at offsets checked against its size.

import PVABI

public enum FrontendSlots {
    /// The byte offset of ring slot `slot` with entries of `entryBytes`, checked against the ring's
    /// size (a power of two entries) and the page.
    static func at(_ slot: UInt32, _ entryBytes: Int, _ bytes: Int, in page: UnsafeMutableRawBufferPointer) -> Int? {
        guard Int(slot) < SharedRingLayout.entries(entryBytes: entryBytes) else { return nil }
        let offset = SharedRingLayout.entriesOffset + Int(slot) * entryBytes
        guard page.count == SharedRingLayout.pageBytes, offset + bytes <= page.count else { return nil }
        return offset
    }

    /// One blkif segment: a grant and the first and last 512-byte sectors of its page (0-7).
    public struct BlockSegment: Equatable, Sendable {
        public var grant: UInt32
        public var first: UInt8
        public var last: UInt8
        public init(grant: UInt32, first: UInt8, last: UInt8) { self.grant = grant; self.first = first; self.last = last }
    }

    /// Writes a blkif request into `slot`; false when it is not one a frontend may send (segments
    /// 1-11 for read and write, 0 for flush; each segment within its page, first <= last).
    public static func writeBlock(op: BlkifOperation, handle: UInt16, id: UInt64, sector: UInt64,
                                  segments: [BlockSegment], slot: UInt32, in page: UnsafeMutableRawBufferPointer) -> Bool {
        switch op {
        case .read, .write: guard (1...BlkifLayout.maxSegments).contains(segments.count) else { return false }
        case .flushDiskCache: guard segments.isEmpty else { return false }
        default: return false
        }
        for s in segments where s.first > s.last || s.last >= BlkifLayout.sectorsPerPage { return false }
        guard let at = at(slot, BlkifLayout.entryBytes, BlkifLayout.requestBytes, in: page) else { return false }
        for i in 0..<BlkifLayout.requestBytes { page[at + i] = 0 }
        let p = page.baseAddress!
        p.storeBytes(of: op.rawValue, toByteOffset: at + BlkifLayout.operationOffset, as: UInt8.self)
        p.storeBytes(of: UInt8(segments.count), toByteOffset: at + BlkifLayout.segmentCountOffset, as: UInt8.self)
        p.storeBytes(of: handle, toByteOffset: at + BlkifLayout.handleOffset, as: UInt16.self)
        p.storeBytes(of: id, toByteOffset: at + BlkifLayout.idOffset, as: UInt64.self)
        p.storeBytes(of: sector, toByteOffset: at + BlkifLayout.sectorOffset, as: UInt64.self)
        for (i, s) in segments.enumerated() {
            let seg = at + BlkifLayout.segmentsOffset + i * BlkifLayout.segmentBytes
            p.storeBytes(of: s.grant, toByteOffset: seg + BlkifLayout.segmentGrantOffset, as: UInt32.self)
            p.storeBytes(of: s.first, toByteOffset: seg + BlkifLayout.segmentFirstOffset, as: UInt8.self)
            p.storeBytes(of: s.last, toByteOffset: seg + BlkifLayout.segmentLastOffset, as: UInt8.self)
        }
        return true
    }

    /// A blkif response in `slot`: its id and status (nil when the slot is off the page).
    public static func readBlockResponse(slot: UInt32, in page: UnsafeMutableRawBufferPointer) -> (id: UInt64, status: Int16)? {
        guard let at = at(slot, BlkifLayout.entryBytes, BlkifLayout.responseBytes, in: page) else { return nil }
        let p = UnsafeRawPointer(page.baseAddress!)
        return (p.loadUnaligned(fromByteOffset: at + BlkifLayout.responseIDOffset, as: UInt64.self),
                p.loadUnaligned(fromByteOffset: at + BlkifLayout.responseStatusOffset, as: Int16.self))
    }

    /// Writes a netif rx request (a buffer page granted to the backend) into `slot`.
    public static func writeRx(id: UInt16, grant: UInt32, slot: UInt32, in page: UnsafeMutableRawBufferPointer) -> Bool {
        guard let at = at(slot, NetifRxLayout.entryBytes, NetifRxLayout.requestBytes, in: page) else { return false }
        let p = page.baseAddress!
        p.storeBytes(of: id, toByteOffset: at + NetifRxLayout.idOffset, as: UInt16.self)
        p.storeBytes(of: UInt16(0), toByteOffset: at + NetifRxLayout.idOffset + 2, as: UInt16.self)
        p.storeBytes(of: grant, toByteOffset: at + NetifRxLayout.grantOffset, as: UInt32.self)
        return true
    }

    /// What a netif rx response says, checked: a frame of `length` bytes at `offset` in buffer `id`.
    public enum RxResult: Equatable, Sendable {
        case frame(id: UInt16, offset: Int, length: Int)
        /// The backend answered an error (or an empty frame): the buffer is free again.
        case failed(id: UInt16, status: Int16)
        /// A frame that needs more slots or extra info (never asked for): dropped, the buffer free again.
        case unsupported(id: UInt16, flags: UInt16)
        /// The frame would run past its page: dropped, the buffer free again.
        case outOfPage(id: UInt16)
    }

    public static func readRxResponse(slot: UInt32, in page: UnsafeMutableRawBufferPointer) -> RxResult? {
        guard let at = at(slot, NetifRxLayout.entryBytes, NetifRxLayout.responseBytes, in: page) else { return nil }
        let p = UnsafeRawPointer(page.baseAddress!)
        let id = p.load(fromByteOffset: at + NetifRxLayout.responseIDOffset, as: UInt16.self)
        let offset = Int(p.load(fromByteOffset: at + NetifRxLayout.responseOffsetOffset, as: UInt16.self))
        let flags = p.load(fromByteOffset: at + NetifRxLayout.responseFlagsOffset, as: UInt16.self)
        let status = p.load(fromByteOffset: at + NetifRxLayout.responseStatusOffset, as: Int16.self)
        guard status > 0 else { return .failed(id: id, status: status) }
        guard flags & (NetRxFlags.moreData | NetRxFlags.extraInfo) == 0 else { return .unsupported(id: id, flags: flags) }
        guard offset + Int(status) <= SharedRingLayout.pageBytes else { return .outOfPage(id: id) }
        return .frame(id: id, offset: offset, length: Int(status))
    }

    /// Writes a netif tx request (a whole frame of `size` bytes at `offset` of a granted page) into
    /// `slot`; false for a frame netif does not carry in one slot or one past the page.
    public static func writeTx(id: UInt16, grant: UInt32, offset: UInt16, size: UInt16, slot: UInt32,
                               in page: UnsafeMutableRawBufferPointer) -> Bool {
        guard Int(size) >= NetifLimits.minFrame, Int(size) <= NetifLimits.maxFrame,
              Int(offset) + Int(size) <= SharedRingLayout.pageBytes,
              let at = at(slot, NetifTxLayout.entryBytes, NetifTxLayout.requestBytes, in: page) else { return false }
        let p = page.baseAddress!
        p.storeBytes(of: grant, toByteOffset: at + NetifTxLayout.grantOffset, as: UInt32.self)
        p.storeBytes(of: offset, toByteOffset: at + NetifTxLayout.offsetOffset, as: UInt16.self)
        p.storeBytes(of: UInt16(0), toByteOffset: at + NetifTxLayout.flagsOffset, as: UInt16.self)
        p.storeBytes(of: id, toByteOffset: at + NetifTxLayout.idOffset, as: UInt16.self)
        p.storeBytes(of: size, toByteOffset: at + NetifTxLayout.sizeOffset, as: UInt16.self)
        return true
    }

    /// A netif tx response in `slot`: its id and status.
    public static func readTxResponse(slot: UInt32, in page: UnsafeMutableRawBufferPointer) -> (id: UInt16, status: Int16)? {
        guard let at = at(slot, NetifTxLayout.entryBytes, NetifTxLayout.responseBytes, in: page) else { return nil }
        let p = UnsafeRawPointer(page.baseAddress!)
        return (p.load(fromByteOffset: at + NetifTxLayout.responseIDOffset, as: UInt16.self),
                p.load(fromByteOffset: at + NetifTxLayout.responseStatusOffset, as: Int16.self))
    }
}
