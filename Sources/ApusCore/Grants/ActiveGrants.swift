// ActiveGrants.swift: the live use of one table's grant references, kept sparse: only the references
// mapped now are stored (ascending, binary searched), every other one reads idle. A domU's table has
// 512 entries of which a few are ever mapped (its console and store rings), so this is tens of bytes
// where one record per entry was 10 KiB. Values only: it must never decide whether a use is allowed.

public struct ActiveGrants: Equatable, Sendable {
    /// Entries the table's frames hold: references below this exist.
    public private(set) var count: Int = 0
    /// The references in use, ascending, and each one's use (never .idle).
    var refs: [UInt32] = []
    var uses: [ActiveGrant] = []

    public init() {}

    /// The table grew by `entries` references, all idle.
    mutating func grow(by entries: Int) { count += entries }

    /// The use of `ref` (below `count`): idle unless mapped.
    public subscript(_ ref: Int) -> ActiveGrant {
        get {
            let (at, found) = place(UInt32(truncatingIfNeeded: ref))
            return found ? uses[at] : .idle
        }
        set {
            let key = UInt32(truncatingIfNeeded: ref)
            let (at, found) = place(key)
            switch (newValue, found) {
            case (.idle, true):
                refs.remove(at: at)
                uses.remove(at: at)
            case (.idle, false):
                break
            case (_, true):
                uses[at] = newValue
            case (_, false):
                refs.insert(key, at: at)
                uses.insert(newValue, at: at)
            }
        }
    }

    /// How many references are in use.
    public var inUse: Int { refs.count }

    /// Where `ref` is, or would be inserted, in `refs`, and whether it is there.
    func place(_ ref: UInt32) -> (Int, Bool) {
        var low = 0
        var high = refs.count
        while low < high {
            let mid = (low + high) >> 1
            if refs[mid] < ref { low = mid + 1 } else { high = mid }
        }
        return (low, low < refs.count && refs[low] == ref)
    }
}
