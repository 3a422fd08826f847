// Allocation, release and scrubbing of machine frames on top of the frame table's two free lists.
// It must never hand out a frame twice, never hand out a not-RAM, boot-module or hypervisor-held frame,
// and never give a domain a frame it has not zeroed (a released frame is dirty until scrubbed).

/// Why a release did or did not happen.
public enum FrameReleaseResult: Equatable, Sendable {
    /// The frame is back on the free list.
    case released
    /// The frame is not held by the owner named (or is free, or not RAM): nothing changed.
    case notOwned
    /// The frame is beyond the table: nothing changed.
    case outOfRange
    /// The frame still has a type or general reference: nothing changed.
    case stillReferenced

    public var reason: StaticString {
        switch self {
        case .released: return "the frame was released"
        case .notOwned: return "the frame is not held by the owner that tried to release it"
        case .outOfRange: return "the frame number is beyond the frame table"
        case .stillReferenced: return "the frame still has references and cannot be released"
        }
    }
}

extension FrameTable {
    /// Whether frames may be allocated for `owner`: only the hypervisor and real domains hold allocated frames.
    static func canAllocate(for owner: FrameOwner) -> Bool {
        switch owner {
        case .hypervisor: return true
        case .domain(let id): return id <= FrameOwner.maxDomainID
        case .free, .notRAM, .bootModule: return false
        }
    }

    /// Takes one free frame for `owner`, with no type and no references, every byte zero: a
    /// scrubbed one when there is one, else a dirty one zeroed here through `memory`. O(1) but
    /// for that zeroing. Nil when no frame is free, `owner` cannot hold allocated frames, or the
    /// frame could not be zeroed (it stays free and dirty).
    public mutating func allocate<M: PhysicalMemory>(for owner: FrameOwner, memory: inout M) -> UInt32? {
        guard FrameTable.canAllocate(for: owner), let raw = owner.raw else { return nil }
        let frame: UInt32
        if scrubbedHead != FrameRecord.endOfList {
            frame = scrubbedHead
            // Only scrubbed free frames are ever linked here; anything else means the table is corrupt.
            precondition(records[Int(frame)].ownerRaw == FrameOwner.rawFree && records[Int(frame)].flagsRaw == FrameFlags.scrubbed.rawValue,
                         "frame table scrubbed list is corrupt")
            scrubbedHead = records[Int(frame)].next
        } else {
            frame = dirtyHead
            guard frame != FrameRecord.endOfList else { return nil }
            precondition(records[Int(frame)].ownerRaw == FrameOwner.rawFree, "frame table dirty list is corrupt")
            guard memory.zeroFrame(frame) else { return nil }
            dirtyHead = records[Int(frame)].next
            dirtyFrames -= 1
            zeroedOnDemand &+= 1
        }
        freeFrames -= 1
        records[Int(frame)] = FrameRecord(owner: raw)
        return frame
    }

    /// Appends `count` frames for `owner` to `frames`, each as `allocate(for:memory:)` gives it
    /// (every byte zero), in one loop: a domain's memory at build time. False when fewer could be
    /// taken; those taken stay appended, for the caller to release.
    public mutating func allocate<M: PhysicalMemory>(_ count: Int, for owner: FrameOwner, memory: inout M, into frames: inout [UInt32]) -> Bool {
        guard FrameTable.canAllocate(for: owner), let raw = owner.raw else { return count == 0 }
        frames.reserveCapacity(frames.count + count)
        var left = count
        // Scrubbed frames first, straight off their list.
        while left > 0, scrubbedHead != FrameRecord.endOfList {
            let frame = scrubbedHead
            precondition(records[Int(frame)].ownerRaw == FrameOwner.rawFree && records[Int(frame)].flagsRaw == FrameFlags.scrubbed.rawValue,
                         "frame table scrubbed list is corrupt")
            scrubbedHead = records[Int(frame)].next
            freeFrames -= 1
            records[Int(frame)] = FrameRecord(owner: raw)
            frames.append(frame)
            left -= 1
        }
        while left > 0, let frame = allocate(for: owner, memory: &memory) {
            frames.append(frame)
            left -= 1
        }
        return left == 0
    }

