// SplitMix64.swift: the fuzzer's seeded generator (Steele, Lea and Flood's SplitMix64) and the
// small draws built on it. Deterministic from the seed alone: it must never read the clock.

struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: next() >> 32) }

    /// Uniform enough in 0..<n for fuzzing (n > 0; the modulo bias is irrelevant here).
    mutating func below(_ n: UInt32) -> UInt32 { u32() % n }

    /// True with probability 1/n.
    mutating func oneIn(_ n: UInt32) -> Bool { below(n) == 0 }
}
