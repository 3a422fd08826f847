// What one domain's grant table is: its shared frames, the live use of each reference (pins), and the mappings the
// domain itself holds of other domains' grants (its handles). Values only: the rules live in GrantSystem, and nothing
// here may touch a frame.

/// Whether a table still takes new grants into use.
public enum GrantTableLife: Equatable, Sendable {
    case live
    /// The domain is destroyed, but other domains still map some of its grants: those can only be unmapped, and
    /// the table (and its frames) goes when the last one is.
    case dying
}

/// The live use of one grant reference by the domain it names.
public enum ActiveGrant: Equatable, Sendable {
    case idle
    /// Mapped `maps` times by `mapper`, `writableMaps` of them writable. `frame` is fixed at the first map:
    /// the granter rewriting the entry meanwhile changes nothing until the last unmap.
    case mapped(mapper: UInt16, frame: UInt32, maps: UInt32, writableMaps: UInt32)
}

/// A mapping a domain holds of another domain's grant, named by its handle.
public struct GrantMapping: Equatable, Sendable {
    public var granter: UInt16
    public var ref: UInt32
    /// The virtual address mapped at (page aligned, below HYPERVISOR_VIRT_START).
    public var hostAddress: UInt32
    public var frame: UInt32
    public var writable: Bool
    /// GNTMAP_application_map: the PTE carries the user bit.
    public var application: Bool
    /// What map returned in dev_bus_addr (device_map), else 0.
    public var deviceAddress: UInt64
}

/// One domain's grant-table state.
public struct GrantTableState: Equatable, Sendable {
    public let privileged: Bool
    public let maxFrames: UInt32
    public let maxHandles: UInt32
    public internal(set) var life: GrantTableLife = .live
    /// The table's frames, in table order (entry ref lives in frames[ref / 512]).
    public internal(set) var frames: [UInt32] = []
    /// active[ref] for every entry of the frames set up (only the ones in use are stored).
    public internal(set) var active = ActiveGrants()
    /// How many maps of this table's grants exist (sum of `maps` over `active`).
    public internal(set) var pins: UInt32 = 0
    /// handles[h]: the mapping handle h names, nil when free.
    public internal(set) var handles: [GrantMapping?] = []
    /// How many handles are in use.
    public internal(set) var mappingCount: UInt32 = 0

    init(privileged: Bool, maxFrames: UInt32, maxHandles: UInt32) {
        self.privileged = privileged
        self.maxFrames = maxFrames
        self.maxHandles = maxHandles
    }

    var entryCount: UInt32 { UInt32(truncatingIfNeeded: active.count) }

    /// The lowest free handle, or nil when all `maxHandles` are in use.
    func freeHandle() -> UInt32? {
        var h = 0
        while h < handles.count {
            if handles[h] == nil { return UInt32(truncatingIfNeeded: h) }
            h += 1
        }
        return UInt32(truncatingIfNeeded: handles.count) < maxHandles ? UInt32(truncatingIfNeeded: handles.count) : nil
    }
}
