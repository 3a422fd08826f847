// HttpParser.swift: the incremental HTTP/1.1 request parser of dom0's API server. Bytes from a TCP
// connection are fed as they come; `next()` hands over each complete request in the order it was sent
// (pipelining), asks for more, or names what was wrong (400, 413, 431, 501, 505). It parses untrusted
// bytes: it never traps on any input, holds at most one request's bytes (bounded by HttpLimits), and
// never acts on what it parsed. A kernel upload (POST /v1/kernels with the API's token) may have a
// larger body than other requests, sent with Content-Length (a chunked one keeps the small limit), on
// one connection at a time (the server says whether one may start).

public struct HttpLimits: Equatable, Sendable {
    /// Request line and header fields together, with their line ends (else 431).
    public var maxHeadBytes: Int
    public var maxHeaders: Int
    /// The decoded body (else 413).
    public var maxBodyBytes: Int
    /// The decoded body of a kernel upload (KernelRoute.isUpload) that carries `Authorization: Bearer
    /// <uploadToken>` (else 413); 0 (or an empty token): uploads get `maxBodyBytes` like the rest.
    public var maxUploadBytes: Int
    public var uploadToken: [UInt8]

    public init(maxHeadBytes: Int = 8192, maxHeaders: Int = 64, maxBodyBytes: Int = 64 * 1024,
                maxUploadBytes: Int = 0, uploadToken: [UInt8] = []) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaders = maxHeaders
        self.maxBodyBytes = maxBodyBytes
        self.maxUploadBytes = maxUploadBytes
        self.uploadToken = uploadToken
    }
}

public enum HttpParseResult: Equatable, Sendable {
    case request(HttpRequest)
    /// No complete request yet: feed more bytes.
    case needMore
    /// The connection's byte stream is not HTTP we accept; answer with the error and close.
    case error(HttpError)
}

public struct HttpParser: Sendable {
    enum State: Equatable, Sendable {
        case head
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailer
        case failed(HttpError)
    }

    public let limits: HttpLimits
    var state: State = .head
    /// Bytes received and not yet consumed by a completed request; `at` is how far parsing got.
    var buffer: [UInt8] = []
    var at = 0
    var pending: HttpRequest? = nil
    var trailerBytes = 0
    /// How far the head has been scanned for its end, and where the line being scanned starts.
    var scan = 0
    var scanLineStart = 0
    /// The body limit of the request being received (its head decided it).
    var bodyLimit = 0
    /// Bytes of the request being received already dropped from `buffer` (a Content-Length body is
    /// moved into the request as it comes, so a large one is held once).
    var dropped = 0
    /// Whether the request being received is an upload with the larger limit.
    public private(set) var receivingUpload = false
    /// Whether an upload may start its larger body on this connection now (the server clears it while
    /// another connection is receiving one): when false, one gets 503.
    public var uploadsAdmitted = true

    public init(limits: HttpLimits = HttpLimits()) { self.limits = limits }

