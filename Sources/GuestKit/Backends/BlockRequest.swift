// BlockRequest.swift: one blkif request as blkback must take it: decoded from the 108 bytes copied out
// of the ring (never read twice from the shared page), then checked against the disk it addresses:
// a known operation, 1 to 11 segments each within its page, sectors inside the disk without
// wrapping, no write to a read-only disk. A refused request still gets a response with its id.

import PVABI

/// One segment: a granted page and the 512-byte sectors of it used (first...last, 0 to 7).
public struct BlockSegment: Equatable, Sendable {
    public let grant: UInt32
    public let first: UInt8
    public let last: UInt8
    public var sectors: UInt64 { UInt64(last - first) + 1 }
}

/// The disk a backend serves: its size in 512-byte sectors and what it allows.
public struct BlockDisk: Equatable, Sendable {
    public let sectors: UInt64
    public let writable: Bool
    public let flushes: Bool
    public init(sectors: UInt64, writable: Bool, flushes: Bool) {
        self.sectors = sectors
        self.writable = writable
        self.flushes = flushes
    }
}

public enum BlockRefusal: Error, Equatable, Sendable {
    case unknownOperation
    case notSupported
    case segmentCount
    case segment(Int)
    case beyondDisk
    case readOnly

    /// The status the frontend gets.
    public var status: BlkifStatus { self == .notSupported || self == .unknownOperation ? .notSupported : .error }

    public var reason: StaticString {
        switch self {
        case .unknownOperation: return "an operation blkif does not define"
        case .notSupported: return "an operation this backend does not offer (barrier, discard, indirect, or flush without a cache)"
        case .segmentCount: return "a read or write needs 1 to 11 segments, a flush none"
        case .segment: return "a segment's sectors are not inside its page (first <= last <= 7)"
        case .beyondDisk: return "the sectors lie past the end of the disk"
        case .readOnly: return "a write to a read-only disk"
        }
    }
}

public struct BlockRequest: Equatable, Sendable {
    public let operation: BlkifOperation
    public let id: UInt64
    public let sector: UInt64
    public let segments: [BlockSegment]
    /// Sectors the request covers, from `sector` on.
    public var sectorCount: UInt64 { segments.reduce(0) { $0 + $1.sectors } }

    /// The id and raw operation of a copied request (a response needs them even when it is refused).
    public static func header(_ entry: UnsafeRawBufferPointer) -> (id: UInt64, operation: UInt8) {
        (entry.loadUnaligned(fromByteOffset: BlkifLayout.idOffset, as: UInt64.self).littleEndian,
         entry[BlkifLayout.operationOffset])
    }

    /// Decodes and checks `entry` (at least BlkifLayout.requestBytes copied from the ring) for `disk`.
    public static func decode(_ entry: UnsafeRawBufferPointer, disk: BlockDisk) -> Result<BlockRequest, BlockRefusal> {
        guard entry.count >= BlkifLayout.requestBytes else { return .failure(.segmentCount) }
        guard let operation = BlkifOperation(rawValue: entry[BlkifLayout.operationOffset]) else { return .failure(.unknownOperation) }
        let id = header(entry).id
        let sector = entry.loadUnaligned(fromByteOffset: BlkifLayout.sectorOffset, as: UInt64.self).littleEndian
        switch operation {
        case .writeBarrier, .discard, .indirect:
            return .failure(.notSupported)
        case .flushDiskCache:
            guard disk.flushes else { return .failure(.notSupported) }
            // A flush carries no data (a frontend that wants both sends a write, then a flush).
            guard entry[BlkifLayout.segmentCountOffset] == 0 else { return .failure(.segmentCount) }
            return .success(BlockRequest(operation: operation, id: id, sector: 0, segments: []))
        case .read, .write:
            break
        }
        if operation == .write && !disk.writable { return .failure(.readOnly) }
        let count = Int(entry[BlkifLayout.segmentCountOffset])
        guard count >= 1, count <= BlkifLayout.maxSegments else { return .failure(.segmentCount) }
        var segments: [BlockSegment] = []
        var total: UInt64 = 0
        for i in 0..<count {
            let at = BlkifLayout.segmentsOffset + i * BlkifLayout.segmentBytes
            let s = BlockSegment(grant: entry.loadUnaligned(fromByteOffset: at + BlkifLayout.segmentGrantOffset, as: UInt32.self).littleEndian,
                                 first: entry[at + BlkifLayout.segmentFirstOffset], last: entry[at + BlkifLayout.segmentLastOffset])
            guard s.first <= s.last, s.last < BlkifLayout.sectorsPerPage else { return .failure(.segment(i)) }
            segments.append(s)
            total += s.sectors
        }
        guard sector <= disk.sectors, total <= disk.sectors - sector else { return .failure(.beyondDisk) }
        return .success(BlockRequest(operation: operation, id: id, sector: sector, segments: segments))
    }

    /// The 12-byte response for request `id`.
    public static func response(id: UInt64, operation: UInt8, status: BlkifStatus) -> InlineArray<12, UInt8> {
        var r = InlineArray<12, UInt8>(repeating: 0)
        for i in 0..<8 { r[BlkifLayout.responseIDOffset + i] = UInt8(truncatingIfNeeded: id >> (8 * UInt64(i))) }
        r[BlkifLayout.responseOperationOffset] = operation
        let s = UInt16(bitPattern: status.rawValue)
        r[BlkifLayout.responseStatusOffset] = UInt8(truncatingIfNeeded: s)
        r[BlkifLayout.responseStatusOffset + 1] = UInt8(truncatingIfNeeded: s >> 8)
        return r
    }
}
