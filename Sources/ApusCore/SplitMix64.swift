// SplitMix64.swift: the one seeded generator of the project (Steele, Lea and Flood's SplitMix64),
// shared by the randomized host tests and the fuzzing domain: the same sequence on every machine for
// a given seed, so a failing seed reproduces. Deterministic from the seed alone: it never reads a clock.

public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The high 32 bits of the next value.
    public mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: next() >> 32) }

    /// A value in 0..<bound (bound > 0; the modulo bias is irrelevant for tests and fuzzing).
    public mutating func below(_ bound: UInt32) -> UInt32 { UInt32(next() % UInt64(bound)) }

    /// True with probability 1/n.
    public mutating func oneIn(_ n: UInt32) -> Bool { below(n) == 0 }
}
