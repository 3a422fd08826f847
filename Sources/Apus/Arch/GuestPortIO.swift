// GuestPortIO.swift: performs on the real port an `in` or `out` a guest faulted on, once
// PortAccessRule allowed it (PrivilegedEmulation asks). It decides nothing and must never be
// called for an access the rule did not allow.

enum GuestPortIO {
    /// The value of a `size`-byte (1, 2 or 4) read of `port`, zero-extended.
    static func read(_ port: UInt16, size: UInt8) -> UInt32 {
        switch size {
        case 1: return UInt32(port_in8(port))
        case 2: return UInt32(port_in16(port))
        default: return port_in32(port)
        }
    }

    /// Writes the low `size` bytes of `value` to `port`.
    static func write(_ port: UInt16, size: UInt8, _ value: UInt32) {
        switch size {
        case 1: port_out8(port, UInt8(truncatingIfNeeded: value))
        case 2: port_out16(port, UInt16(truncatingIfNeeded: value))
        default: port_out32(port, value)
        }
    }
}
