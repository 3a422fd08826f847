// HttpResponse.swift: the bytes of an HTTP/1.1 response from dom0's API server: status line, the
// headers it always sends (Content-Type, Content-Length, Connection) and the body; and the JSON error
// body `{"error": "..."}`. Writing only: it never sends, and it never echoes request bytes.

public enum HttpResponse {
    public static func reason(_ status: UInt16) -> StaticString {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Content"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        case 507: return "Insufficient Storage"
        default: return "Unknown"
        }
    }

    /// A complete response. `extra`: further header lines, each without its CRLF. A HEAD response
    /// (`headOnly`) keeps Content-Length but leaves out the body.
    public static func write(status: UInt16, body: [UInt8], contentType: StaticString = "application/json",
                             keepAlive: Bool, extra: [[UInt8]] = [], headOnly: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + body.count)
        append(&out, "HTTP/1.1 ")
        appendDecimal(&out, UInt64(status))
        out.append(32)
        append(&out, reason(status))
        append(&out, "\r\nServer: apus-dom0\r\n")
        if status != 204 {
            append(&out, "Content-Type: ")
            append(&out, contentType)
            append(&out, "\r\nContent-Length: ")
            appendDecimal(&out, UInt64(body.count))
            append(&out, "\r\n")
        }
        append(&out, keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n")
        for e in extra { out.append(contentsOf: e); append(&out, "\r\n") }
        append(&out, "\r\n")
        if !headOnly && status != 204 { out.append(contentsOf: body) }
        return out
    }

    /// `{"error": "<reason>"}` for `e`, as a complete response that closes the connection.
    public static func error(_ e: HttpError, keepAlive: Bool = false, extra: [[UInt8]] = []) -> [UInt8] {
        write(status: e.status, body: errorBody(e.reason), keepAlive: keepAlive, extra: extra)
    }

    public static func errorBody(_ reason: StaticString) -> [UInt8] {
        var w = JsonWriter()
        w.beginObject()
        w.key("error")
        w.string(reason)
        w.endObject()
        return w.bytes
    }

    public static func append(_ out: inout [UInt8], _ s: StaticString) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    public static func appendDecimal(_ out: inout [UInt8], _ v: UInt64) {
        var digits: [UInt8] = []
        var n = v
        repeat { digits.append(UInt8(48 + n % 10)); n /= 10 } while n > 0
        out.append(contentsOf: digits.reversed())
    }
}
