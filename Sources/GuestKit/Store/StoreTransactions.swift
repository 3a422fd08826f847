// StoreTransactions.swift: TRANSACTION_START/END, INTRODUCE, RELEASE. A transaction works on its
// own copy of the tree; committing answers EAGAIN when any path it read or changed has a different
// generation in the live tree than at its start, else copies exactly those paths over and fires.

extension XenStore {
    mutating func startTransaction(_ c: Int) -> Result<[UInt8], StoreError> {
        guard connections[c].transactions.count < limits.transactionsPerDomain else { return .failure(.EQUOTA) }
        var id = connections[c].nextTransactionID
        while id == 0 || connections[c].transactionIndex(id) != nil { id &+= 1 }
        connections[c].nextTransactionID = id &+ 1
        connections[c].transactions.append(StoreTransaction(id: id, base: tree, work: tree))
        return .success(StorePayload.decimal(id) + [0])
    }

    mutating func endTransaction(_ c: Int, _ id: UInt32, commit: Bool) -> Result<[UInt8], StoreError> {
        guard let t = connections[c].transactionIndex(id) else { return .failure(.ENOENT) }
        let transaction = connections[c].transactions.remove(at: t)
        guard commit else { return .success(XenStore.ok) }
        for p in transaction.touched where transaction.base.generation(p) != tree.generation(p) {
            return .failure(.EAGAIN)
        }
        // Removals deepest first, then creations and updates parents first.
        let paths = transaction.touched.sorted { StorePath.less($0, $1) }
        var changes: [StoreChange] = []
        for p in paths.reversed() {
            if transaction.work.node(p) == nil, let old = transaction.base.node(p), tree.node(p) != nil {
                tree.remove(p)
                changes.append(StoreChange(path: p, removed: true, permissions: old.permissions))
            }
        }
        for p in paths {
            guard let node = transaction.work.node(p),
                  transaction.base.generation(p) != node.generation else { continue }
            // A node only re-stamped because a child came or went needs no copy: its child does.
            if let old = transaction.base.node(p), old.value == node.value, old.permissions == node.permissions {
                continue
            }
            tree.set(p, value: node.value, permissions: node.permissions)
            changes.append(StoreChange(path: p, removed: false, permissions: node.permissions))
        }
        for change in changes { fireWatches(change) }
        return .success(XenStore.ok)
    }

    mutating func introduce(_ domain: UInt16, frame: UInt64, port: UInt32) -> Result<[UInt8], StoreError> {
        if let c = connectionIndex(domain) {
            let same = connections[c].ringFrame == frame && connections[c].port == port
            return same ? .success(XenStore.ok) : .failure(.EEXIST)
        }
        connections.append(StoreConnection(domain: domain, ringFrame: frame, port: port))
        fireSpecial(XenStore.introduceDomain)
        return .success(XenStore.ok)
    }

    mutating func release(_ domain: UInt16) -> Result<[UInt8], StoreError> {
        guard domain != 0, let c = connectionIndex(domain) else { return .failure(.ENOENT) }
        connections.remove(at: c)
        fireSpecial(XenStore.releaseDomain)
        return .success(XenStore.ok)
    }
}
