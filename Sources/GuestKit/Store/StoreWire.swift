// StoreWire.swift: XenStore's wire protocol (xen/include/public/io/xs_wire.h): the 16-byte
// xsd_sockmsg header, the message types, the error strings and the payload limits. Layout only:
// it never touches the tree or a connection, and decoding never traps on any bytes.

/// The XS_* message types (xsd_sockmsg_type).
public enum StoreMessageType: UInt32, Equatable, Sendable {
    case debug = 0, directory = 1, read = 2, getPerms = 3, watch = 4, unwatch = 5
    case transactionStart = 6, transactionEnd = 7, introduce = 8, release = 9
    case getDomainPath = 10, write = 11, mkdir = 12, rm = 13, setPerms = 14
    case watchEvent = 15, error = 16, isDomainIntroduced = 17, resume = 18
    case setTarget = 19, resetWatches = 21
}

/// The error names xenstored answers with, sent as "NAME\0" in an XS_ERROR reply.
public enum StoreError: UInt8, Error, Equatable, Sendable {
    case EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO, ENOTEMPTY, ENOSYS
    case EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM, EQUOTA

    /// The name's bytes, without the NUL.
    public var name: [UInt8] {
        switch self {
        case .EINVAL: return Array("EINVAL".utf8)
        case .EACCES: return Array("EACCES".utf8)
        case .EEXIST: return Array("EEXIST".utf8)
        case .EISDIR: return Array("EISDIR".utf8)
        case .ENOENT: return Array("ENOENT".utf8)
        case .ENOMEM: return Array("ENOMEM".utf8)
        case .ENOSPC: return Array("ENOSPC".utf8)
        case .EIO: return Array("EIO".utf8)
        case .ENOTEMPTY: return Array("ENOTEMPTY".utf8)
        case .ENOSYS: return Array("ENOSYS".utf8)
        case .EROFS: return Array("EROFS".utf8)
        case .EBUSY: return Array("EBUSY".utf8)
        case .EAGAIN: return Array("EAGAIN".utf8)
        case .EISCONN: return Array("EISCONN".utf8)
        case .E2BIG: return Array("E2BIG".utf8)
        case .EPERM: return Array("EPERM".utf8)
        case .EQUOTA: return Array("EQUOTA".utf8)
        }
    }
}

/// xsd_sockmsg: type, req_id, tx_id, len; each a little-endian u32.
public struct StoreHeader: Equatable, Sendable {
    public static let size = 16
    /// XENSTORE_PAYLOAD_MAX.
    public static let payloadMax: UInt32 = 4096

    public var type: UInt32
    public var requestID: UInt32
    public var transactionID: UInt32
    public var length: UInt32

    public init(type: UInt32, requestID: UInt32, transactionID: UInt32, length: UInt32) {
        self.type = type
        self.requestID = requestID
        self.transactionID = transactionID
        self.length = length
    }

    /// Reads a header from the first 16 bytes; nil when fewer are given.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= StoreHeader.size else { return nil }
        let b = bytes.startIndex
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[b + at]) | UInt32(bytes[b + at + 1]) << 8
                | UInt32(bytes[b + at + 2]) << 16 | UInt32(bytes[b + at + 3]) << 24
        }
        self.init(type: u32(0), requestID: u32(4), transactionID: u32(8), length: u32(12))
    }

    /// The 16 bytes of the header.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(StoreHeader.size)
        for v in [type, requestID, transactionID, length] {
            out.append(UInt8(truncatingIfNeeded: v))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 24))
        }
        return out
    }
}

/// One whole message: a header's fields and its payload.
public struct StoreMessage: Equatable, Sendable {
    public var type: UInt32
    public var requestID: UInt32
    public var transactionID: UInt32
    public var payload: [UInt8]

    public init(type: UInt32, requestID: UInt32 = 0, transactionID: UInt32 = 0, payload: [UInt8]) {
        self.type = type
        self.requestID = requestID
        self.transactionID = transactionID
        self.payload = payload
    }

    public init(_ type: StoreMessageType, requestID: UInt32 = 0, transactionID: UInt32 = 0, payload: [UInt8]) {
        self.init(type: type.rawValue, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    public var kind: StoreMessageType? { StoreMessageType(rawValue: type) }

    /// Header then payload, as they travel on a ring.
    public var encoded: [UInt8] {
        let h = StoreHeader(type: type, requestID: requestID, transactionID: transactionID,
                            length: UInt32(truncatingIfNeeded: payload.count))
        return h.bytes + payload
    }

    /// An XS_ERROR reply to `request` carrying `error`.
    public static func error(_ error: StoreError, replyingTo request: StoreHeader) -> StoreMessage {
        StoreMessage(.error, requestID: request.requestID, transactionID: request.transactionID,
                     payload: error.name + [0])
    }
}

/// Splitting payloads into their NUL-terminated strings, and decimal numbers, without trapping.
public enum StorePayload {
    /// The NUL-terminated strings of `payload`; bytes after the last NUL come back as `rest`.
    public static func split(_ payload: [UInt8]) -> (strings: [[UInt8]], rest: [UInt8]) {
        var strings: [[UInt8]] = []
        var start = 0
        for i in 0..<payload.count where payload[i] == 0 {
            strings.append(Array(payload[start..<i]))
            start = i + 1
        }
        return (strings, Array(payload[start..<payload.count]))
    }

    /// A decimal number of 1 to 10 digits with no sign, or nil.
    public static func decimal(_ bytes: [UInt8]) -> UInt32? {
        guard !bytes.isEmpty, bytes.count <= 10 else { return nil }
        var v: UInt64 = 0
        for b in bytes {
            guard b >= 0x30, b <= 0x39 else { return nil }
            v = v * 10 + UInt64(b - 0x30)
        }
        return v <= UInt64(UInt32.max) ? UInt32(v) : nil
    }

    /// How many digits `value`'s decimal spelling has.
    public static func digitCount(_ value: UInt32) -> Int {
        var n = 1, v = value
        while v >= 10 { n += 1; v /= 10 }
        return n
    }

    /// The decimal spelling of `value`.
    public static func decimal(_ value: UInt32) -> [UInt8] {
        var digits = [UInt8](repeating: 0x30, count: digitCount(value))
        var v = value
        var i = digits.count
        while v > 0 {
            i -= 1
            digits[i] = UInt8(v % 10) + 0x30
            v /= 10
        }
        return digits
    }
}
