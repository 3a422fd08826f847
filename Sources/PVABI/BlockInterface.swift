// The block device protocol between a frontend and its backend (Xen's blkif, xen/include/public/io/
// blkif.h and io/ring.h) on x86_32: the shared ring page's header, a request and a response, the
// operations and statuses. Numbers and layouts only: it must never decide what a request may do.

/// A shared ring page (io/ring.h): the indexes in the first 64 bytes, then the entries.
public enum SharedRingLayout {
    public static let requestProducerOffset = 0
    public static let requestEventOffset = 4
    public static let responseProducerOffset = 8
    public static let responseEventOffset = 12
    /// Where the entries start.
    public static let entriesOffset = 64
    public static let pageBytes = 4096

    /// Entries in a one-page ring whose entries are `entryBytes` long: the largest power of two that
    /// fits after the header (__CONST_RING_SIZE).
    public static func entries(entryBytes: Int) -> Int {
        let fit = (pageBytes - entriesOffset) / entryBytes
        var n = 1
        while n * 2 <= fit { n *= 2 }
        return n
    }
}

/// struct blkif_request on x86_32 (108 bytes: the u64 fields are only 4-byte aligned) and struct
/// blkif_response (12 bytes); a ring entry holds either, so it is 108 bytes (32 entries a page).
public enum BlkifLayout {
    public static let operationOffset = 0
    public static let segmentCountOffset = 1
    public static let handleOffset = 2
    public static let idOffset = 4
    public static let sectorOffset = 12
    public static let segmentsOffset = 20
    /// Each segment: grant reference u32, first and last 512-byte sector of the page used (u8 each).
    public static let segmentBytes = 8
    public static let segmentGrantOffset = 0
    public static let segmentFirstOffset = 4
    public static let segmentLastOffset = 5
    public static let maxSegments = 11
    public static let requestBytes = 108

    public static let responseIDOffset = 0
    public static let responseOperationOffset = 8
    public static let responseStatusOffset = 10
    public static let responseBytes = 12

    /// Ring entries: the larger of the two.
    public static let entryBytes = 108
    /// Sectors are 512 bytes whatever the disk's sector size; eight fit a page.
    public static let sectorsPerPage: UInt8 = 8
}

/// BLKIF_OP_*.
public enum BlkifOperation: UInt8, Sendable {
    case read = 0
    case write = 1
    case writeBarrier = 2
    case flushDiskCache = 3
    case discard = 5
    case indirect = 6
}

/// BLKIF_RSP_*.
public enum BlkifStatus: Int16, Sendable {
    case okay = 0
    case error = -1
    case notSupported = -2
}

/// XenbusState: the handshake both ends write to their `state` node.
public enum XenbusState: UInt8, Sendable {
    case unknown = 0
    case initialising = 1
    case initWait = 2
    case initialised = 3
    case connected = 4
    case closing = 5
    case closed = 6
    case reconfiguring = 7
    case reconfigured = 8
}
