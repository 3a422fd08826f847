// The frame table: one FrameRecord per machine frame, over storage the caller provides and maps, and
// its two free lists (scrubbed and dirty). It must never hand out storage it was not given, never let a
// free frame hold a type or a reference, and never put a frame on the scrubbed list that was not zeroed.

/// The table of every machine frame below `count`. Frames at or above `count` are not
/// RAM as far as the hypervisor is concerned.
///
/// Not copyable: the free lists live in the records, so two copies of the table's heads
/// and counters over the same storage would hand the same frame out twice.
///
/// Free frames are on one of two lists (Xen's idea: scrub when idle, so that building a
/// domain takes frames already zeroed). A frame comes back dirty: from boot (whatever RAM
/// held), from a domain's teardown, from the hypervisor. It moves to the scrubbed list only
/// through `scrubOneFree`, which zeroes it first; `allocate(for:memory:)` takes a scrubbed
/// frame, or zeroes a dirty one on the spot, so a domain is never handed another's bytes.
public struct FrameTable: ~Copyable {
    @usableFromInline let records: UnsafeMutablePointer<FrameRecord>
    @usableFromInline let frameCount: UInt32
    /// First frame of the scrubbed free list (all zero), `FrameRecord.endOfList` when empty.
    var scrubbedHead: UInt32
    /// First frame of the dirty free list, `FrameRecord.endOfList` when empty.
    var dirtyHead: UInt32
    /// Free frames on both lists.
    var freeFrames: UInt32
    /// Free frames on the dirty list.
    var dirtyFrames: UInt32
    /// What the hypervisor puts in L2 slots 428-511 of every slot-3 L2 (set before the first
    /// domain is built; a slot-3 L2 cannot validate without it).
    public var hypervisorSlots: HypervisorL2Slots? = nil
    /// The firmware's map as the device-memory rule reads it (set at boot); nil: no frame is
    /// device memory, so no L1 entry may name one.
    public var deviceMemory: DeviceMemoryRule? = nil
    /// Dirty frames `allocate(for:memory:)` had to zero because none was scrubbed (for the logs:
    /// what idle scrubbing did not cover).
    public internal(set) var zeroedOnDemand: UInt32 = 0
    /// Mappings dropped since the CPU last flushed its TLB (StaleTranslations.swift). Not `[]`: an
    /// array literal is not folded, and a global table would then be initialized lazily.
    public internal(set) var staleTranslations = StaleTranslations(rawValue: 0)
    /// Bumped whenever an L2 or L3 entry is written or a frame takes or loses a type: an
    /// `L1Memo` is good only at the generation it was taken (L1Memo.swift).
    public internal(set) var tableGeneration: UInt64 = 0

    // Computed, not stored: a stored property of a non-copyable value cannot be read
    // through `table!.count` on an optional global, a method-like getter can.

    /// Frames the table covers.
    public var count: UInt32 { frameCount }
    /// Free frames, scrubbed or not.
    public var freeCount: UInt32 { freeFrames }
    /// Free frames not yet scrubbed (what the idle loop has left to do).
    public var dirtyCount: UInt32 { dirtyFrames }

    /// Takes `storage` (room for `count` records, initialized or not) and marks every frame
    /// not RAM. The table owns the storage from now on; the caller keeps it mapped.
    public init(storage: UnsafeMutablePointer<FrameRecord>, count: UInt32) {
        // endOfList must never be a frame number.
        precondition(count < FrameRecord.endOfList, "frame table too large")
        records = storage
        frameCount = count
        scrubbedHead = FrameRecord.endOfList
        dirtyHead = FrameRecord.endOfList
        freeFrames = 0
        dirtyFrames = 0
        storage.initialize(repeating: .notRAM, count: Int(count))
    }

    /// The empty table (no frames, no storage): what a global holds until memory is set up.
    /// Constant, so such a global needs no lazy initialization on every access.
    public init() {
        records = UnsafeMutablePointer<FrameRecord>(bitPattern: MemoryLayout<FrameRecord>.alignment)!
        frameCount = 0
        scrubbedHead = FrameRecord.endOfList
        dirtyHead = FrameRecord.endOfList
        freeFrames = 0
        dirtyFrames = 0
    }

    /// The record of `frame`; frames beyond the table read as not RAM.
    @inline(__always)
    public func record(_ frame: UInt32) -> FrameRecord {
        frame < count ? records[Int(truncatingIfNeeded: frame)] : .notRAM
    }

    /// The owner of `frame`; frames beyond the table are not RAM.
    public func owner(of frame: UInt32) -> FrameOwner {
        record(frame).owner
    }

    /// The raw owner of `frame` (FrameOwner.rawNotRAM beyond the table): one load, for hot paths.
    @inline(__always)
    func ownerRaw(of frame: UInt32) -> UInt16 {
        frame < count ? records[Int(truncatingIfNeeded: frame)].ownerRaw : FrameOwner.rawNotRAM
    }

    /// How many frames `owner` holds. O(count): for accounting and tests, not hot paths.
    public func count(ownedBy owner: FrameOwner) -> UInt32 {
        var total: UInt32 = 0
        for frame in 0..<Int(count) where records[frame].owner == owner { total += 1 }
        return total
    }

