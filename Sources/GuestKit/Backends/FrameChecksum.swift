// FrameChecksum.swift: the TCP or UDP checksum of an IPv4 frame that a frontend sent with
// NETTXF_csum_blank (Linux's netfront leaves it to the backend, as to a NIC with checksum offload):
// netback completes it before the frame goes on the bridge, since nothing beyond would. Pure; it
// reads and writes only inside the frame, and leaves a frame it cannot parse as it was.

public enum FrameChecksum {
    /// The Internet checksum's ones'-complement sum of `bytes[from..<to]` added to `sum`.
    static func add(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int, to sum: UInt32) -> UInt32 {
        var s = sum
        var i = from
        while i + 1 < to {
            s &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < to { s &+= UInt32(bytes[i]) << 8 }
        while s > 0xFFFF { s = (s & 0xFFFF) &+ (s >> 16) }
        return s
    }

    /// Where the TCP or UDP header of an unfragmented IPv4 frame starts, its length, and where its
    /// checksum field is; nil for anything else.
    static func transport(_ f: UnsafeRawBufferPointer) -> (start: Int, length: Int, checksumAt: Int, udp: Bool)? {
        let ip = 14
        guard f.count >= ip + 20, f[12] == 0x08, f[13] == 0x00, f[ip] >> 4 == 4 else { return nil }
        let headerLength = Int(f[ip] & 0x0F) * 4
        let total = Int(f[ip + 2]) << 8 | Int(f[ip + 3])
        guard headerLength >= 20, total >= headerLength, ip + total <= f.count else { return nil }
        // Only a whole datagram carries its transport header and checksum: no fragments.
        guard f[ip + 6] & 0x3F == 0, f[ip + 7] == 0 else { return nil }
        let start = ip + headerLength, length = total - headerLength
        switch f[ip + 9] {
        case 6: return length >= 20 ? (start, length, start + 16, false) : nil
        case 17: return length >= 8 ? (start, length, start + 6, true) : nil
        default: return nil
        }
    }

    /// Writes the checksum of the IPv4 TCP or UDP frame in `frame`; false (the frame unchanged) when
    /// it is not one.
    public static func complete(_ frame: UnsafeMutableRawBufferPointer) -> Bool {
        let f = UnsafeRawBufferPointer(frame)
        guard let t = transport(f) else { return false }
        frame[t.checksumAt] = 0
        frame[t.checksumAt + 1] = 0
        // The pseudo-header: source and destination addresses, protocol, transport length.
        var sum = add(f, 14 + 12, 14 + 20, to: 0)
        sum = add(f, t.start, t.start + t.length, to: sum &+ UInt32(t.udp ? 17 : 6) &+ UInt32(t.length))
        var check = ~UInt16(truncatingIfNeeded: sum)
        if t.udp && check == 0 { check = 0xFFFF }
        frame[t.checksumAt] = UInt8(check >> 8)
        frame[t.checksumAt + 1] = UInt8(truncatingIfNeeded: check)
        return true
    }

    /// Whether the frame's TCP or UDP checksum is right (a UDP checksum of 0 means none was sent).
    public static func verify(_ f: UnsafeRawBufferPointer) -> Bool {
        guard let t = transport(f) else { return false }
        if t.udp && f[t.checksumAt] == 0 && f[t.checksumAt + 1] == 0 { return true }
        var sum = add(f, 14 + 12, 14 + 20, to: 0)
        sum = add(f, t.start, t.start + t.length, to: sum &+ UInt32(t.udp ? 17 : 6) &+ UInt32(t.length))
        return sum == 0xFFFF
    }
}
