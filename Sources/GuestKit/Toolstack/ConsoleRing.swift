// ConsoleRing.swift: dom0's moves on a domain's xencons_interface (layout: PVABI's
// ConsoleInterfaceLayout, xen/include/public/io/console.h): take what the guest wrote to `out`, put typed bytes into `in`. The indexes come
// from the guest: each is read once, and producer - consumer past the ring's size is garbage, answered
// by dropping what is there (never a loop, an over-read, or a stall).

import PVABI

public enum ConsoleRing {
    public static let inputOffset = ConsoleInterfaceLayout.inputOffset
    public static let inputSize = ConsoleInterfaceLayout.inputSize
    public static let outputOffset = ConsoleInterfaceLayout.outputOffset
    public static let outputSize = ConsoleInterfaceLayout.outputSize
    public static let inputConsumerOffset = ConsoleInterfaceLayout.inputConsumerOffset
    public static let inputProducerOffset = ConsoleInterfaceLayout.inputProducerOffset
    public static let outputConsumerOffset = ConsoleInterfaceLayout.outputConsumerOffset
    public static let outputProducerOffset = ConsoleInterfaceLayout.outputProducerOffset
    /// The page must hold at least this many bytes.
    public static let pageBytes = 4096

    /// What one drain of `out` found.
    public enum Drained: Equatable, Sendable {
        /// The bytes the guest had produced (possibly none); out_cons now equals the producer.
        case bytes([UInt8])
        /// producer - consumer was more than the ring: the ring was reset to empty (out_cons = out_prod)
        /// and nothing was taken.
        case corrupt(consumer: UInt32, producer: UInt32)
    }

    /// Bytes produced and not consumed in a ring of `size` (a power of two); nil when more than a ring.
    public static func filled(consumer: UInt32, producer: UInt32, size: UInt32) -> UInt32? {
        let n = producer &- consumer
        return n <= size ? n : nil
    }

    /// Takes everything the guest produced into `out`, and publishes the new out_cons. `page` is the
    /// mapped console page (at least `pageBytes`). Reads the producer once, then the data after it
    /// (the order Xen's consoled keeps: index, barrier, data), then writes the consumer.
    public static func drainOutput(_ page: UnsafeMutableRawBufferPointer) -> Drained {
        guard page.count >= pageBytes else { return .corrupt(consumer: 0, producer: 0) }
        let consumer = page.loadUnaligned(fromByteOffset: outputConsumerOffset, as: UInt32.self)
        let producer = page.loadUnaligned(fromByteOffset: outputProducerOffset, as: UInt32.self)
        guard let n = filled(consumer: consumer, producer: producer, size: outputSize) else {
            page.storeBytes(of: producer, toByteOffset: outputConsumerOffset, as: UInt32.self)
            return .corrupt(consumer: consumer, producer: producer)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(n))
        var index = consumer
        for _ in 0..<n {
            bytes.append(page[outputOffset + Int(index & (outputSize - 1))])
            index &+= 1
        }
        page.storeBytes(of: producer, toByteOffset: outputConsumerOffset, as: UInt32.self)
        return .bytes(bytes)
    }

    /// Skips the output the hypervisor already printed (produced before free-running index `printed`):
    /// out_cons moves up to it when it lies between the consumer and the producer. Answers the bytes
    /// skipped; nothing moves when the indexes are garbage or `printed` is outside them.
    public static func skipOutput(_ page: UnsafeMutableRawBufferPointer, upTo printed: UInt32) -> UInt32 {
        guard page.count >= pageBytes else { return 0 }
        let consumer = page.loadUnaligned(fromByteOffset: outputConsumerOffset, as: UInt32.self)
        let producer = page.loadUnaligned(fromByteOffset: outputProducerOffset, as: UInt32.self)
        guard let waiting = filled(consumer: consumer, producer: producer, size: outputSize) else { return 0 }
        let skip = printed &- consumer
        guard skip <= waiting else { return 0 }
        page.storeBytes(of: printed, toByteOffset: outputConsumerOffset, as: UInt32.self)
        return skip
    }

    /// Puts as many of `bytes` as fit into `in` and publishes in_prod (data first, then the index).
    /// Answers how many went in, or nil when the guest's indexes are garbage (nothing written).
    public static func feedInput(_ page: UnsafeMutableRawBufferPointer, _ bytes: ArraySlice<UInt8>) -> Int? {
        guard page.count >= pageBytes else { return nil }
        let consumer = page.loadUnaligned(fromByteOffset: inputConsumerOffset, as: UInt32.self)
        let producer = page.loadUnaligned(fromByteOffset: inputProducerOffset, as: UInt32.self)
        guard let used = filled(consumer: consumer, producer: producer, size: inputSize) else { return nil }
        let n = min(Int(inputSize - used), bytes.count)
        var index = producer
        var source = bytes.startIndex
        for _ in 0..<n {
            page[inputOffset + Int(index & (inputSize - 1))] = bytes[source]
            source += 1
            index &+= 1
        }
        page.storeBytes(of: index, toByteOffset: inputProducerOffset, as: UInt32.self)
        return n
    }
}
