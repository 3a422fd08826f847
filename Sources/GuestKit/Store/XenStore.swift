// XenStore.swift: the daemon core of xenstored: bytes from a domain's request ring in, replies and
// watch events queued per domain out. Dom0 moves the bytes between rings and this core; the core
// never touches memory, rings or event channels itself, and no input from a guest may trap it,
// stall it, or reach another domain's connection except through watches it is allowed to see.

/// One watch event or reply waiting to be queued after the reply that caused it.
struct StorePendingEvent {
    var domain: UInt16
    var message: StoreMessage
}

/// A change the tree went through, for firing watches.
struct StoreChange {
    var path: [UInt8]
    var removed: Bool
    /// The node's access list (before removal, for a removed node).
    var permissions: StorePermissions
}

public struct XenStore {
    public internal(set) var tree = StoreTree()
    public let limits: StoreLimits
    /// dom0's connection is always first and is never released.
    var connections: [StoreConnection]
    var pending: [StorePendingEvent] = []

    public init(limits: StoreLimits = StoreLimits()) {
        self.limits = limits
        connections = [StoreConnection(domain: 0, ringFrame: 0, port: 0)]
    }

    // MARK: The seam dom0 uses

    /// Takes bytes read from `domain`'s request ring; whole messages are answered at once and their
    /// replies queued. Answers the connection's state, or nil for a domain never introduced.
    @discardableResult
    public mutating func receive(from domain: UInt16, _ bytes: [UInt8]) -> StoreConnectionState? {
        guard let c = connectionIndex(domain) else { return nil }
        guard connections[c].state == .open else { return connections[c].state }
        connections[c].input += bytes
        while connections[c].state == .open {
            let input = connections[c].input
            guard let header = StoreHeader(input[0..<input.count]) else { break }
            guard header.length <= StoreHeader.payloadMax else {
                connections[c].close(.oversizedMessage)
                break
            }
            let total = StoreHeader.size + Int(header.length)
            guard input.count >= total else { break }
            let payload = Array(input[StoreHeader.size..<total])
            connections[c].input.removeFirst(total)
            let reply = dispatch(c, header, payload)
            enqueue(reply, to: domain)
            flushPending()
        }
        return connections[c].state
    }

    /// Answers one whole request at once (dom0's in-process toolstack, and tests); watch events
    /// it causes are queued as for any request.
    public mutating func call(from domain: UInt16, _ request: StoreMessage) -> StoreMessage {
        let header = StoreHeader(type: request.type, requestID: request.requestID,
                                 transactionID: request.transactionID,
                                 length: UInt32(truncatingIfNeeded: request.payload.count))
        guard let c = connectionIndex(domain), connections[c].state == .open else {
            return .error(.EINVAL, replyingTo: header)
        }
        let reply = request.payload.count > Int(StoreHeader.payloadMax)
            ? StoreMessage.error(.E2BIG, replyingTo: header) : dispatch(c, header, request.payload)
        flushPending()
        return reply
    }

    /// The bytes queued for `domain`'s reply ring and not yet marked sent.
    public func unsent(for domain: UInt16) -> ArraySlice<UInt8> {
        guard let c = connectionIndex(domain) else { return [] }
        let conn = connections[c]
        return conn.output[conn.sent..<conn.output.count]
    }

    /// Records that dom0 copied `count` of those bytes into the ring.
    public mutating func markSent(_ count: Int, for domain: UInt16) {
        guard let c = connectionIndex(domain), count > 0 else { return }
        connections[c].sent = min(connections[c].output.count, connections[c].sent + count)
        if connections[c].sent == connections[c].output.count {
            connections[c].output = []
            connections[c].sent = 0
        }
    }

    /// The state of `domain`'s connection; nil when it was never introduced or was released.
    public func state(of domain: UInt16) -> StoreConnectionState? {
        connectionIndex(domain).map { connections[$0].state }
    }

    /// The store frame and event channel INTRODUCE gave for `domain`.
    public func ring(of domain: UInt16) -> (frame: UInt64, port: UInt32)? {
        connectionIndex(domain).map { (connections[$0].ringFrame, connections[$0].port) }
    }

    /// Every introduced domain (dom0 included), in introduction order.
    public var domains: [UInt16] { connections.map { $0.domain } }

    /// Watches registered by `domain`.
    public func watchCount(of domain: UInt16) -> Int {
        connectionIndex(domain).map { connections[$0].watches.count } ?? 0
    }

    func connectionIndex(_ domain: UInt16) -> Int? {
        for i in 0..<connections.count where connections[i].domain == domain { return i }
        return nil
    }

