// NetTxRequest.swift: one netif transmit request as netback must take it: decoded from the 12 bytes
// copied out of the ring (never read twice from the shared page) and checked: one slot per packet
// (this backend offers no scatter-gather), a frame between an Ethernet header and 1518 bytes that
// lies inside its granted page. A refused packet still gets a response with its id.

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

    /// Why this packet cannot be sent as it is; nil when it can.
    public var refusal: NetTxRefusal? {
        if chained { return .chained }
        if Int(size) < NetifLimits.minFrame { return .tooSmall }
        if Int(size) > NetifLimits.maxFrame { return .tooLarge }
        if Int(offset) + Int(size) > 4096 { return .pastPage }
        return nil
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

public enum NetTxRefusal: Error, Equatable, Sendable {
    case chained, tooSmall, tooLarge, pastPage

    public var reason: StaticString {
        switch self {
        case .chained: return "a packet in several slots (scatter-gather is not offered)"
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
