// A PhysicalMemory that keeps only the non-zero 64-bit words of a machine (a dictionary), for tests
// about what frames hold: scrubbing, and a domain's writes. Test-only; it never refuses an access
// unless told to refuse zeroing a frame.

import ApusCore

struct FrameContentMemory: PhysicalMemory {
    /// Non-zero words by physical address / 8.
    var words: [UInt64: UInt64] = [:]
    /// zeroFrame calls, by frame (to see which path scrubbed what).
    var zeroedFrames: [UInt32] = []
    /// zeroFrame of these frames fails (an unmappable frame).
    var unzeroable: Set<UInt32> = []

    func load64(_ pa: UInt64) -> UInt64? {
        if pa & 7 == 0 { return words[pa >> 3] ?? 0 }
        let lo = words[pa >> 3] ?? 0, hi = words[(pa >> 3) + 1] ?? 0
        let shift = (pa & 7) * 8
        return lo >> shift | hi << (64 - shift)
    }
    func load32(_ pa: UInt64) -> UInt32? { load64(pa).map { UInt32(truncatingIfNeeded: $0) } }
    func load16(_ pa: UInt64) -> UInt16? { load64(pa).map { UInt16(truncatingIfNeeded: $0) } }
    func load8(_ pa: UInt64) -> UInt8? { load64(pa).map { UInt8(truncatingIfNeeded: $0) } }

    mutating func store64(_ pa: UInt64, _ v: UInt64) -> Bool {
        precondition(pa & 7 == 0, "the fake stores aligned words only")
        words[pa >> 3] = v == 0 ? nil : v
        return true
    }
    mutating func store32(_ pa: UInt64, _ v: UInt32) -> Bool {
        let word = words[pa >> 3] ?? 0
        let shift = (pa & 4) * 8
        let new = word & ~(UInt64(0xFFFF_FFFF) << shift) | UInt64(v) << shift
        return store64(pa & ~7, new)
    }
    mutating func flushTranslations() {}

    mutating func zeroFrame(_ frame: UInt32) -> Bool {
        if unzeroable.contains(frame) { return false }
        zeroedFrames.append(frame)
        let first = UInt64(frame) << 9
        for k in first..<(first + 512) { words[k] = nil }
        return true
    }

    /// A domain writing into its frame: one non-zero word somewhere in it.
    mutating func scribble(_ frame: UInt32, seed: UInt64) {
        _ = store64(UInt64(frame) << 12 | (seed % 512) * 8, seed | 1)
    }

    func isZero(_ frame: UInt32) -> Bool {
        let first = UInt64(frame) << 9
        return (first..<(first + 512)).allSatisfy { words[$0] == nil }
    }
}
