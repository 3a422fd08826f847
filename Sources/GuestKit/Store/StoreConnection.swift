// StoreConnection.swift: what xenstored keeps per domain: its ring's frame and port, the bytes
// received but not yet a whole message, the bytes queued for its reply ring, its watches and its
// open transactions. Bookkeeping only: the daemon (XenStore.swift) decides what goes in.

/// Limits per domain; going past one answers EQUOTA (or, for the output backlog, ends the connection).
public struct StoreLimits: Equatable, Sendable {
    public var nodesPerDomain = 1000
    public var entrySize = 2048
    public var watchesPerDomain = 128
    public var transactionsPerDomain = 10
    /// Reply and event bytes a domain may leave undrained before its connection is ended.
    public var outputBacklog = 65536
    /// The whole tree's footprint (StoreTree.bytes); growth past it answers ENOSPC, for everyone
    /// but dom0. Size it to dom0's heap, with room for transaction copies and output queues.
    public var treeBytes = 1 << 20
    public init() {}
}

/// Why a connection was ended.
public enum StoreCloseReason: UInt8, Equatable, Sendable {
    /// A header announced a payload past XENSTORE_PAYLOAD_MAX: the stream cannot be resynchronised.
    case oversizedMessage
    /// The domain left more than `outputBacklog` bytes of replies and events undrained.
    case backlogOverflow
}

public enum StoreConnectionState: Equatable, Sendable {
    case open
    case closed(StoreCloseReason)
}

/// A registered watch: the path as the domain gave it (events echo that form), and its token.
struct StoreWatch: Equatable {
    var given: [UInt8]
    /// The absolute path, or the special name ("@introduceDomain", "@releaseDomain").
    var absolute: [UInt8]
    var token: [UInt8]
}

/// An open transaction: the tree as it was at start, the transaction's own copy, and every path
/// it read or changed (conflicts are looked for there only).
struct StoreTransaction {
    var id: UInt32
    var base: StoreTree
    var work: StoreTree
    var touched: [[UInt8]] = []
}

struct StoreConnection {
    var domain: UInt16
    var ringFrame: UInt64
    var port: UInt32
    var state: StoreConnectionState = .open
    var input: [UInt8] = []
    var output: [UInt8] = []
    var sent = 0
    var watches: [StoreWatch] = []
    var transactions: [StoreTransaction] = []
    var nextTransactionID: UInt32 = 1

    init(domain: UInt16, ringFrame: UInt64, port: UInt32) {
        self.domain = domain
        self.ringFrame = ringFrame
        self.port = port
    }

    var backlog: Int { output.count - sent }

    func transactionIndex(_ id: UInt32) -> Int? {
        for i in 0..<transactions.count where transactions[i].id == id { return i }
        return nil
    }

    mutating func close(_ reason: StoreCloseReason) {
        state = .closed(reason)
        input = []
        watches = []
        transactions = []
    }
}
