// StoreRing.swift: index arithmetic for the two 1024-byte rings of xenstore_domain_interface (req
// at 0, rsp at 1024, then req_cons, req_prod, rsp_cons, rsp_prod as free-running u32s). The
// indexes come from a guest: filled > 1024 means garbage, answered nil, never a loop or an over-read.

public enum StoreRing {
    /// XENSTORE_RING_SIZE.
    public static let size: UInt32 = 1024
    /// Byte offsets in the shared page.
    public static let requestOffset = 0
    public static let responseOffset = 1024
    public static let requestConsumerOffset = 2048
    public static let requestProducerOffset = 2052
    public static let responseConsumerOffset = 2056
    public static let responseProducerOffset = 2060

    /// Bytes produced and not yet consumed; nil when the indexes are corrupt (more than a ring).
    public static func filled(consumer: UInt32, producer: UInt32) -> UInt32? {
        let n = producer &- consumer
        return n <= size ? n : nil
    }

    /// Bytes a producer may still write; nil when the indexes are corrupt.
    public static func space(consumer: UInt32, producer: UInt32) -> UInt32? {
        filled(consumer: consumer, producer: producer).map { size - $0 }
    }

    /// The positions in the ring of `count` bytes starting at free-running index `index`: at most
    /// two runs, the second starting at 0 when they wrap. `count` must be at most `size`.
    public static func runs(at index: UInt32, count: UInt32) -> (first: Range<Int>, second: Range<Int>) {
        let start = Int(index & (size - 1))
        let n = Int(min(count, size))
        let firstCount = min(n, Int(size) - start)
        return (start..<(start + firstCount), 0..<(n - firstCount))
    }

    /// Takes up to `limit` waiting bytes from `ring` (exactly `size` bytes of storage). Answers them
    /// and the consumer index to publish, or nil when the indexes or the storage are wrong.
    public static func read(_ ring: UnsafeBufferPointer<UInt8>, consumer: UInt32, producer: UInt32,
                            limit: Int = Int(size)) -> (bytes: [UInt8], consumer: UInt32)? {
        guard ring.count == Int(size), limit >= 0,
              let waiting = filled(consumer: consumer, producer: producer) else { return nil }
        let n = min(waiting, UInt32(min(limit, Int(size))))
        let (first, second) = runs(at: consumer, count: n)
        let bytes = Array(ring[first]) + Array(ring[second])
        return (bytes, consumer &+ n)
    }

    /// Puts as many of `bytes` as fit into `ring`. Answers how many went in and the producer index
    /// to publish, or nil when the indexes or the storage are wrong.
    public static func write(_ bytes: ArraySlice<UInt8>, into ring: UnsafeMutableBufferPointer<UInt8>,
                             consumer: UInt32, producer: UInt32) -> (written: Int, producer: UInt32)? {
        guard ring.count == Int(size), let free = space(consumer: consumer, producer: producer) else { return nil }
        let n = min(Int(free), bytes.count)
        let (first, second) = runs(at: producer, count: UInt32(n))
        var source = bytes.startIndex
        for i in first { ring[i] = bytes[source]; source += 1 }
        for i in second { ring[i] = bytes[source]; source += 1 }
        return (n, producer &+ UInt32(n))
    }
}
