// StoreReplies.swift: a domU's side of xenstored's response ring: the next whole message waiting in it
// (XS_WATCH_EVENT or a reply), taken with the consumer index to publish, and a watch event's path and
// token. Pure: the ring's bytes and indexes come from the other end and are checked (a corrupt index
// or a length past XENSTORE_PAYLOAD_MAX is a fault, never a loop or an over-read).

public enum StoreReplies {
    public enum Next: Equatable, Sendable {
        /// No whole message yet.
        case none
        /// A whole message and the consumer index that takes it.
        case message(StoreMessage, consumer: UInt32)
        /// The indexes or a header cannot be true.
        case corrupt
    }

    /// The next whole message in `ring` (the 1024-byte response ring) between `consumer` and `producer`.
    public static func next(_ ring: UnsafeBufferPointer<UInt8>, consumer: UInt32, producer: UInt32) -> Next {
        guard let filled = StoreRing.filled(consumer: consumer, producer: producer) else { return .corrupt }
        guard filled >= UInt32(StoreHeader.size) else { return .none }
        guard let (head, _) = StoreRing.read(ring, consumer: consumer, producer: producer, limit: StoreHeader.size),
              let header = StoreHeader(head[...]) else { return .corrupt }
        guard header.length <= StoreHeader.payloadMax else { return .corrupt }
        let whole = UInt32(StoreHeader.size) + header.length
        // A message longer than the ring arrives in pieces; this client never asks for one.
        guard whole <= StoreRing.size else { return .corrupt }
        guard filled >= whole else { return .none }
        guard let (bytes, next) = StoreRing.read(ring, consumer: consumer, producer: producer, limit: Int(whole)) else { return .corrupt }
        let message = StoreMessage(type: header.type, requestID: header.requestID, transactionID: header.transactionID,
                                   payload: Array(bytes[StoreHeader.size...]))
        return .message(message, consumer: next)
    }

    /// An XS_WATCH_EVENT's path and token (its payload: "path\0token\0"); nil when malformed.
    public static func watchEvent(_ payload: [UInt8]) -> (path: [UInt8], token: [UInt8])? {
        let parts = StorePayload.split(payload).strings
        guard parts.count >= 2 else { return nil }
        return (parts[0], parts[1])
    }

    /// A request's bytes for the ring: nil when the payload is larger than xenstored takes or than the
    /// ring (this client writes a request whole).
    public static func request(_ type: StoreMessageType, id: UInt32, payload: [UInt8]) -> [UInt8]? {
        guard payload.count <= Int(StoreHeader.payloadMax), StoreHeader.size + payload.count <= Int(StoreRing.size) else { return nil }
        return StoreMessage(type, requestID: id, payload: payload).encoded
    }
}
