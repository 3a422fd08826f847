// NetTxRequest.swift: netif transmit requests as netback must take them: each decoded from the 12 bytes
// copied out of the ring (never read twice from the shared page), and a packet's slots (a frontend
// may split a frame that crosses a page into several, even without scatter-gather, as Linux's
// netfront does) checked together: at most 18 slots, a frame between an Ethernet header and 1518
// bytes, fragments that add up, every piece inside its granted page. Each slot of a refused packet
// still gets a response with its id.

import PVABI

public struct NetTxRequest: Equatable, Sendable {
    public let grant: UInt32
    public let offset: UInt16
    public let flags: UInt16
    public let id: UInt16
    public let size: UInt16

    public init(grant: UInt32, offset: UInt16, flags: UInt16, id: UInt16, size: UInt16) {
        self.grant = grant
        self.offset = offset
        self.flags = flags
        self.id = id
        self.size = size
    }

    /// The request in `entry` (at least NetifTxLayout.requestBytes copied from the ring).
    public static func decode(_ entry: UnsafeRawBufferPointer) -> NetTxRequest? {
        guard entry.count >= NetifTxLayout.requestBytes else { return nil }
        return NetTxRequest(grant: entry.loadUnaligned(fromByteOffset: NetifTxLayout.grantOffset, as: UInt32.self).littleEndian,
                            offset: entry.loadUnaligned(fromByteOffset: NetifTxLayout.offsetOffset, as: UInt16.self).littleEndian,
                            flags: entry.loadUnaligned(fromByteOffset: NetifTxLayout.flagsOffset, as: UInt16.self).littleEndian,
                            id: entry.loadUnaligned(fromByteOffset: NetifTxLayout.idOffset, as: UInt16.self).littleEndian,
                            size: entry.loadUnaligned(fromByteOffset: NetifTxLayout.sizeOffset, as: UInt16.self).littleEndian)
    }

    public var chained: Bool { flags & NetTxFlags.moreData != 0 }
    public var hasExtraInfo: Bool { flags & NetTxFlags.extraInfo != 0 }

    /// The largest number of slots one packet may take (Linux netback's XEN_NETBK_LEGACY_SLOTS_MAX).
    public static let maxSlots = 18

    /// The pieces of the packet in `slots` (the first slot's size is the whole frame's, each later
    /// slot's its own fragment's), or why it cannot be sent.
    public static func assemble(_ slots: [NetTxRequest]) -> Result<[NetTxPiece], NetTxRefusal> {
        guard let first = slots.first else { return .failure(.tooSmall) }
        guard slots.count <= maxSlots else { return .failure(.tooManySlots) }
        // The last slot ends the packet: a chain still open is one the frontend never finished.
        guard let last = slots.last, !last.chained else { return .failure(.fragments) }
        let total = Int(first.size)
        if total < NetifLimits.minFrame { return .failure(.tooSmall) }
        if total > NetifLimits.maxFrame { return .failure(.tooLarge) }
        var rest = 0
        for s in slots.dropFirst() {
            guard s.size > 0 else { return .failure(.fragments) }
            rest += Int(s.size)
        }
        guard rest < total else { return .failure(.fragments) }
        var pieces: [NetTxPiece] = []
        var at = 0
        for (i, s) in slots.enumerated() {
            let length = i == 0 ? total - rest : Int(s.size)
            guard Int(s.offset) + length <= 4096 else { return .failure(.pastPage) }
            pieces.append(NetTxPiece(grant: s.grant, offset: s.offset, length: UInt16(length), at: UInt16(at)))
            at += length
        }
        return .success(pieces)
    }

    /// The 4-byte response for request `id`.
    public static func response(id: UInt16, status: NetifStatus) -> InlineArray<4, UInt8> {
        var r = InlineArray<4, UInt8>(repeating: 0)
        r[NetifTxLayout.responseIDOffset] = UInt8(truncatingIfNeeded: id)
        r[NetifTxLayout.responseIDOffset + 1] = UInt8(truncatingIfNeeded: id >> 8)
        let s = UInt16(bitPattern: status.rawValue)
        r[NetifTxLayout.responseStatusOffset] = UInt8(truncatingIfNeeded: s)
        r[NetifTxLayout.responseStatusOffset + 1] = UInt8(truncatingIfNeeded: s >> 8)
        return r
    }
}

/// One piece of a packet: `length` bytes at `offset` of grant `grant`, going to byte `at` of the frame.
public struct NetTxPiece: Equatable, Sendable {
    public let grant: UInt32
    public let offset: UInt16
    public let length: UInt16
    public let at: UInt16
}

public enum NetTxRefusal: Error, Equatable, Sendable {
    case tooManySlots, fragments, tooSmall, tooLarge, pastPage

    public var reason: StaticString {
        switch self {
        case .tooManySlots: return "a packet in more than 18 slots"
        case .fragments: return "its fragments do not add up to the frame's size, or its chain is not finished"
        case .tooSmall: return "a frame shorter than an Ethernet header"
        case .tooLarge: return "a frame longer than 1518 bytes"
        case .pastPage: return "the frame runs past the end of its granted page"
        }
    }
}

/// The 8-byte netif_rx_response for request `id`: `status` is the length delivered, or a NETIF_RSP_ error.
public enum NetRxResponse {
    public static func make(id: UInt16, offset: UInt16, flags: UInt16, status: Int16) -> InlineArray<8, UInt8> {
        var r = InlineArray<8, UInt8>(repeating: 0)
        for (at, v) in [(NetifRxLayout.responseIDOffset, id), (NetifRxLayout.responseOffsetOffset, offset),
                        (NetifRxLayout.responseFlagsOffset, flags), (NetifRxLayout.responseStatusOffset, UInt16(bitPattern: status))] {
            r[at] = UInt8(truncatingIfNeeded: v)
            r[at + 1] = UInt8(truncatingIfNeeded: v >> 8)
        }
        return r
    }
}