    /// Bytes received and not yet part of a handed-over request.
    public var buffered: Int { buffer.count + dropped }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if case .failed = state { return }
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The next complete request, a request for more bytes, or the error that ends the connection
    /// (then every later call returns the same error).
    public mutating func next() -> HttpParseResult {
        while true {
            switch state {
            case .failed(let e):
                return .error(e)
            case .head:
                switch parseHead() {
                case .failure(let e): return fail(e)
                case .success(false): return .needMore
                case .success(true): continue
                }
            case .body(let remaining):
                let n = min(remaining, buffer.count - at)
                if n > 0 {
                    pending!.body.append(contentsOf: buffer[at..<(at + n)])
                    at += n
                }
                if n < remaining {
                    state = .body(remaining: remaining - n)
                    if at > 0 {
                        dropped += at
                        buffer.removeFirst(at)
                        at = 0
                    }
                    return .needMore
                }
                return finish()
            case .chunkSize:
                // Chunk framing may cost bytes too (many tiny chunks with extensions): bounded as well.
                guard at <= limits.maxHeadBytes + 2 * bodyLimit else { return fail(HttpError(413, "chunked framing too large")) }
                switch line(limit: 256, tooLong: HttpError(400, "chunk size line too long")) {
                case .failure(let e): return fail(e)
                case .success(nil): return .needMore
                case .success(let l?):
                    switch Self.chunkSize(buffer[l]) {
                    case .failure(let e): return fail(e)
                    case .success(0): state = .trailer
                    case .success(let n):
                        guard n <= bodyLimit - pending!.body.count else { return fail(HttpError(413, "request body too large")) }
                        state = .chunkData(remaining: n)
                    }
                }
            case .chunkData(let remaining):
                let n = min(remaining, buffer.count - at)
                guard n > 0 else { return .needMore }
                pending!.body.append(contentsOf: buffer[at..<(at + n)])
                at += n
                state = remaining - n == 0 ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            case .chunkDataEnd:
                guard buffer.count - at >= 2 else { return .needMore }
                guard buffer[at] == 13 && buffer[at + 1] == 10 else { return fail(HttpError(400, "chunk data not followed by CRLF")) }
                at += 2
                state = .chunkSize
            case .trailer:
                switch line(limit: limits.maxHeadBytes, tooLong: HttpError(431, "trailer fields too large")) {
                case .failure(let e): return fail(e)
                case .success(nil): return .needMore
                case .success(let l?):
                    trailerBytes += l.count + 2
                    guard trailerBytes <= limits.maxHeadBytes else { return fail(HttpError(431, "trailer fields too large")) }
                    if l.isEmpty { return finish() }
                    guard Self.fieldLine(buffer[l]) != nil else { return fail(HttpError(400, "malformed trailer field")) }
                }
            }
        }
    }

    mutating func fail(_ e: HttpError) -> HttpParseResult {
        state = .failed(e)
        buffer = []
        at = 0
        pending = nil
        scan = 0
        scanLineStart = 0
        dropped = 0
        receivingUpload = false
        return .error(e)
    }

    mutating func finish() -> HttpParseResult {
        let r = pending!
        pending = nil
        buffer.removeFirst(at)
        at = 0
        trailerBytes = 0
        dropped = 0
        receivingUpload = false
        state = .head
        return .request(r)
    }

    /// The range of the next line's bytes (without CRLF) and moves past it; nil when no line end came
    /// within `limit` bytes yet. A bare LF or a line longer than `limit` is an error.
    mutating func line(limit: Int, tooLong: HttpError) -> Result<Range<Int>?, HttpError> {
        var i = at
        while i < buffer.count {
            if buffer[i] == 10 {
                guard i > at && buffer[i - 1] == 13 else { return .failure(HttpError(400, "line ends in LF without CR")) }
                let r = at..<(i - 1)
                at = i + 1
                return .success(r)
            }
            i += 1
            if i - at > limit { return .failure(tooLong) }
        }
        return .success(nil)
    }

    static func chunkSize(_ l: ArraySlice<UInt8>) -> Result<Int, HttpError> {
        var n = 0
        var digits = 0
        var i = l.startIndex
        while i < l.endIndex, let d = hexDigit(l[i]) {
            guard digits < 7 else { return .failure(HttpError(413, "chunk too large")) }
            n = n * 16 + d
            digits += 1
            i += 1
        }
        guard digits > 0 else { return .failure(HttpError(400, "malformed chunk size")) }
        // Chunk extensions are ignored, but must be printable.
        while i < l.endIndex && (l[i] == 32 || l[i] == 9) { i += 1 }
        if i < l.endIndex {
            guard l[i] == 59 else { return .failure(HttpError(400, "malformed chunk size")) }
            for c in l[i...] where c < 32 && c != 9 || c == 127 { return .failure(HttpError(400, "control character in chunk extension")) }
        }
        return .success(n)
    }

