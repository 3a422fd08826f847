// The two seams of the grant-table core: the granting domain's shared table frames (entries, growth, byte copies)
// and the references a foreign mapping or a copy holds on a granted frame. The hypervisor implements them over
// the frame table and physical memory; tests use fakes. Implementations must never decide a grant rule.

/// One grant_entry_v1 as read from a table frame.
public struct GrantEntry: Equatable, Sendable {
    public var flags: UInt16
    public var domid: UInt16
    public var frame: UInt32
    public init(flags: UInt16, domid: UInt16, frame: UInt32) {
        self.flags = flags
        self.domid = domid
        self.frame = frame
    }
}

/// The memory behind grant tables: the frames shared with a granting domain, and the copy engine.
public protocol GrantSharedMemory {
    /// Entry `index` (0..<512) of table frame `tableFrame`, as the granter last wrote it.
    func entry(tableFrame: UInt32, index: UInt32) -> GrantEntry
    /// Stores `flags` into entry `index` of `tableFrame` (only GTF_reading and GTF_writing ever change).
    mutating func setFlags(tableFrame: UInt32, index: UInt32, _ flags: UInt16)
    /// A zeroed frame for domain `domain`'s table, shared writable with it; nil when memory is exhausted.
    mutating func allocateTableFrame(for domain: UInt16) -> UInt32?
    /// Gives back a table frame of a domain whose table is gone (nothing maps it any more).
    mutating func freeTableFrame(_ frame: UInt32, of domain: UInt16)
    /// Copies `count` bytes from `sourceFrame` at `sourceOffset` to `destFrame` at `destOffset`; both
    /// spans lie inside their page (the core checked).
    mutating func copyBytes(from sourceFrame: UInt32, _ sourceOffset: UInt32, to destFrame: UInt32, _ destOffset: UInt32, count: UInt32)
}

/// The references a grantee holds on a granted frame (the frame table implements it). While one is held
/// the frame stays allocated, even after its owner is destroyed, and (writable) cannot become a page table.
public protocol GrantFrameReferences {
    /// Takes a reference on `frame` if `owner` owns it and, when `writable`, it may be written (not a page
    /// table or descriptor frame); the writable form also holds its writable type. False: nothing taken.
    mutating func get(frame: UInt32, owner: UInt16, writable: Bool) -> Bool
    /// Drops a reference `get` took with the same arguments. The last one of a destroyed owner frees the frame.
    mutating func put(frame: UInt32, owner: UInt16, writable: Bool)
}
