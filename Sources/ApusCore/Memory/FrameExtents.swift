// FrameExtents.swift: a domain's machine frames in pseudo-physical order (the hypervisor's P2M),
// kept as runs of consecutive frame numbers instead of one word per frame: the allocator hands a
// domain long runs (ascending, or descending from a free list refilled by a teardown), so a 4 MiB
// domain's 1024 frames are a run or two, 12 bytes each. Bookkeeping only: it never touches a frame.

public struct FrameExtents: Sequence, Equatable, Sendable, ExpressibleByArrayLiteral {
    /// `length` frames from `first`, going up (or down when `descending`).
    struct Run: Equatable, Sendable {
        var first: UInt32
        var length: UInt32
        var descending: Bool

        /// The frame that would extend this run, nil at the end of the frame numbers.
        var following: UInt32? {
            if descending { return first >= length ? first - length : nil }
            let (next, overflow) = first.addingReportingOverflow(length)
            return overflow ? nil : next
        }

        func frame(_ index: UInt32) -> UInt32 { descending ? first - index : first + index }
    }

    var runs: [Run] = []
    /// How many frames (the domain's page count).
    public private(set) var count: Int = 0

    public init() {}

    /// The same runs as appending `frames` one by one, found in one pass over the array.
    public init(_ frames: [UInt32]) {
        frames.withUnsafeBufferPointer { f in
            var i = 0
            while i < f.count {
                var run = Run(first: f[i], length: 1, descending: false)
                if i + 1 < f.count, run.following != f[i + 1], run.first > 0, f[i + 1] == run.first - 1 {
                    run.descending = true
                }
                while i + Int(run.length) < f.count, let next = run.following, f[i + Int(run.length)] == next {
                    run.length += 1
                }
                runs.append(run)
                i += Int(run.length)
            }
            count = f.count
        }
    }

    public init(arrayLiteral frames: UInt32...) {
        self.init(frames)
    }

    /// Adds `mfn` as the next pseudo-physical frame.
    public mutating func append(_ mfn: UInt32) {
        count += 1
        if let last = runs.last {
            if mfn == last.following {
                runs[runs.count - 1].length += 1
                return
            }
            // A single frame can turn into a run either way.
            if last.length == 1, last.first > 0, mfn == last.first - 1 {
                runs[runs.count - 1] = Run(first: last.first, length: 2, descending: true)
                return
            }
        }
        runs.append(Run(first: mfn, length: 1, descending: false))
    }

    /// The machine frame of pseudo-physical frame `pfn` (below `count`). O(runs).
    public subscript(_ pfn: Int) -> UInt32 {
        var rest = UInt32(truncatingIfNeeded: pfn)
        for run in runs {
            if rest < run.length { return run.frame(rest) }
            rest -= run.length
        }
        preconditionFailure("pseudo-physical frame beyond the domain's memory")
    }

    /// Runs kept (for the heap accounting in make bench's notes and tests).
    public var runCount: Int { runs.count }

    public struct Iterator: IteratorProtocol {
        let runs: [Run]
        var run = 0
        var index: UInt32 = 0

        public mutating func next() -> UInt32? {
            while run < runs.count {
                if index < runs[run].length {
                    defer { index += 1 }
                    return runs[run].frame(index)
                }
                run += 1
                index = 0
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(runs: runs) }
}