    static func hexDigit(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: return Int(c - 48)
        case 65...70: return Int(c - 55)
        case 97...102: return Int(c - 87)
        default: return nil
        }
    }

    /// A header field line split into lower-cased name and trimmed value, or nil when malformed.
    static func fieldLine(_ l: ArraySlice<UInt8>) -> HttpHeader? {
        guard let colon = l.firstIndex(of: 58), colon > l.startIndex else { return nil }
        var name: [UInt8] = []
        for c in l[..<colon] {
            guard HttpBytes.isTokenChar(c) else { return nil }
            name.append(HttpBytes.lower(c))
        }
        var s = colon + 1
        var e = l.endIndex
        while s < e && (l[s] == 32 || l[s] == 9) { s += 1 }
        while e > s && (l[e - 1] == 32 || l[e - 1] == 9) { e -= 1 }
        for c in l[s..<e] where (c < 32 && c != 9) || c == 127 { return nil }
        return HttpHeader(name: name, value: Array(l[s..<e]))
    }

    /// Parses the request line and header fields once they have all arrived: true when the head is
    /// complete (and the state moved to the body), false when more bytes are needed. The head is
    /// scanned once, left to right, so the first fault in byte order is the one reported however the
    /// bytes were split.
    mutating func parseHead() -> Result<Bool, HttpError> {
        var j = max(scan, at)
        var lineStart = max(scanLineStart, at)
        var end = -1
        while j < buffer.count {
            guard j - at < limits.maxHeadBytes else { return .failure(HttpError(431, "request header fields too large")) }
            let c = buffer[j]
            if c == 10 { return .failure(HttpError(400, "line ends in LF without CR")) }
            if c != 13 { j += 1; continue }
            guard j + 1 < buffer.count else { break }
            guard buffer[j + 1] == 10 else { return .failure(HttpError(400, "CR without LF")) }
            guard j + 1 - at < limits.maxHeadBytes else { return .failure(HttpError(431, "request header fields too large")) }
            if j == lineStart {
                // Empty lines before a request line are ignored (RFC 9112 2.2); after one, the head ends.
                if j == at { at += 2; j = at; lineStart = at; continue }
                end = j - 2
                break
            }
            j += 2
            lineStart = j
        }
        guard end >= 0 else { scan = j; scanLineStart = lineStart; return .success(false) }
        let head = at..<end
        at = end + 4
        scan = 0
        scanLineStart = 0
        // Split into lines at CRLF (the scan found no bare CR or LF).
        var lines: [Range<Int>] = []
        var s = head.lowerBound
        var k = head.lowerBound
        while k < head.upperBound {
            if buffer[k] == 13 { lines.append(s..<k); k += 2; s = k } else { k += 1 }
        }
        lines.append(s..<head.upperBound)
        guard lines.count - 1 <= limits.maxHeaders else { return .failure(HttpError(431, "too many header fields")) }
        var request: HttpRequest
        switch Self.requestLine(buffer[lines[0]]) {
        case .failure(let e): return .failure(e)
        case .success(let r): request = r
        }
        for l in lines.dropFirst() {
            guard let first = buffer[l].first, first != 32 && first != 9 else { return .failure(HttpError(400, "obsolete line folding")) }
            guard let h = Self.fieldLine(buffer[l]) else { return .failure(HttpError(400, "malformed header field")) }
            request.headers.append(h)
        }
        return frame(&request).map { _ in true }
    }

    static func requestLine(_ l: ArraySlice<UInt8>) -> Result<HttpRequest, HttpError> {
        guard let sp1 = l.firstIndex(of: 32) else { return .failure(HttpError(400, "malformed request line")) }
        guard let sp2 = l[(sp1 + 1)...].firstIndex(of: 32) else { return .failure(HttpError(400, "malformed request line")) }
        let method = l[..<sp1], target = l[(sp1 + 1)..<sp2], version = l[(sp2 + 1)...]
        guard !method.isEmpty, method.allSatisfy(HttpBytes.isTokenChar) else { return .failure(HttpError(400, "malformed method")) }
        guard let slash = target.first, slash == 47 else { return .failure(HttpError(400, "request target is not an absolute path")) }
        guard target.count <= 2048 else { return .failure(HttpError(414, "request target too long")) }
        guard target.allSatisfy({ $0 > 32 && $0 < 127 }) else { return .failure(HttpError(400, "malformed request target")) }
        let minor: UInt8
        if HttpBytes.equal(version, "HTTP/1.1") { minor = 1 }
        else if HttpBytes.equal(version, "HTTP/1.0") { minor = 0 }
        else if version.count == 8 && HttpBytes.equal(version.prefix(5), "HTTP/") && version[version.startIndex + 6] == 46
                    && version.allSatisfy({ $0 != 32 }) && (48...57).contains(version[version.startIndex + 5]) {
            return .failure(HttpError(505, "HTTP version not supported"))
        } else { return .failure(HttpError(400, "malformed HTTP version")) }
        return .success(HttpRequest(method: HttpMethod.decode(method), target: Array(target), minorVersion: minor,
                                    headers: [], body: [], keepAlive: minor == 1))
    }

    /// Decides the body's framing from the headers (RFC 9112 6) and the connection's persistence.
    mutating func frame(_ request: inout HttpRequest) -> Result<Void, HttpError> {
        var length: Int? = nil
        var chunked = false
        var hosts = 0
        for h in request.headers {
            if HttpBytes.equal(h.name[...], "host") { hosts += 1 }
            else if HttpBytes.equal(h.name[...], "content-length") {
                guard !h.value.isEmpty, h.value.count <= 12, h.value.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    return .failure(HttpError(400, "malformed Content-Length"))
                }
                var n = 0
                for c in h.value { n = n * 10 + Int(c - 48) }
                if let l = length, l != n { return .failure(HttpError(400, "conflicting Content-Length fields")) }
                length = n
            } else if HttpBytes.equal(h.name[...], "transfer-encoding") {
                guard HttpBytes.equalFolded(h.value[...], "chunked"), !chunked else { return .failure(HttpError(501, "unsupported transfer coding")) }
                chunked = true
            } else if HttpBytes.equal(h.name[...], "connection") {
                for option in h.value.split(separator: 44) {
                    var o = option
                    while let f = o.first, f == 32 || f == 9 { o = o.dropFirst() }
                    while let b = o.last, b == 32 || b == 9 { o = o.dropLast() }
                    if HttpBytes.equalFolded(o, "close") { request.keepAlive = false }
                    if HttpBytes.equalFolded(o, "keep-alive") && request.minorVersion == 0 { request.keepAlive = true }
                }
            }
        }
        if request.minorVersion == 1 && hosts != 1 { return .failure(HttpError(400, hosts == 0 ? "missing Host header" : "more than one Host header")) }
        bodyLimit = limits.maxBodyBytes
        if limits.maxUploadBytes > limits.maxBodyBytes && KernelRoute.isUpload(request)
            && ApiRoute.authorized(request, token: limits.uploadToken) && !chunked && (length ?? 0) > limits.maxBodyBytes {
            guard uploadsAdmitted else { return .failure(HttpError(503, "another kernel upload is in progress; try again")) }
            bodyLimit = limits.maxUploadBytes
            receivingUpload = true
        }
        if chunked {
            guard length == nil else { return .failure(HttpError(400, "both Transfer-Encoding and Content-Length")) }
            guard request.minorVersion == 1 else { return .failure(HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")) }
            pending = request
            state = .chunkSize
            return .success(())
        }
        let n = length ?? 0
        guard n <= bodyLimit else { receivingUpload = false; return .failure(HttpError(413, "request body too large")) }
        request.body.reserveCapacity(n)
        pending = request
        state = .body(remaining: n)
        return .success(())
    }
}
