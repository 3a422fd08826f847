// ServerSentEvents.swift: the bytes of dom0's GET /v1/events stream (text/event-stream, the HTML
// "server-sent events" format): the response head, one lifecycle event as `id:`, `event:` and a
// one-line JSON `data:`, the keep-alive comment; the ring of recent events a reconnecting client's
// Last-Event-ID is replayed from; and the rule that drops a subscriber that does not read. Pure:
// it never sends and never holds more than `EventRing.capacity` events.

public enum ServerSentEvents {
    /// The response head: 200, text/event-stream, no length (the stream ends when the connection
    /// does), then a `retry:` hint for clients that reconnect.
    public static func head(retryMs: UInt64 = 2000) -> [UInt8] {
        var out: [UInt8] = []
        HttpResponse.append(&out, "HTTP/1.1 200 OK\r\nServer: apus-dom0\r\nContent-Type: text/event-stream\r\n")
        HttpResponse.append(&out, "Cache-Control: no-cache\r\nConnection: close\r\n\r\nretry: ")
        HttpResponse.appendDecimal(&out, retryMs)
        HttpResponse.append(&out, "\n\n")
        return out
    }

    /// `id: SEQ\nevent: NAME\ndata: {"id":..,"name":..,"state":..,"time":..[,"reason":..]}\n\n`; `timeMs`
    /// is the system time of the snapshot that showed it. JsonWriter escapes every control byte, so a
    /// domain's name cannot end the data line or forge another field.
    public static func event(sequence: UInt64, _ e: LifecycleEvent, timeMs: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        HttpResponse.append(&out, "id: ")
        HttpResponse.appendDecimal(&out, sequence)
        HttpResponse.append(&out, "\nevent: ")
        HttpResponse.append(&out, e.kind.name)
        HttpResponse.append(&out, "\ndata: ")
        out += data(e, timeMs: timeMs)
        HttpResponse.append(&out, "\n\n")
        return out
    }

    public static func data(_ e: LifecycleEvent, timeMs: UInt64) -> [UInt8] {
        var w = JsonWriter()
        w.beginObject()
        w.key("id"); w.integer(UInt64(e.id))
        w.key("name"); w.string(e.name)
        w.key("state"); w.string(e.state.word)
        w.key("time"); w.integer(timeMs)
        if let r = e.reasonName { w.key("reason"); w.string(r) }
        w.endObject()
        return w.bytes
    }

    /// A comment line: clients ignore it; it keeps proxies and NAT from closing a quiet stream.
    public static var keepAlive: [UInt8] { HttpBytes.bytes(": keep-alive\n\n") }

    /// The Last-Event-ID header's value as a sequence number: decimal digits only, at most 19.
    public static func lastEventID(_ value: [UInt8]?) -> UInt64? {
        guard let value, !value.isEmpty, value.count <= 19 else { return nil }
        var n: UInt64 = 0
        for c in value {
            guard c >= 48 && c <= 57 else { return nil }
            n = n * 10 + UInt64(c - 48)
        }
        return n
    }
}

/// The last `capacity` events with their sequence numbers (1, 2, ...) and times.
public struct EventRing: Sendable {
    public static let capacity = 32
    public private(set) var entries: [(sequence: UInt64, event: LifecycleEvent, timeMs: UInt64)] = []
    public private(set) var lastSequence: UInt64 = 0

    public init() {}

    /// Numbers `e` and keeps it (the oldest goes when full): its sequence number.
    @discardableResult
    public mutating func append(_ e: LifecycleEvent, timeMs: UInt64) -> UInt64 {
        lastSequence += 1
        if entries.count == Self.capacity { entries.removeFirst() }
        entries.append((lastSequence, e, timeMs))
        return lastSequence
    }

    /// The kept events after `sequence` (a client's Last-Event-ID), oldest first; a number from
    /// the future (a dom0 that restarted) gives every kept event.
    public func after(_ sequence: UInt64) -> [(sequence: UInt64, event: LifecycleEvent, timeMs: UInt64)] {
        if sequence > lastSequence { return entries }
        return entries.filter { $0.sequence > sequence }
    }
}

/// Whether a subscriber keeps its stream. dom0 keeps what lwIP has not taken per connection; a
/// client that stopped reading must not make that grow without end.
public enum SubscriberPolicy {
    /// At most this many streams at once (the 16 connections stay mostly for requests).
    public static let maxSubscribers = 4
    /// More owed than this: dropped at once.
    public static let maxOwed = 16 * 1024
    /// Owing bytes with none taken for this long (ns): dropped.
    public static let stallLimit: UInt64 = 30_000_000_000
    /// A keep-alive comment when the stream was quiet this long (ns).
    public static let keepAliveInterval: UInt64 = 10_000_000_000

    public enum Verdict: Equatable, Sendable { case keep, drop }

    /// `owed` now; `progressed`: whether lwIP took any of the stream's bytes since the previous look;
    /// `stalledSince`: since when bytes have been owed with none taken (nil: none owed). The verdict
    /// and the new `stalledSince`.
    public static func check(owed: Int, progressed: Bool, stalledSince: UInt64?, now: UInt64) -> (Verdict, UInt64?) {
        if owed > maxOwed { return (.drop, stalledSince) }
        if owed == 0 { return (.keep, nil) }
        guard let since = stalledSince, !progressed else { return (.keep, now) }
        return (now - min(since, now) > stallLimit ? .drop : .keep, since)
    }
}
