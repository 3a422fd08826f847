// ConsoleHistory.swift: the recent output one domain wrote to its console ring, as dom0's console
// backend keeps it for GET /v1/domains/{id}/console: a ring of at most `capacity` bytes (the oldest
// bytes are overwritten once it is full), the count of every byte seen, and the last lines read back
// from it ('\n' ends a line, '\r' is dropped, every other byte is kept as the guest wrote it: the JSON
// writer escapes them). It must never grow past its capacity, and never let a read depend on anything
// but the bytes appended (no guest index, no pointer).

public struct ConsoleHistory: Equatable, Sendable {
    /// What dom0 keeps per domain unless told otherwise.
    public static let defaultCapacity = 16 * 1024

    public let capacity: Int
    /// Grows to `capacity` on the first bytes, then is a ring whose oldest byte is at `oldest`.
    var storage: [UInt8] = []
    var oldest = 0
    /// Every byte appended since the domain was connected.
    public private(set) var bytesSeen: UInt64 = 0

    public init(capacity: Int = ConsoleHistory.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    /// Bytes still held (at most `capacity`).
    public var bytesHeld: Int { storage.count }
    /// Bytes seen that the ring no longer holds; also the absolute offset of the oldest byte held.
    public var bytesDropped: UInt64 { bytesSeen - UInt64(storage.count) }

    /// Takes what the guest wrote; once full, each new byte replaces the oldest one.
    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        bytesSeen &+= UInt64(bytes.count)
        if storage.isEmpty { storage.reserveCapacity(capacity) }
        // Only the last `capacity` bytes can survive.
        let kept = bytes.count > capacity ? bytes[(bytes.endIndex - capacity)...] : bytes
        for b in kept {
            if storage.count < capacity {
                storage.append(b)
            } else {
                storage[oldest] = b
                oldest = oldest + 1 == capacity ? 0 : oldest + 1
            }
        }
    }

    public mutating func append(_ bytes: [UInt8]) { append(bytes[...]) }

    /// The byte `i` places after the oldest held (0 ..< bytesHeld).
    func byte(_ i: Int) -> UInt8 {
        let at = oldest + i
        return storage[at < storage.count ? at : at - storage.count]
    }

    /// The held bytes `from ..< to` (logical indexes), '\r' dropped.
    func text(_ from: Int, _ to: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(to - from)
        for i in from..<to {
            let b = byte(i)
            if b != 13 { out.append(b) }
        }
        return out
    }

    /// At most `lines` of the last complete lines (oldest first) and the unfinished line after them.
    /// With `since` (an absolute byte offset, as a previous tail's `cursor` gave), only lines that
    /// start at or after it: a follower reads each line once.
    public func tail(lines: Int, since: UInt64? = nil) -> ConsoleTail {
        let held = storage.count
        let dropped = bytesDropped
        // The last '\n' held: the unfinished line follows it.
        var lastNewline = held - 1
        while lastNewline >= 0 && byte(lastNewline) != 10 { lastNewline -= 1 }
        let partialStart = lastNewline + 1
        var result = ConsoleTail(lines: [], partial: text(partialStart, held), truncated: false,
                                 cursor: dropped + UInt64(partialStart), bytesSeen: bytesSeen, bytesHeld: held)
        // With no newline held, the unfinished line is all there is; its start is lost if bytes were dropped.
        let floor = since ?? 0
        if lastNewline < 0 {
            result.truncated = dropped > 0 && dropped > floor
            return result
        }
        var end = lastNewline
        var found: [[UInt8]] = []
        while found.count < lines {
            var start = end - 1
            while start >= 0 && byte(start) != 10 { start -= 1 }
            start += 1
            // A line whose start is before `since` was read already.
            if dropped + UInt64(start) < floor { break }
            if start == 0 && dropped > 0 {
                // Its beginning was overwritten: it is shown cut, and flagged.
                found.append(text(start, end))
                result.truncated = true
                break
            }
            found.append(text(start, end))
            if start == 0 { break }
            end = start - 1
        }
        result.lines = found.reversed()
        return result
    }
}

/// What one read of a ConsoleHistory gives.
public struct ConsoleTail: Equatable, Sendable {
    /// Complete lines, oldest first, without their '\n' (and without any '\r').
    public var lines: [[UInt8]]
    /// The text after the last newline: a line the guest has not ended yet (often a prompt or an echo).
    public var partial: [UInt8]
    /// The oldest text returned lost its beginning: the ring had overwritten it.
    public var truncated: Bool
    /// The absolute offset just after the last complete line: pass it as `since` to read only newer lines.
    public var cursor: UInt64
    public var bytesSeen: UInt64
    public var bytesHeld: Int
}