    /// Marks the not-RAM frames of `range` free and dirty: nothing is known of what RAM holds
    /// at boot (the part beyond the table is ignored). Frames already free or owned keep their
    /// state, so adding a range twice never puts a frame on a free list twice. Returns how many
    /// frames became free.
    @discardableResult
    public mutating func addUsable(_ range: FrameRange) -> UInt32 {
        var added: UInt32 = 0
        var frame = min(range.end, count)
        // Walk down so the free list comes out in ascending address order.
        while frame > range.first {
            frame -= 1
            guard records[Int(frame)].ownerRaw == FrameOwner.rawNotRAM else { continue }
            records[Int(frame)] = FrameRecord(owner: FrameOwner.rawFree)
            pushDirty(frame)
            added += 1
        }
        return added
    }

    /// Gives the frames of `range` to `owner`, which must be `.hypervisor`, `.bootModule`
    /// or `.notRAM`, whether they were free or not RAM (boot time: the hypervisor image,
    /// the modules, firmware the map did not mention). Frames a domain holds and frames
    /// with references are left alone. Returns how many frames changed hands, nil when
    /// `owner` is not one a reservation may name.
    @discardableResult
    public mutating func reserve(_ range: FrameRange, as owner: FrameOwner) -> UInt32? {
        switch owner {
        case .hypervisor, .bootModule, .notRAM: break
        case .free, .domain: return nil
        }
        guard let raw = owner.raw else { return nil }
        var changed: UInt32 = 0
        var tookFree = false
        var frame = range.first
        while frame < min(range.end, count) {
            let old = records[Int(frame)]
            let reservable: Bool
            switch old.owner {
            case .free, .notRAM, .hypervisor, .bootModule: reservable = old.typeCount == 0 && old.refCount == 0
            case .domain: reservable = false
            }
            if reservable && old.ownerRaw != raw {
                if old.ownerRaw == FrameOwner.rawFree { tookFree = true }
                records[Int(frame)] = FrameRecord(owner: raw)
                changed += 1
            }
            frame += 1
        }
        // Unlinking single frames from a singly linked list is O(n) each; one rebuild is O(n) in all.
        if tookFree { rebuildFreeList() }
        return changed
    }

    /// Sets the page type and type count of a frame the hypervisor or a domain holds.
    /// False, and nothing changed, for a free, boot-module or not-RAM frame.
    @discardableResult
    public mutating func setType(of frame: UInt32, to type: PageType, typeCount: UInt32) -> Bool {
        guard isInUse(frame) else { return false }
        tablesChanged()
        records[Int(frame)].typeRaw = type.rawValue
        records[Int(frame)].typeCount = typeCount
        return true
    }

    /// Sets the reference count of a frame the hypervisor or a domain holds.
    @discardableResult
    public mutating func setRefCount(of frame: UInt32, to refCount: UInt32) -> Bool {
        guard isInUse(frame) else { return false }
        records[Int(frame)].refCount = refCount
        return true
    }

    /// Sets the flags of a frame the hypervisor or a domain holds.
    @discardableResult
    public mutating func setFlags(of frame: UInt32, to flags: FrameFlags) -> Bool {
        guard isInUse(frame) else { return false }
        records[Int(frame)].flagsRaw = flags.rawValue
        return true
    }

    /// Whether `frame` is in the table and held by the hypervisor or a domain: the only
    /// frames whose type and counts mean anything.
    func isInUse(_ frame: UInt32) -> Bool {
        guard frame < count else { return false }
        switch records[Int(frame)].owner {
        case .hypervisor, .domain: return true
        case .free, .notRAM, .bootModule: return false
        }
    }

    /// Puts a frame already marked free (a fresh free record: no flags) at the head of the dirty list.
    @inline(__always)
    mutating func pushDirty(_ frame: UInt32) {
        records[Int(frame)].next = dirtyHead
        dirtyHead = frame
        freeFrames += 1
        dirtyFrames += 1
    }

    /// Puts a frame already marked free, whose bytes are all zero, at the head of the scrubbed list.
    @inline(__always)
    mutating func pushScrubbed(_ frame: UInt32) {
        records[Int(frame)].flagsRaw = FrameFlags.scrubbed.rawValue
        records[Int(frame)].next = scrubbedHead
        scrubbedHead = frame
        freeFrames += 1
    }

    /// Relinks every free frame, each list in ascending order, and recounts them. A free frame
    /// stays scrubbed or dirty as its record says.
    mutating func rebuildFreeList() {
        // Heads and counts in locals: at boot this walks every frame of the machine.
        var scrubbed = FrameRecord.endOfList, dirty = FrameRecord.endOfList
        var free: UInt32 = 0, dirtyCount: UInt32 = 0
        var frame = count
        while frame > 0 {
            frame -= 1
            guard records[Int(frame)].ownerRaw == FrameOwner.rawFree else { continue }
            free += 1
            if records[Int(frame)].flagsRaw == FrameFlags.scrubbed.rawValue {
                records[Int(frame)].next = scrubbed
                scrubbed = frame
            } else {
                records[Int(frame)].flagsRaw = 0
                records[Int(frame)].next = dirty
                dirty = frame
                dirtyCount += 1
            }
        }
        scrubbedHead = scrubbed
        dirtyHead = dirty
        freeFrames = free
        dirtyFrames = dirtyCount
    }
}
