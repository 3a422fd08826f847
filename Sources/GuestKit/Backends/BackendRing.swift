// BackendRing.swift: the backend's side of a one-page shared ring (Xen's io/ring.h, RING_* macros
// for the back end): which requests the frontend has produced, taken once each, and responses
// published with Xen's rule for whether the frontend wants an event. Every index comes from the
// frontend and is checked before use: a producer more than a ring ahead is garbage, never a loop.

import PVABI

/// The backend's private indexes for one ring, and the checks on the frontend's.
public struct BackendRing: Equatable, Sendable {
    public let size: UInt32
    /// The next request to take, and the next response slot to fill.
    public private(set) var requestConsumer: UInt32 = 0
    public private(set) var responseProducer: UInt32 = 0

    /// A ring of `size` entries (a power of two).
    public init?(size: Int) {
        guard size > 0, size & (size - 1) == 0, size <= 4096 else { return nil }
        self.size = UInt32(size)
    }

    /// A ring whose indexes start at `start` (a long-lived ring's, for tests across the 2^32 wrap).
    init?(size: Int, startingAt start: UInt32) {
        self.init(size: size)
        requestConsumer = start
        responseProducer = start
    }

    public enum Fault: Error, Equatable, Sendable {
        /// The frontend's producer is more than a ring ahead of what was answered: garbage.
        case producerOutOfRange(producer: UInt32, consumer: UInt32)
    }

    /// How many requests are waiting, given the frontend's `producer` (read once by the caller);
    /// a producer that would have the frontend overwrite requests not yet answered is a fault.
    public func pending(producer: UInt32) -> Result<UInt32, Fault> {
        // Requests outstanding: produced but not yet answered. At most a ring of them.
        let unanswered = producer &- responseProducer
        guard unanswered <= size else { return .failure(.producerOutOfRange(producer: producer, consumer: requestConsumer)) }
        return .success(producer &- requestConsumer)
    }

    /// The ring slot of the next request to take; the request is then taken.
    public mutating func takeRequest() -> UInt32 {
        let slot = requestConsumer & (size - 1)
        requestConsumer &+= 1
        return slot
    }

    /// The ring slot for the next response (at most as many responses as requests taken).
    public mutating func nextResponseSlot() -> UInt32? {
        guard responseProducer != requestConsumer else { return nil }
        let slot = responseProducer & (size - 1)
        responseProducer &+= 1
        return slot
    }

    /// RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: having published responses up to `responseProducer`
    /// (the old value was `published`), whether the frontend asked to be told (its rsp_event lies in
    /// the newly published range).
    public static func notifyNeeded(published old: UInt32, now new: UInt32, responseEvent: UInt32) -> Bool {
        new &- responseEvent < new &- old
    }

    /// RING_FINAL_CHECK_FOR_REQUESTS's value for req_event: the frontend notifies for the next request.
    public var requestEvent: UInt32 { requestConsumer &+ 1 }
}
