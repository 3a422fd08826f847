// Allocation and release of machine frames on top of the frame table's free list.
// It must never hand out a frame twice, nor ever hand out a not-RAM, boot-module or hypervisor-held frame.

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

    /// Takes one frame off the free list for `owner`, with no type and no references.
    /// O(1). Nil when no frame is free or `owner` cannot hold allocated frames.
    public mutating func allocate(for owner: FrameOwner) -> UInt32? {
        guard FrameTable.canAllocate(for: owner), let raw = owner.raw else { return nil }
        let frame = freeHead
        guard frame != FrameRecord.endOfList else { return nil }
        // Only free frames are ever linked; anything else means the table is corrupt.
        precondition(records[Int(frame)].ownerRaw == FrameOwner.rawFree, "frame table free list is corrupt")
        freeHead = records[Int(frame)].next
        freeFrames -= 1
        records[Int(frame)] = FrameRecord(owner: raw)
        return frame
    }

    /// Takes `count` free frames in a row, the first a multiple of `alignment` (in frames, a
    /// power of two), for `owner`. O(table size): for boot time and domain building, not
    /// hot paths. Nil when no such run is free, `count` is 0, or `alignment` is not a power of two.
    public mutating func allocateContiguous(count wanted: UInt32, alignment: UInt32, for owner: FrameOwner) -> UInt32? {
        guard wanted > 0, alignment > 0, alignment & (alignment - 1) == 0,
              FrameTable.canAllocate(for: owner), let raw = owner.raw,
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

    /// Gives `frame` back to the free list, if `owner` holds it and nothing refers to it.
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
        push(frame)
        return .released
    }
}
