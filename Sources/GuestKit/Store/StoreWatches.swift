// StoreWatches.swift: WATCH, UNWATCH and firing: a watch fires once when set, then for every
// change at or below its path (and for the removal of a node above it). A domain only hears of
// nodes it may read; events are queued after the reply of the request that caused them.

extension XenStore {
    static let introduceDomain = Array("@introduceDomain".utf8)
    static let releaseDomain = Array("@releaseDomain".utf8)

    mutating func watch(_ c: Int, path given: [UInt8], token: [UInt8]) -> Result<[UInt8], StoreError> {
        let domain = connections[c].domain
        let absolute: [UInt8]
        if given == XenStore.introduceDomain || given == XenStore.releaseDomain {
            absolute = given
        } else {
            // '@' names only the two special paths.
            guard given.first != 0x40, let resolved = StorePath.resolve(given, for: domain) else {
                return .failure(.EINVAL)
            }
            absolute = resolved
        }
        for w in connections[c].watches where w.absolute == absolute && w.token == token {
            return .failure(.EEXIST)
        }
        guard connections[c].watches.count < limits.watchesPerDomain else { return .failure(.EQUOTA) }
        connections[c].watches.append(StoreWatch(given: given, absolute: absolute, token: token))
        pending.append(StorePendingEvent(domain: domain, message: XenStore.event(given, token)))
        return .success(XenStore.ok)
    }

    mutating func unwatch(_ c: Int, path given: [UInt8], token: [UInt8]) -> Result<[UInt8], StoreError> {
        let domain = connections[c].domain
        let absolute = given.first == 0x40 ? given : StorePath.resolve(given, for: domain)
        guard let absolute else { return .failure(.EINVAL) }
        for i in 0..<connections[c].watches.count {
            let w = connections[c].watches[i]
            if w.absolute == absolute && w.token == token {
                connections[c].watches.remove(at: i)
                return .success(XenStore.ok)
            }
        }
        return .failure(.ENOENT)
    }

    static func event(_ path: [UInt8], _ token: [UInt8]) -> StoreMessage {
        StoreMessage(.watchEvent, payload: path + [0] + token + [0])
    }

    /// Queues an event for every watch `change` concerns, to every domain allowed to read the node.
    mutating func fireWatches(_ change: StoreChange) {
        for conn in connections where conn.state == .open {
            guard change.permissions.access(for: conn.domain).contains(.read) else { continue }
            for w in conn.watches where w.absolute.first == StorePath.slash {
                let reported: [UInt8]
                if StorePath.isSelfOrDescendant(change.path, of: w.absolute) {
                    reported = change.path
                } else if change.removed && StorePath.isSelfOrDescendant(w.absolute, of: change.path) {
                    reported = w.absolute
                } else {
                    continue
                }
                let path = w.given.first == StorePath.slash ? reported : relative(reported, for: conn.domain)
                pending.append(StorePendingEvent(domain: conn.domain, message: XenStore.event(path, w.token)))
            }
        }
    }

    /// Fires the watches on a special path ("@introduceDomain", "@releaseDomain").
    mutating func fireSpecial(_ name: [UInt8]) {
        for conn in connections where conn.state == .open {
            for w in conn.watches where w.absolute == name {
                pending.append(StorePendingEvent(domain: conn.domain, message: XenStore.event(name, w.token)))
            }
        }
    }

    /// `path` without the "/local/domain/<id>/" prefix when it has it (a relative watch's events).
    func relative(_ path: [UInt8], for domain: UInt16) -> [UInt8] {
        let prefix = StorePath.domainPath(domain) + [StorePath.slash]
        guard path.count > prefix.count, Array(path[0..<prefix.count]) == prefix else { return path }
        return Array(path[prefix.count...])
    }
}
