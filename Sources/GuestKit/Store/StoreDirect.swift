// StoreDirect.swift: dom0's own WRITE and SET_PERMS applied straight to the live tree, with the
// checks, generations, watch events and errors a request through `call` would get, but no message
// built and parsed. A path the wire would read differently (one holding a NUL) takes `call`, as
// localWrite and localSetPermissions (here too: the fuzzer builds the store without the toolstack) do.

extension XenStore {
    /// One request as dom0 through `call`: the reply's payload, or its XenStore error.
    mutating func local(_ type: StoreMessageType, _ payload: [UInt8]) -> Result<[UInt8], StoreError> {
        let reply = call(from: 0, StoreMessage(type, payload: payload))
        if reply.kind == .error {
            let name = StorePayload.split(reply.payload).strings.first ?? []
            for raw in 0..<32 {
                if let e = StoreError(rawValue: UInt8(raw)), e.name == name { return .failure(e) }
            }
            return .failure(.EIO)
        }
        return .success(reply.payload)
    }

    public mutating func localWrite(_ path: [UInt8], _ value: [UInt8]) -> Result<Void, StoreError> {
        local(.write, path + [0] + value).map { _ in () }
    }

    public mutating func localSetPermissions(_ path: [UInt8], _ p: StorePermissions) -> Result<Void, StoreError> {
        local(.setPerms, path + [0] + p.encoded).map { _ in () }
    }

    /// WRITE `value` at `path` as dom0, outside any transaction.
    public mutating func privilegedWrite(_ path: [UInt8], _ value: [UInt8]) -> Result<Void, StoreError> {
        var absolute: [UInt8]? = nil
        return privilegedWrite(path, value, resolved: &absolute)
    }

    /// The same, saying which absolute path it wrote (nil when it went through `call`).
    mutating func privilegedWrite(_ path: [UInt8], _ value: [UInt8], resolved: inout [UInt8]?)
        -> Result<Void, StoreError> {
        guard let c = connectionIndex(0), connections[c].state == .open else { return .failure(.EINVAL) }
        guard path.count + 1 + value.count <= Int(StoreHeader.payloadMax) else { return .failure(.E2BIG) }
        guard let absolute = StorePath.resolve(path, for: 0) else {
            return path.contains(0) ? localWrite(path, value) : .failure(.EINVAL)
        }
        resolved = absolute
        var touched: [[UInt8]]? = nil
        var changes: [StoreChange] = []
        let result = XenStore.nodeOperation(.write, limits, 0, absolute, value, [], &tree, &touched, &changes)
        return finish(result, changes)
    }

    /// SET_PERMS of `path` to `permissions` as dom0, outside any transaction.
    public mutating func privilegedSetPermissions(_ path: [UInt8], _ permissions: StorePermissions)
        -> Result<Void, StoreError> {
        // An access the wire cannot spell would be read back as another: let the wire decide.
        var encodedCount = 0
        for e in permissions.entries {
            guard e.access.rawValue <= StoreAccess.both.rawValue else { return localSetPermissions(path, permissions) }
            encodedCount += 2 + StorePayload.digitCount(UInt32(e.domain))
        }
        guard let c = connectionIndex(0), connections[c].state == .open else { return .failure(.EINVAL) }
        guard path.count + 1 + encodedCount <= Int(StoreHeader.payloadMax) else { return .failure(.E2BIG) }
        guard let absolute = StorePath.resolve(path, for: 0) else {
            return path.contains(0) ? localSetPermissions(path, permissions) : .failure(.EINVAL)
        }
        guard let node = tree.node(absolute) else { return .failure(.ENOENT) }
        var changes: [StoreChange] = []
        let result = XenStore.setPermissions(limits, 0, absolute, node, permissions, &tree, &changes)
        return finish(result, changes)
    }

    /// One toolstack setting: WRITE then SET_PERMS of the same path, as the two requests would do
    /// them (two generations, two watch events), with the path checked and found once.
    public mutating func privilegedSetting(_ path: [UInt8], _ value: [UInt8], _ permissions: StorePermissions)
        -> Result<Void, StoreError> {
        var resolved: [UInt8]? = nil
        if case .failure(let e) = privilegedWrite(path, value, resolved: &resolved) { return .failure(e) }
        var encodedCount = 0
        for e in permissions.entries {
            guard e.access.rawValue <= StoreAccess.both.rawValue else { return localSetPermissions(path, permissions) }
            encodedCount += 2 + StorePayload.digitCount(UInt32(e.domain))
        }
        // The write's events may have ended dom0's own connection (an undrained backlog).
        guard let c = connectionIndex(0), connections[c].state == .open else { return .failure(.EINVAL) }
        guard path.count + 1 + encodedCount <= Int(StoreHeader.payloadMax) else { return .failure(.E2BIG) }
        // When the write went straight to the tree, the path resolved and its node exists; dom0
        // passes every permission and space check of SET_PERMS.
        guard let absolute = resolved, let i = tree.index(of: absolute) else {
            return privilegedSetPermissions(path, permissions)
        }
        tree.setPermissions(at: i, permissions)
        fireWatches(StoreChange(path: absolute, removed: false, permissions: permissions))
        flushPending()
        return .success(())
    }

    /// Fires the watches of `changes` and queues their events, as `call` does after a request.
    mutating func finish(_ result: Result<[UInt8], StoreError>, _ changes: [StoreChange]) -> Result<Void, StoreError> {
        for change in changes { fireWatches(change) }
        flushPending()
        return result.map { _ in () }
    }
}
