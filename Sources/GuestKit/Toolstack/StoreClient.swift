// StoreClient.swift: dom0's in-process client of its own xenstored: read, directory, rm, introduce,
// release and a new domain's settings as dom0 (privileged), answering values or the XenStore error.
// Requests go through `call`; settings through StoreDirect's writes, which check and fire as `call`
// would. It never edits the tree by itself (local, localWrite, localSetPermissions: StoreDirect.swift).

extension XenStore {
    public mutating func localRead(_ path: [UInt8]) -> Result<[UInt8], StoreError> { local(.read, path + [0]) }

    public mutating func localRemove(_ path: [UInt8]) -> Result<Void, StoreError> { local(.rm, path + [0]).map { _ in () } }

    /// The children's names.
    public mutating func localDirectory(_ path: [UInt8]) -> Result<[[UInt8]], StoreError> {
        local(.directory, path + [0]).map { StorePayload.split($0).strings }
    }

    /// Writes every setting with its access list; the first failure stops it and is answered.
    /// The same WRITE and SET_PERMS pairs as through `call`, applied without the wire.
    public mutating func apply(_ settings: [StoreSetting]) -> Result<Void, StoreError> {
        for s in settings {
            if case .failure(let e) = privilegedSetting(s.path, s.value, s.permissions) { return .failure(e) }
        }
        return .success(())
    }

    /// INTRODUCE as dom0 does after creating a domain (fires @introduceDomain).
    public mutating func introduceDomain(_ id: UInt16, frame: UInt32, port: UInt32) -> Result<Void, StoreError> {
        local(.introduce, StorePayload.decimal(UInt32(id)) + [0] + StorePayload.decimal(frame) + [0]
              + StorePayload.decimal(port) + [0]).map { _ in () }
    }

    /// RELEASE (fires @releaseDomain) and removal of the domain's nodes.
    public mutating func releaseDomain(_ id: UInt16) -> Result<Void, StoreError> {
        let released = local(.release, StorePayload.decimal(UInt32(id)) + [0]).map { _ in () }
        for path in DomainStoreLayout.removals(id) { _ = localRemove(path) }
        return released
    }
}
