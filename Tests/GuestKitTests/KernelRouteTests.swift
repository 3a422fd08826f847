// KernelRouteTests.swift: the /v1/kernels routes (list, upload, show, delete, their 404 and 405), the
// kernel-name rule, the query parameter reader (?name=), and the parser's larger body limit for a kernel
// upload: only POST /v1/kernels with the token and a Content-Length, only while no other upload runs,
// and held once (the body is moved into the request as it comes).

import XCTest
@testable import GuestKit

final class KernelRouteTests: XCTestCase {
    let token = Array("t0k".utf8)
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func route(_ method: HttpMethod, _ target: String, token given: String? = "t0k") -> ApiRoute {
        var headers: [HttpHeader] = []
        if let given { headers.append(HttpHeader(name: b("authorization"), value: b("Bearer \(given)"))) }
        return ApiRoute.decide(HttpRequest(method: method, target: b(target), minorVersion: 1, headers: headers, body: [], keepAlive: true), token: token)
    }

    func testRoutes() {
        XCTAssertEqual(route(.get, "/v1/kernels"), .kernels(.list))
        XCTAssertEqual(route(.head, "/v1/kernels/"), .kernels(.list))
        XCTAssertEqual(route(.post, "/v1/kernels?name=mini"), .kernels(.upload))
        XCTAssertEqual(route(.post, "/v1/kernels"), .kernels(.upload))
        XCTAssertEqual(route(.get, "/v1/kernels/mini-os.elf"), .kernels(.show(b("mini-os.elf"))))
        XCTAssertEqual(route(.delete, "/v1/kernels/k_1"), .kernels(.delete(b("k_1"))))
        XCTAssertEqual(route(.put, "/v1/kernels"), .refused(HttpError(405, "method not allowed on /v1/kernels")))
        XCTAssertEqual(route(.post, "/v1/kernels/x"), .refused(HttpError(405, "method not allowed on /v1/kernels/{name}")))
        XCTAssertEqual(route(.get, "/v1/kernels/.hidden"), .refused(HttpError(404, "no such kernel")))
        XCTAssertEqual(route(.get, "/v1/kernels/a%2Fb"), .refused(HttpError(404, "no such kernel")))
        XCTAssertEqual(route(.delete, "/v1/kernels/a/b"), .refused(HttpError(404, "no such kernel")))
        XCTAssertEqual(route(.get, "/v1/kernels/" + String(repeating: "k", count: 65)), .refused(HttpError(404, "no such kernel")))
        XCTAssertEqual(route(.get, "/v1/kernelsX"), .refused(HttpError(404, "no such endpoint")))
        // The token is checked first, as everywhere.
        XCTAssertEqual(route(.post, "/v1/kernels", token: nil), .refused(HttpError(401, "missing or wrong bearer token")))
        XCTAssertEqual(route(.delete, "/v1/kernels/x", token: "bad"), .refused(HttpError(401, "missing or wrong bearer token")))
        // The domain routes are unchanged.
        XCTAssertEqual(route(.get, "/v1/domains"), .domains)
    }

    func testNames() {
        for ok in ["a", "mini-os.elf", "K_9", String(repeating: "x", count: 64), "a..b"] { XCTAssertTrue(KernelName.isValid(b(ok)), ok) }
        for bad in ["", ".", "..", ".a", "a/b", "a b", "a%20", String(repeating: "x", count: 65), "é", "a\0"] {
            XCTAssertFalse(KernelName.isValid(b(bad)), bad)
        }
    }

    func testQuery() {
        func value(_ t: String) -> Result<String?, HttpError> {
            HttpQuery.value(b(t), "name").map { $0.map { String(decoding: $0, as: UTF8.self) } }
        }
        XCTAssertEqual(value("/v1/kernels"), .success(nil))
        XCTAssertEqual(value("/v1/kernels?"), .success(nil))
        XCTAssertEqual(value("/v1/kernels?name=mini"), .success("mini"))
        XCTAssertEqual(value("/v1/kernels?x=1&name=a%2Eb&y"), .success("a.b"))
        XCTAssertEqual(value("/v1/kernels?name=a+b"), .success("a b"))
        XCTAssertEqual(value("/v1/kernels?name="), .success(""))
        XCTAssertEqual(value("/v1/kernels?name"), .success(""))
        XCTAssertEqual(value("/v1/kernels?names=x&nam=y"), .success(nil))
        XCTAssertEqual(value("/v1/kernels?%6eame=z"), .success("z"))
        XCTAssertEqual(value("/v1/kernels?name=a&name=b"), .failure(HttpError(400, "a query parameter is given twice")))
        for bad in ["/v1/kernels?name=%", "/v1/kernels?name=%4", "/v1/kernels?name=%zz", "/v1/kernels?x=%g0&name=a"] {
            XCTAssertEqual(value(bad), .failure(HttpError(400, "malformed percent escape in the query")), bad)
        }
    }