    /// Takes one free frame for the hypervisor's own use, whatever it holds (a dirty one first,
    /// so the scrubbed ones stay for domains): the caller writes every byte before any guest may
    /// see it. O(1). Nil for any owner but `.hypervisor`, or when no frame is free.
    public mutating func allocate(for owner: FrameOwner) -> UInt32? {
        guard owner == .hypervisor, let raw = owner.raw else { return nil }
        let frame: UInt32
        if dirtyHead != FrameRecord.endOfList {
            frame = dirtyHead
            precondition(records[Int(frame)].ownerRaw == FrameOwner.rawFree, "frame table dirty list is corrupt")
            dirtyHead = records[Int(frame)].next
            dirtyFrames -= 1
        } else {
            frame = scrubbedHead
            guard frame != FrameRecord.endOfList else { return nil }
            precondition(records[Int(frame)].ownerRaw == FrameOwner.rawFree, "frame table scrubbed list is corrupt")
            scrubbedHead = records[Int(frame)].next
        }
        freeFrames -= 1
        records[Int(frame)] = FrameRecord(owner: raw)
        return frame
    }

    /// Zeroes one dirty free frame through `memory` and moves it to the scrubbed list: the idle
    /// loop's unit of work. False when no frame is dirty, or when the frame could not be zeroed
    /// (it stays dirty).
    public mutating func scrubOneFree<M: PhysicalMemory>(memory: inout M) -> Bool {
        let frame = dirtyHead
        guard frame != FrameRecord.endOfList else { return false }
        precondition(records[Int(frame)].ownerRaw == FrameOwner.rawFree, "frame table dirty list is corrupt")
        guard memory.zeroFrame(frame) else { return false }
        dirtyHead = records[Int(frame)].next
        dirtyFrames -= 1
        freeFrames -= 1
        pushScrubbed(frame)
        return true
    }

    /// Takes `count` free frames in a row, the first a multiple of `alignment` (in frames, a
    /// power of two), for the hypervisor's own use, whatever they hold (it fills them). O(table
    /// size): for boot time, not hot paths. Nil when no such run is free, `count` is 0,
    /// `alignment` is not a power of two, or `owner` is not `.hypervisor`.
    public mutating func allocateContiguous(count wanted: UInt32, alignment: UInt32, for owner: FrameOwner) -> UInt32? {
        guard wanted > 0, alignment > 0, alignment & (alignment - 1) == 0,
              owner == .hypervisor, let raw = owner.raw,
              wanted <= freeCount else { return nil }
        var first: UInt32 = 0
        search: while UInt64(first) + UInt64(wanted) <= UInt64(count) {
            var frame = first
            while frame < first + wanted {
                if records[Int(frame)].ownerRaw != FrameOwner.rawFree {
                    // No run can start at or before this frame: move to the next aligned start after it.
                    let next = (UInt64(frame) + UInt64(alignment)) & ~UInt64(alignment - 1)
                    guard next < UInt64(count) else { break search }
                    first = UInt32(next)
                    continue search
                }
                frame += 1
            }
            for taken in first..<(first + wanted) {
                records[Int(taken)] = FrameRecord(owner: raw)
            }
            rebuildFreeList()
            return first
        }
        return nil
    }

    /// Gives `frame` back to the dirty free list, if `owner` holds it and nothing refers to it.
    /// Not-RAM and free frames are never released; hypervisor and boot-module frames
    /// only when `owner` names the hypervisor or boot module.
    public mutating func release(_ frame: UInt32, from owner: FrameOwner) -> FrameReleaseResult {
        guard frame < count else { return .outOfRange }
        let old = records[Int(frame)]
        switch owner {
        case .free, .notRAM: return .notOwned
        case .hypervisor, .bootModule, .domain: break
        }
        guard let raw = owner.raw, old.ownerRaw == raw else { return .notOwned }
        guard old.typeCount == 0, old.refCount == 0 else { return .stillReferenced }
        records[Int(frame)] = FrameRecord(owner: FrameOwner.rawFree)
        pushDirty(frame)
        return .released
    }
}
