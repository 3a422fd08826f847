// HttpRequest.swift: one HTTP/1.1 request as dom0's API server's parser (HttpParser) hands it over,
// and the errors a request can be refused with. Values only: it never reads a socket or acts on a domain.

public enum HttpMethod: Equatable, Sendable {
    case get, head, post, put, delete, patch, options
    /// A token the parser accepted as a method but the server knows nothing about (it answers 405).
    case other([UInt8])

    static func decode(_ token: ArraySlice<UInt8>) -> HttpMethod {
        if HttpBytes.equal(token, "GET") { return .get }
        if HttpBytes.equal(token, "HEAD") { return .head }
        if HttpBytes.equal(token, "POST") { return .post }
        if HttpBytes.equal(token, "PUT") { return .put }
        if HttpBytes.equal(token, "DELETE") { return .delete }
        if HttpBytes.equal(token, "PATCH") { return .patch }
        if HttpBytes.equal(token, "OPTIONS") { return .options }
        return .other(Array(token))
    }
}

public struct HttpHeader: Equatable, Sendable {
    /// Lower-cased (field names are case-insensitive).
    public var name: [UInt8]
    /// Without leading and trailing spaces and tabs.
    public var value: [UInt8]
}

public struct HttpRequest: Equatable, Sendable {
    public var method: HttpMethod
    /// The request target as sent (origin-form: starts with '/').
    public var target: [UInt8]
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: UInt8
    public var headers: [HttpHeader]
    public var body: [UInt8]
    /// Whether the connection stays open after the response (HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool

    /// The first header called `name` (lower-case), or nil.
    public func header(_ name: StaticString) -> [UInt8]? {
        for h in headers where HttpBytes.equal(h.name[...], name) { return h.value }
        return nil
    }

    /// The target's path, without the query.
    public var path: ArraySlice<UInt8> {
        if let q = target.firstIndex(of: 63) { return target[..<q] }
        return target[...]
    }
}

/// Why a request is refused, with the status it gets. The reason names what was wrong and goes in
/// the response's JSON body; it never contains the request's bytes.
public struct HttpError: Error, Equatable, Sendable {
    public var status: UInt16
    public var reason: StaticString

    public init(_ status: UInt16, _ reason: StaticString) {
        self.status = status
        self.reason = reason
    }

    public static func == (a: HttpError, b: HttpError) -> Bool {
        a.status == b.status && HttpBytes.equal(HttpBytes.bytes(a.reason)[...], b.reason)
    }
}

/// Byte helpers shared by the parser and the writers (no Foundation).
public enum HttpBytes {
    public static func bytes(_ s: StaticString) -> [UInt8] {
        s.withUTF8Buffer { Array($0) }
    }

    /// Exact comparison of bytes with an ASCII string.
    public static func equal(_ a: ArraySlice<UInt8>, _ s: StaticString) -> Bool {
        s.withUTF8Buffer { b in
            guard a.count == b.count else { return false }
            var i = a.startIndex
            for c in b { if a[i] != c { return false }; i += 1 }
            return true
        }
    }

    /// ASCII case-insensitive comparison with a lower-case string.
    public static func equalFolded(_ a: ArraySlice<UInt8>, _ s: StaticString) -> Bool {
        s.withUTF8Buffer { b in
            guard a.count == b.count else { return false }
            var i = a.startIndex
            for c in b { if lower(a[i]) != c { return false }; i += 1 }
            return true
        }
    }

    public static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    /// RFC 9110 tchar.
    public static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case 48...57, 65...90, 97...122: return true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: return true
        default: return false
        }
    }

    /// Whether every byte of `b` equals the matching byte of `c`, in time that depends only on the
    /// lengths (for secrets such as the API token).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff: UInt32 = a.count == b.count ? 0 : 1
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= UInt32(x ^ y)
        }
        return diff == 0
    }
}
