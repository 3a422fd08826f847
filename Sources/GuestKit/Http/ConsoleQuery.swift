// ConsoleQuery.swift: what a request to /v1/domains/{id|name}/console asks, decided from its bytes
// before dom0 touches the domain: GET's query (`lines=N`, `since=OFFSET`) and POST's body limits, and
// the JSON a read answers. Pure: it never reads a ring and never echoes the request's bytes in an error.

public struct ConsoleQuery: Equatable, Sendable {
    /// Lines a GET answers unless it says `lines=N`.
    public static let defaultLines = 50
    /// The most lines one GET may ask for.
    public static let maxLines = 1000
    /// The most bytes one POST may carry: one console input ring (xencons_interface `in`).
    public static let maxInputBytes = Int(ConsoleRing.inputSize)

    public var lines = ConsoleQuery.defaultLines
    public var since: UInt64? = nil

    public init(lines: Int = ConsoleQuery.defaultLines, since: UInt64? = nil) {
        self.lines = lines
        self.since = since
    }

    /// The query of a GET's target ("...?lines=20&since=1234"); unknown keys are ignored, a malformed
    /// or out-of-range value is a 400.
    public static func decode(_ target: [UInt8]) -> Result<ConsoleQuery, HttpError> {
        var q = ConsoleQuery()
        guard let mark = target.firstIndex(of: 63) else { return .success(q) }
        for pair in target[(mark + 1)...].split(separator: 38, omittingEmptySubsequences: true) {
            let eq = pair.firstIndex(of: 61)
            let key = eq.map { pair[..<$0] } ?? pair
            let value = eq.map { pair[($0 + 1)...] } ?? []
            if HttpBytes.equal(key, "lines") {
                guard let n = number(value), n <= UInt64(maxLines) else {
                    return .failure(HttpError(400, "lines must be a whole number from 0 to 1000"))
                }
                q.lines = Int(n)
            } else if HttpBytes.equal(key, "since") {
                guard let n = number(value) else { return .failure(HttpError(400, "since must be a byte offset (a whole number)")) }
                q.since = n
            }
        }
        return .success(q)
    }

    /// A decimal of 1 to 15 digits.
    static func number(_ s: ArraySlice<UInt8>) -> UInt64? { HttpQuery.decimal(s, maxDigits: 15) }

    /// Whether a POST's body may go to a console: 400 when empty, 413 past one input ring.
    public static func checkInput(_ body: [UInt8]) -> HttpError? {
        if body.isEmpty { return HttpError(400, "nothing to send: the body is empty") }
        if body.count > maxInputBytes { return HttpError(413, "console input is at most 1024 bytes per request") }
        return nil
    }

    /// The JSON of a read (docs/openapi.json, ConsoleOutput).
    public static func write(domain: UInt16, _ t: ConsoleTail) -> JsonWriter {
        var w = JsonWriter()
        w.beginObject()
        w.key("id"); w.integer(UInt64(domain))
        w.key("lines"); w.beginArray()
        for line in t.lines { w.string(line) }
        w.endArray()
        w.key("partial"); w.string(t.partial)
        w.key("truncated"); w.bool(t.truncated)
        w.key("cursor"); w.integer(t.cursor)
        w.key("bytes_seen"); w.integer(t.bytesSeen)
        w.key("bytes_held"); w.integer(UInt64(t.bytesHeld))
        w.endObject()
        return w
    }

    /// The JSON of a write (ConsoleInput): how many of the bytes the ring took.
    public static func written(domain: UInt16, accepted: Int, sent: Int) -> JsonWriter {
        var w = JsonWriter()
        w.beginObject()
        w.key("id"); w.integer(UInt64(domain))
        w.key("accepted"); w.integer(UInt64(accepted))
        w.key("sent"); w.integer(UInt64(sent))
        w.endObject()
        return w
    }
}
