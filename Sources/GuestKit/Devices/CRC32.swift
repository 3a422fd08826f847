// CRC32.swift: the IEEE 802.3 CRC-32 (zlib's crc32, reflected polynomial 0xEDB88320), so dom0 can
// print a checksum of what a device returned that a host tool computes the same way. Pure, bitwise
// (no table: it runs on a sector or two at a time).

public enum CRC32 {
    public static func of(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }
}
