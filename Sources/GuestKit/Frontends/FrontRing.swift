// FrontRing.swift: the frontend's side of a one-page shared ring (Xen's io/ring.h, the RING_* macros
// for the front end): the private request producer, the response consumer, how many slots are free,
// whether a push needs an event, and the check on the backend's response producer. Pure index
// arithmetic: it never touches the shared page, and a backend index it cannot trust is answered as a
// fault, never a loop or an over-read.

public struct FrontRing: Equatable, Sendable {
    public let size: UInt32
    /// req_prod_pvt: requests written (published or not); rsp_cons: responses taken.
    public private(set) var requestProducer: UInt32 = 0
    public private(set) var responseConsumer: UInt32 = 0

    /// A ring of `size` entries (a power of two up to 4096).
    public init?(size: Int) {
        guard size > 0, size & (size - 1) == 0, size <= 4096 else { return nil }
        self.size = UInt32(size)
    }

    /// A ring whose indexes start at `start` (for tests across the 2^32 wrap).
    init?(size: Int, startingAt start: UInt32) {
        self.init(size: size)
        requestProducer = start
        responseConsumer = start
    }

    public enum Fault: Error, Equatable, Sendable {
        /// The backend claims responses to requests never made: garbage.
        case responseProducerOutOfRange(producer: UInt32, consumer: UInt32)
    }

    /// Requests made and not yet answered (taken back as responses).
    public var outstanding: UInt32 { requestProducer &- responseConsumer }

    /// RING_FULL's complement: slots a new request may take.
    public var freeSlots: UInt32 { size - min(outstanding, size) }

    /// The ring slot of the next request, or nil when the ring is full; the request is then made.
    public mutating func nextRequestSlot() -> UInt32? {
        guard freeSlots > 0 else { return nil }
        let slot = requestProducer & (size - 1)
        requestProducer &+= 1
        return slot
    }

    /// How many responses wait, given the backend's `producer` (read once by the caller): a producer
    /// past the requests made is a fault.
    public func responses(producer: UInt32) -> Result<UInt32, Fault> {
        let waiting = producer &- responseConsumer
        guard waiting <= outstanding else {
            return .failure(.responseProducerOutOfRange(producer: producer, consumer: responseConsumer))
        }
        return .success(waiting)
    }

    /// The ring slot of the next response; it is then taken. Only after `responses` said one waits.
    public mutating func takeResponse() -> UInt32 {
        let slot = responseConsumer & (size - 1)
        responseConsumer &+= 1
        return slot
    }

    /// RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: having published requests up to `new` (the old value was
    /// `old`), whether the backend asked to be told (its req_event lies in the newly published range).
    public static func notifyNeeded(published old: UInt32, now new: UInt32, requestEvent: UInt32) -> Bool {
        new &- requestEvent < new &- old
    }

    /// RING_FINAL_CHECK_FOR_RESPONSES's value for rsp_event: the backend notifies for the next response.
    public var responseEvent: UInt32 { responseConsumer &+ 1 }
}
