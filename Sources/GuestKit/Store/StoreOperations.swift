// StoreOperations.swift: the node operations (DIRECTORY, READ, GET_PERMS, WRITE, MKDIR, RM,
// SET_PERMS) on the live tree or a transaction's copy, with permission and quota checks. Each
// checks everything before it changes anything: a refused operation leaves the tree as it was.

extension XenStore {
    mutating func treeOperation(_ type: StoreMessageType, _ c: Int, _ transactionID: UInt32,
                                _ strings: [[UInt8]], _ rest: [UInt8], _ payload: [UInt8])
        -> Result<[UInt8], StoreError> {
        let domain = connections[c].domain
        // WRITE's value is everything after the path's NUL, NULs included.
        let rawPath: [UInt8]
        var value: [UInt8] = []
        if type == .write {
            guard let nul = payload.firstIndex(of: 0) else { return .failure(.EINVAL) }
            rawPath = Array(payload[0..<nul])
            value = Array(payload[(nul + 1)...])
        } else {
            guard !strings.isEmpty, rest.isEmpty else { return .failure(.EINVAL) }
            guard type == .setPerms || strings.count == 1 else { return .failure(.EINVAL) }
            rawPath = strings[0]
        }
        guard let path = StorePath.resolve(rawPath, for: domain) else { return .failure(.EINVAL) }

        if transactionID == 0 {
            var touched: [[UInt8]]? = nil
            var changes: [StoreChange] = []
            // Static: the tree is borrowed in place (a method on self would copy the whole store, and
            // the next write would then copy every node).
            let result = XenStore.nodeOperation(type, limits, domain, path, value, strings, &tree, &touched, &changes)
            for change in changes { fireWatches(change) }
            return result
        }
        guard let t = connections[c].transactionIndex(transactionID) else { return .failure(.ENOENT) }
        var work = connections[c].transactions[t].work
        var touched: [[UInt8]]? = connections[c].transactions[t].touched
        connections[c].transactions[t].work = StoreTree()
        var changes: [StoreChange] = []
        let result = XenStore.nodeOperation(type, limits, domain, path, value, strings, &work, &touched, &changes)
        connections[c].transactions[t].work = work
        connections[c].transactions[t].touched = touched ?? []
        return result
    }