    mutating func enqueue(_ message: StoreMessage, to domain: UInt16) {
        guard let c = connectionIndex(domain), connections[c].state == .open else { return }
        connections[c].output += message.encoded
        if connections[c].backlog > limits.outputBacklog {
            connections[c].close(.backlogOverflow)
        }
    }

    mutating func flushPending() {
        let events = pending
        pending = []
        for e in events { enqueue(e.message, to: e.domain) }
    }

    // MARK: Dispatch

    static let ok: [UInt8] = [0x4F, 0x4B, 0]

    func reply(_ header: StoreHeader, _ payload: [UInt8]) -> StoreMessage {
        StoreMessage(type: header.type, requestID: header.requestID, transactionID: header.transactionID,
                     payload: payload)
    }

    /// Decodes and answers one message; never traps. Errors come back as XS_ERROR replies.
    mutating func dispatch(_ c: Int, _ header: StoreHeader, _ payload: [UInt8]) -> StoreMessage {
        let answer: Result<[UInt8], StoreError>
        if let type = StoreMessageType(rawValue: header.type) {
            answer = perform(type, c, header, payload)
        } else {
            answer = .failure(.EINVAL)
        }
        switch answer {
        case .success(let bytes): return reply(header, bytes)
        case .failure(let error): return .error(error, replyingTo: header)
        }
    }

    mutating func perform(_ type: StoreMessageType, _ c: Int, _ header: StoreHeader,
                          _ payload: [UInt8]) -> Result<[UInt8], StoreError> {
        let (strings, rest) = StorePayload.split(payload)
        let domain = connections[c].domain
        switch type {
        case .directory, .read, .getPerms, .write, .mkdir, .rm, .setPerms:
            return treeOperation(type, c, header.transactionID, strings, rest, payload)
        case .watch:
            guard strings.count == 2, rest.isEmpty else { return .failure(.EINVAL) }
            return watch(c, path: strings[0], token: strings[1])
        case .unwatch:
            guard strings.count == 2, rest.isEmpty else { return .failure(.EINVAL) }
            return unwatch(c, path: strings[0], token: strings[1])
        case .transactionStart:
            return startTransaction(c)
        case .transactionEnd:
            guard strings.count == 1, rest.isEmpty, strings[0] == [0x54] || strings[0] == [0x46] else {
                return .failure(.EINVAL)
            }
            return endTransaction(c, header.transactionID, commit: strings[0] == [0x54])
        case .introduce:
            guard StorePermissions.isPrivileged(domain) else { return .failure(.EACCES) }
            guard strings.count == 3, rest.isEmpty, let id = domainID(strings[0]), id != 0,
                  let frame = StorePayload.decimal(strings[1]), let port = StorePayload.decimal(strings[2])
            else { return .failure(.EINVAL) }
            return introduce(id, frame: UInt64(frame), port: port)
        case .release:
            guard StorePermissions.isPrivileged(domain) else { return .failure(.EACCES) }
            guard strings.count == 1, rest.isEmpty, let id = domainID(strings[0]) else { return .failure(.EINVAL) }
            return release(id)
        case .isDomainIntroduced:
            guard strings.count == 1, rest.isEmpty, let id = domainID(strings[0]) else { return .failure(.EINVAL) }
            return .success([connectionIndex(id) == nil ? 0x46 : 0x54, 0])
        case .getDomainPath:
            guard strings.count == 1, rest.isEmpty, let id = domainID(strings[0]) else { return .failure(.EINVAL) }
            return .success(StorePath.domainPath(id) + [0])
        case .resetWatches:
            connections[c].watches = []
            connections[c].transactions = []
            return .success(XenStore.ok)
        case .resume:
            guard StorePermissions.isPrivileged(domain) else { return .failure(.EACCES) }
            guard strings.count == 1, rest.isEmpty, let id = domainID(strings[0]) else { return .failure(.EINVAL) }
            return connectionIndex(id) == nil ? .failure(.ENOENT) : .success(XenStore.ok)
        case .debug, .setTarget:
            // Both are privileged in xenstored (XS_CONTROL, SET_TARGET): a guest gets EACCES.
            return .failure(StorePermissions.isPrivileged(domain) ? .ENOSYS : .EACCES)
        case .watchEvent, .error:
            return .failure(.EINVAL)
        }
    }

    func domainID(_ bytes: [UInt8]) -> UInt16? {
        guard let v = StorePayload.decimal(bytes), v < 0x7FF0 else { return nil }
        return UInt16(v)
    }
}