    // MARK: - The parser's upload limit

    let limits = HttpLimits(maxBodyBytes: 100, maxUploadBytes: 1000, uploadToken: Array("t0k".utf8))

    func upload(_ n: Int, path: String = "/v1/kernels", method: String = "POST", auth: String = "t0k", chunked: Bool = false) -> [UInt8] {
        var h = "\(method) \(path) HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(auth)\r\n"
        h += chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Content-Length: \(n)\r\n\r\n"
        var out = b(h)
        let body = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        if chunked { out += b(String(n, radix: 16) + "\r\n") + body + b("\r\n0\r\n\r\n") } else { out += body }
        return out
    }

    func parse(_ bytes: [UInt8], piece: Int = 7, admitted: Bool = true) -> (HttpParseResult, HttpParser) {
        var p = HttpParser(limits: limits)
        p.uploadsAdmitted = admitted
        var at = 0
        var last = HttpParseResult.needMore
        while at < bytes.count {
            let n = min(piece, bytes.count - at)
            p.feed(Array(bytes[at..<(at + n)]))
            at += n
            last = p.next()
            if case .needMore = last { continue }
            return (last, p)
        }
        return (last, p)
    }

    func testUploadGetsTheLargerLimit() {
        let (r, p) = parse(upload(1000))
        guard case .request(let req) = r else { return XCTFail("\(r)") }
        XCTAssertEqual(req.body, (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        XCTAssertFalse(p.receivingUpload)
        XCTAssertEqual(p.buffered, 0)
        XCTAssertEqual(parse(upload(1001)).0, .error(HttpError(413, "request body too large")))
        XCTAssertEqual(parse(upload(1000, path: "/v1/kernels/")).0.isRequest, true)
    }

    func testOthersKeepTheSmallLimit() {
        let tooLarge = HttpParseResult.error(HttpError(413, "request body too large"))
        XCTAssertEqual(parse(upload(101, path: "/v1/domains")).0, tooLarge)
        XCTAssertEqual(parse(upload(101, path: "/v1/kernels/x")).0, tooLarge)
        XCTAssertEqual(parse(upload(101, method: "PUT")).0, tooLarge)
        XCTAssertEqual(parse(upload(101, auth: "wrong")).0, tooLarge, "no token, no large body")
        XCTAssertEqual(parse(upload(101, chunked: true)).0, tooLarge, "chunked uploads keep the small limit")
        XCTAssertEqual(parse(upload(100, path: "/v1/domains")).0.isRequest, true)
        var none = HttpParser(limits: HttpLimits(maxBodyBytes: 100))
        none.feed(upload(101))
        XCTAssertEqual(none.next(), tooLarge, "without maxUploadBytes uploads get the small limit")
    }

    func testOneUploadAtATime() {
        XCTAssertEqual(parse(upload(500), admitted: false).0, .error(HttpError(503, "another kernel upload is in progress; try again")))
        // A small upload needs no admission.
        XCTAssertEqual(parse(upload(50), admitted: false).0.isRequest, true)
        // While a large body comes the parser says so; a completed one clears it.
        var p = HttpParser(limits: limits)
        let bytes = upload(600)
        p.feed(Array(bytes[0..<300]))
        XCTAssertEqual(p.next(), .needMore)
        XCTAssertTrue(p.receivingUpload)
        XCTAssertGreaterThanOrEqual(p.buffered, 300)
        p.feed(Array(bytes[300...]))
        XCTAssertEqual(p.next().isRequest, true)
        XCTAssertFalse(p.receivingUpload)
    }

    func testBodyThenPipelinedRequestWhateverTheSplit() {
        let bytes = upload(700) + b("GET /v1/host HTTP/1.1\r\nHost: a\r\n\r\n")
        for piece in [1, 2, 3, 64, 1536, bytes.count] {
            var p = HttpParser(limits: limits)
            var got: [HttpRequest] = []
            var at = 0
            while at < bytes.count {
                let n = min(piece, bytes.count - at)
                p.feed(Array(bytes[at..<(at + n)]))
                at += n
                while case .request(let r) = p.next() { got.append(r) }
            }
            XCTAssertEqual(got.count, 2, "piece \(piece)")
            XCTAssertEqual(got.first?.body.count, 700)
            XCTAssertEqual(got.last.map { String(decoding: $0.target, as: UTF8.self) }, "/v1/host")
            XCTAssertEqual(p.buffered, 0)
        }
    }
}

extension HttpParseResult {
    var isRequest: Bool { if case .request = self { return true } else { return false } }
}
