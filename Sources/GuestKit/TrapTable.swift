// TrapTable.swift: builds the trap_info array a kernel hands to set_trap_table: one entry per
// vector with its handler, code selector and DPL (3 lets ring 3 raise it with `int n`),
// ended by an all-zero entry. It only lays out bytes; registering is the caller's call.

import PVABI

public struct TrapTableBuilder {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    public mutating func add(vector: UInt8, dpl: UInt8, maskEvents: Bool = false, cs: UInt16, address: UInt32) {
        var entry = [UInt8](repeating: 0, count: TrapInfoLayout.size)
        entry[TrapInfoLayout.vectorOffset] = vector
        entry[TrapInfoLayout.flagsOffset] = (dpl & TrapInfoLayout.dplMask) | (maskEvents ? TrapInfoLayout.maskEventsFlag : 0)
        entry[TrapInfoLayout.csOffset] = UInt8(cs & 0xFF)
        entry[TrapInfoLayout.csOffset + 1] = UInt8(cs >> 8)
        for i in 0..<4 { entry[TrapInfoLayout.addressOffset + i] = UInt8((address >> (8 * UInt32(i))) & 0xFF) }
        bytes.append(contentsOf: entry)
    }

    /// The table with its terminating zero entry.
    public func terminated() -> [UInt8] { bytes + [UInt8](repeating: 0, count: TrapInfoLayout.size) }
}
