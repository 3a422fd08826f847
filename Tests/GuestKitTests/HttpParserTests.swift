// HttpParserTests.swift: dom0's HTTP/1.1 request parser: requests split at every byte, pipelining in
// order, Content-Length and chunked bodies, the limits (431, 413) and each malformed input's 400 with
// its reason; and the response and error bytes it writes.

import XCTest
@testable import GuestKit

final class HttpParserTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    func str(_ a: [UInt8]) -> String { String(decoding: a, as: UTF8.self) }

    func parseAll(_ s: String, limits: HttpLimits = HttpLimits()) -> [HttpParseResult] {
        var p = HttpParser(limits: limits)
        p.feed(b(s))
        var out: [HttpParseResult] = []
        while true {
            let r = p.next()
            out.append(r)
            if case .request = r { continue }
            return out
        }
    }

    func error(_ s: String, limits: HttpLimits = HttpLimits()) -> HttpError? {
        if case .error(let e) = parseAll(s, limits: limits).last { return e }
        return nil
    }

    func reason(_ e: HttpError?) -> String { e.map { $0.reason.description } ?? "none" }

    func testSimpleGet() {
        let rs = parseAll("GET /v1/host?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  two words \r\n\r\n")
        guard case .request(let r) = rs[0] else { return XCTFail("\(rs)") }
        XCTAssertEqual(r.method, .get)
        XCTAssertEqual(str(r.target), "/v1/host?x=1")
        XCTAssertEqual(str(Array(r.path)), "/v1/host")
        XCTAssertEqual(r.header("x-thing").map(str), "two words")
        XCTAssertTrue(r.keepAlive)
        XCTAssertEqual(rs[1], .needMore)
    }

    func testEveryByteSplit() {
        let text = b("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n")
        var p = HttpParser()
        var got: [HttpRequest] = []
        for c in text {
            p.feed([c])
            while case .request(let r) = p.next() { got.append(r) }
        }
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(str(got[0].body), "hello")
        XCTAssertEqual(got[1].method, .get)
        XCTAssertEqual(str(got[1].body), "abcde")
        XCTAssertEqual(p.buffered, 0)
    }

    func testPipeliningOrder() {
        let rs = parseAll("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nGET /3 HTTP/1.0\r\n\r\n")
        var paths: [String] = []
        for r in rs { if case .request(let q) = r { paths.append(str(q.target)) } }
        XCTAssertEqual(paths, ["/1", "/2", "/3"])
    }

    func testPersistence() {
        func keep(_ s: String) -> Bool? { if case .request(let r) = parseAll(s)[0] { return r.keepAlive }; return nil }
        XCTAssertEqual(keep("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), false)
        XCTAssertEqual(keep("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n"), false)
        XCTAssertEqual(keep("GET / HTTP/1.0\r\n\r\n"), false)
        XCTAssertEqual(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), true)
        XCTAssertEqual(keep("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), true)
    }

    func testMalformed() {
        let cases: [(String, UInt16, String)] = [
            ("GET /\r\n\r\n", 400, "malformed request line"),
            ("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed method"),
            ("GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "request target is not an absolute path"),
            ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP version not supported"),
            ("GET / HTTQ/1.1\r\nHost: h\r\n\r\n", 400, "malformed HTTP version"),
            ("GET / HTTP/1.1\r\n\r\n", 400, "missing Host header"),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host header"),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "malformed header field"),
            ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "obsolete line folding"),
            ("GET / HTTP/1.1\nHost: a\n\n", 400, "line ends in LF without CR"),
            ("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400, "CR without LF"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n", 400, "malformed header field"),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400, "malformed Content-Length"),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "conflicting Content-Length fields"),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unsupported transfer coding"),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, "both Transfer-Encoding and Content-Length"),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "malformed chunk size"),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", 400, "chunk data not followed by CRLF"),
        ]
        for (text, status, why) in cases {
            let e = error(text)
            XCTAssertEqual(e?.status, status, text)
            XCTAssertEqual(reason(e), why, text)
        }
    }

    func testLimits() {
        let small = HttpLimits(maxHeadBytes: 64, maxHeaders: 2, maxBodyBytes: 10)
        // Too large a head is refused as soon as it is too large, before its end arrives.
        var p = HttpParser(limits: small)
        p.feed(b("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 60)))
        XCTAssertEqual(p.next(), .error(HttpError(431, "request header fields too large")))
        XCTAssertEqual(p.buffered, 0)
        XCTAssertEqual(error("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits: small)?.status, 431)
        XCTAssertEqual(reason(error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits: small)), "request body too large")
        XCTAssertEqual(error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n")?.status, 413)
        XCTAssertEqual(error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n", limits: small)?.status, 413)
        XCTAssertEqual(error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n")?.status, 413)
        // A body exactly at the limit is fine.
        if case .request(let r) = parseAll("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", limits: small)[0] {
            XCTAssertEqual(r.body.count, 10)
        } else { XCTFail("a body at the limit") }
    }

    func testErrorIsSticky() {
        var p = HttpParser()
        p.feed(b("BAD\r\n\r\n"))
        XCTAssertEqual(p.next(), .error(HttpError(400, "malformed request line")))
        p.feed(b("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        XCTAssertEqual(p.next(), .error(HttpError(400, "malformed request line")))
    }

    func testResponseBytes() {
        let r = HttpResponse.write(status: 200, body: b("{}"), keepAlive: true)
        XCTAssertEqual(str(r), "HTTP/1.1 200 OK\r\nServer: apus-dom0\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}")
        let e = HttpResponse.error(HttpError(400, "malformed \"x\""))
        XCTAssertTrue(str(e).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        XCTAssertTrue(str(e).hasSuffix("Connection: close\r\n\r\n{\"error\":\"malformed \\\"x\\\"\"}"))
        let head = HttpResponse.write(status: 200, body: b("abc"), keepAlive: false, headOnly: true)
        XCTAssertTrue(str(head).hasSuffix("Content-Length: 3\r\nConnection: close\r\n\r\n"))
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(HttpBytes.constantTimeEqual(b("secret"), b("secret")))
        XCTAssertFalse(HttpBytes.constantTimeEqual(b("secret"), b("secreT")))
        XCTAssertFalse(HttpBytes.constantTimeEqual(b("secret"), b("secret1")))
        XCTAssertFalse(HttpBytes.constantTimeEqual(b(""), b("x")))
    }

    func testRoutes() {
        let token = b("tok123")
        func route(_ s: String) -> ApiRoute {
            guard case .request(let r) = parseAll(s)[0] else { return .refused(HttpError(999, "unparsed")) }
            return ApiRoute.decide(r, token: token)
        }
        let auth = "Authorization: Bearer tok123\r\n"
        XCTAssertEqual(route("GET /v1/host HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .host)
        XCTAssertEqual(route("GET /v1/domains/ HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .domains)
        XCTAssertEqual(route("GET /v1/domains/3 HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .domain(.id(3)))
        XCTAssertEqual(route("GET /v1/domains/clock HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .domain(.name(b("clock"))))
        XCTAssertEqual(route("DELETE /v1/domains/2 HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .destroyDomain(.id(2)))
        XCTAssertEqual(route("POST /v1/domains HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .createDomain)
        XCTAssertEqual(route("POST /v1/domains/3/pause HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .pauseDomain(.id(3)))
        XCTAssertEqual(route("POST /v1/domains/clock/unpause/ HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .unpauseDomain(.name(b("clock"))))
        XCTAssertEqual(route("GET /v1/domains/3/pause HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(405, "method not allowed; use POST")))
        XCTAssertEqual(route("POST /v1/domains/3/reboot HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .rebootDomain(.id(3)))
        XCTAssertEqual(route("POST /v1/domains/clock/shutdown HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .shutdownDomain(.name(b("clock"))))
        XCTAssertEqual(route("GET /v1/domains/3/shutdown HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(405, "method not allowed; use POST")))
        XCTAssertEqual(route("POST /v1/domains/3/halt HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(404, "no such endpoint")))
        XCTAssertEqual(route("PATCH /v1/domains/3 HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .updateDomain(.id(3)))
        XCTAssertEqual(route("PATCH /v1/domains HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(405, "method not allowed on /v1/domains")))
        XCTAssertEqual(route("PATCH /v1/domains/3/pause HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(405, "method not allowed; use POST")))
        XCTAssertEqual(route("PATCH /v1/domains/3 HTTP/1.1\r\nHost: a\r\n\r\n"), .refused(HttpError(401, "missing or wrong bearer token")))
        XCTAssertEqual(route("POST /v1/domains/3/pause/x HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(404, "no such endpoint")))
        XCTAssertEqual(route("POST /v1/domains//pause HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(404, "no such domain")))
        XCTAssertEqual(route("POST /v1/domains/3/pause HTTP/1.1\r\nHost: a\r\n\r\n"), .refused(HttpError(401, "missing or wrong bearer token")))
        XCTAssertEqual(route("POST /v1/host HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(405, "method not allowed on /v1/host")))
        XCTAssertEqual(route("GET /v2 HTTP/1.1\r\nHost: a\r\n" + auth + "\r\n"), .refused(HttpError(404, "no such endpoint")))
        let unauthorized = ApiRoute.refused(HttpError(401, "missing or wrong bearer token"))
        XCTAssertEqual(route("GET /v1/host HTTP/1.1\r\nHost: a\r\n\r\n"), unauthorized)
        XCTAssertEqual(route("GET /v1/host HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer tok12\r\n\r\n"), unauthorized)
        XCTAssertEqual(route("GET /v1/host HTTP/1.1\r\nHost: a\r\nAuthorization: Basic tok123\r\n\r\n"), unauthorized)
        XCTAssertEqual(ApiRoute.decide(HttpRequest(method: .get, target: b("/v1/host"), minorVersion: 1, headers: [HttpHeader(name: b("authorization"), value: b("Bearer "))], body: [], keepAlive: true), token: []), unauthorized)
    }
}
