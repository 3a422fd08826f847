// StoreDirect.swift: dom0's own WRITE and SET_PERMS applied straight to the live tree, with the
// checks, generations, watch events and errors a request through `call` would get, but no message
// built and parsed. A path the wire would read differently (one holding a NUL) takes `call`.

extension XenStore {
    /// WRITE `value` at `path` as dom0, outside any transaction.
    public mutating func privilegedWrite(_ path: [UInt8], _ value: [UInt8]) -> Result<Void, StoreError> {
        guard let c = connectionIndex(0), connections[c].state == .open else { return .failure(.EINVAL) }
        guard path.count + 1 + value.count <= Int(StoreHeader.payloadMax) else { return .failure(.E2BIG) }
        guard let absolute = StorePath.resolve(path, for: 0) else {
            return path.contains(0) ? localWrite(path, value) : .failure(.EINVAL)
        }
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

    /// Fires the watches of `changes` and queues their events, as `call` does after a request.
    mutating func finish(_ result: Result<[UInt8], StoreError>, _ changes: [StoreChange]) -> Result<Void, StoreError> {
        for change in changes { fireWatches(change) }
        flushPending()
        return result.map { _ in () }
    }
}