    static func nodeOperation(_ type: StoreMessageType, _ limits: StoreLimits, _ domain: UInt16, _ path: [UInt8],
                              _ value: [UInt8], _ strings: [[UInt8]], _ tree: inout StoreTree,
                              _ touched: inout [[UInt8]]?, _ changes: inout [StoreChange]) -> Result<[UInt8], StoreError> {
        func touch(_ p: [UInt8]) {
            if touched != nil && !touched!.contains(p) { touched!.append(p) }
        }
        switch type {
        case .directory, .read, .getPerms:
            touch(path)
            guard let node = tree.node(path) else { return .failure(.ENOENT) }
            guard node.permissions.access(for: domain).contains(.read) else { return .failure(.EACCES) }
            switch type {
            case .directory:
                let out = tree.childList(of: path)
                guard out.count <= Int(StoreHeader.payloadMax) else { return .failure(.E2BIG) }
                return .success(out)
            case .read: return .success(node.value)
            default: return .success(node.permissions.encoded)
            }

        case .write, .mkdir:
            guard value.count <= limits.entrySize else { return .failure(.EQUOTA) }
            touch(path)
            let (at, found) = tree.position(of: path)
            if found {
                let node = tree.nodes[at]
                guard node.permissions.access(for: domain).contains(.write) else { return .failure(.EACCES) }
                if type == .mkdir { return .success(XenStore.ok) }
                guard fits(limits, tree.bytes, adding: value.count - node.value.count, by: domain) else { return .failure(.ENOSPC) }
                tree.update(at: at, value: value, permissions: node.permissions)
                changes.append(StoreChange(path: path, removed: false, permissions: node.permissions))
                return .success(XenStore.ok)
            }
            let anchorIndex = tree.nearestAbove(path)
            let anchor = tree.nodes[anchorIndex]
            guard anchor.permissions.access(for: domain).contains(.write) else { return .failure(.EACCES) }
            // The missing nodes from `path` up to just below the anchor (an ancestor of `path`, so
            // the chain of parents reaches its length).
            var missing: [[UInt8]] = [path]
            var length = path.count
            while let up = path.withUnsafeBufferPointer({ StorePath.parentLength(UnsafeBufferPointer(rebasing: $0[0..<length])) }),
                  up > anchor.path.count {
                missing.append(Array(path[0..<up]))
                length = up
            }
            let permissions = StorePermissions.isPrivileged(domain)
                ? anchor.permissions : anchor.permissions.owned(by: domain)
            let owner = permissions.owner
            if !StorePermissions.isPrivileged(domain),
               tree.nodeCount(ownedBy: owner) + missing.count > limits.nodesPerDomain {
                return .failure(.EQUOTA)
            }
            var growth = value.count
            for m in missing {
                growth += StoreTree.cost(path: m.count, value: 0, permissions: permissions.entries.count)
            }
            guard fits(limits, tree.bytes, adding: growth, by: domain) else { return .failure(.ENOSPC) }
            touch(anchor.path)
            if missing.count == 1 {
                // The common case: the parent exists, and both places are known.
                touch(path)
                tree.insert(path, value: value, permissions: permissions, at: at, parent: anchorIndex)
                changes.append(StoreChange(path: path, removed: false, permissions: permissions))
                return .success(XenStore.ok)
            }
            for k in stride(from: missing.count - 1, through: 0, by: -1) {
                let m = missing[k]
                touch(m)
                tree.set(m, value: k == 0 ? value : [], permissions: permissions)
                changes.append(StoreChange(path: m, removed: false, permissions: permissions))
            }
            return .success(XenStore.ok)

        case .rm:
            touch(path)
            guard let node = tree.node(path) else {
                guard let parent = StorePath.parent(path), tree.node(parent) != nil else { return .failure(.ENOENT) }
                touch(parent)
                return .success(XenStore.ok)
            }
            guard path.count > 1 else { return .failure(.EINVAL) }
            guard node.permissions.access(for: domain).contains(.write) else { return .failure(.EACCES) }
            if let parent = StorePath.parent(path) { touch(parent) }
            for p in tree.remove(path) { touch(p) }
            changes.append(StoreChange(path: path, removed: true, permissions: node.permissions))
            return .success(XenStore.ok)

        case .setPerms:
            touch(path)
            guard let node = tree.node(path) else { return .failure(.ENOENT) }
            return setPermissions(limits, domain, path, node, StorePermissions(strings: Array(strings.dropFirst())),
                                  &tree, &changes)

        default:
            return .failure(.EINVAL)
        }
    }

    /// SET_PERMS once `path`'s node was found: `parsed` is nil when the message's list was malformed.
    static func setPermissions(_ limits: StoreLimits, _ domain: UInt16, _ path: [UInt8], _ node: StoreNode,
                               _ parsed: StorePermissions?, _ tree: inout StoreTree,
                               _ changes: inout [StoreChange]) -> Result<[UInt8], StoreError> {
        guard let permissions = parsed else { return .failure(.EINVAL) }
        let access = node.permissions.access(for: domain)
        guard access.contains(.write),
              StorePermissions.isPrivileged(domain) || node.permissions.owner == domain else {
            return .failure(.EACCES)
        }
        guard StorePermissions.isPrivileged(domain) || permissions.owner == node.permissions.owner else {
            return .failure(.EPERM)
        }
        let growth = 4 * (permissions.entries.count - node.permissions.entries.count)
        guard fits(limits, tree.bytes, adding: growth, by: domain) else { return .failure(.ENOSPC) }
        tree.set(path, value: node.value, permissions: permissions)
        changes.append(StoreChange(path: path, removed: false, permissions: permissions))
        return .success(XenStore.ok)
    }

    /// Whether a tree of `bytes` may grow by `growth` bytes for `domain`: dom0 is never refused.
    static func fits(_ limits: StoreLimits, _ bytes: Int, adding growth: Int, by domain: UInt16) -> Bool {
        StorePermissions.isPrivileged(domain) || growth <= 0 || bytes + growth <= limits.treeBytes
    }
}
