// SplitMix64.swift: the test-only draws on ApusCore's SplitMix64 (the generator itself is shared with
// the fuzzing domain): Int bounds, percentages, picks from a list.

import ApusCore

extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
