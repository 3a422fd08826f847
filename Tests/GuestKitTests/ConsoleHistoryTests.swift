// ConsoleHistoryTests.swift: the console backend's per-domain history (a bounded ring of ring output read
// back as lines) against a reference model (every byte kept, split the obvious way), wrap-around, the
// unfinished last line, binary bytes, `since` for followers; and the console endpoint's pure part:
// its routes, its query, its input limits and its JSON.

import XCTest
@testable import GuestKit

final class ConsoleHistoryTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testLinesAndTheUnfinishedOne() {
        var h = ConsoleHistory(capacity: 64)
        XCTAssertEqual(h.tail(lines: 10), ConsoleTail(lines: [], partial: [], truncated: false, cursor: 0, bytesSeen: 0, bytesHeld: 0))
        h.append(b("one\r\ntwo\n\nthr"))
        var t = h.tail(lines: 10)
        XCTAssertEqual(t.lines, [b("one"), b("two"), []])
        XCTAssertEqual(t.partial, b("thr"))
        XCTAssertFalse(t.truncated)
        XCTAssertEqual(t.cursor, 10)
        XCTAssertEqual(t.bytesSeen, 13)
        h.append(b("ee\n"))
        t = h.tail(lines: 2)
        XCTAssertEqual(t.lines, [[], b("three")], "the last two lines, oldest first")
        XCTAssertEqual(t.partial, [])
        XCTAssertEqual(h.tail(lines: 0).lines, [])
        XCTAssertEqual(h.tail(lines: 1).lines, [b("three")])
    }

    func testWrapAroundKeepsTheNewestBytesAndFlagsACutLine() {
        var h = ConsoleHistory(capacity: 16)
        h.append(b("aaaaaaaaaa\nbbbb\ncccc\n"))   // 21 bytes: the first 5 are gone
        XCTAssertEqual(h.bytesSeen, 21)
        XCTAssertEqual(h.bytesHeld, 16)
        XCTAssertEqual(h.bytesDropped, 5)
        var t = h.tail(lines: 10)
        XCTAssertEqual(t.lines, [b("aaaaa"), b("bbbb"), b("cccc")])
        XCTAssertTrue(t.truncated, "the first line lost its start")
        t = h.tail(lines: 2)
        XCTAssertEqual(t.lines, [b("bbbb"), b("cccc")])
        XCTAssertFalse(t.truncated, "the lines asked for are whole")
        // Byte by byte wraps the same way as all at once.
        var one = ConsoleHistory(capacity: 16)
        for c in b("aaaaaaaaaa\nbbbb\ncccc\n") { one.append([c]) }
        XCTAssertEqual(one.tail(lines: 10), h.tail(lines: 10))
        // An append longer than the ring keeps only its last bytes.
        var long = ConsoleHistory(capacity: 8)
        long.append([UInt8](repeating: 120, count: 100) + b("\nabc"))
        XCTAssertEqual(long.tail(lines: 5).lines, [b("xxxx")])
        XCTAssertEqual(long.tail(lines: 5).partial, b("abc"))
        XCTAssertEqual(long.bytesSeen, 104)
        XCTAssertEqual(long.bytesHeld, 8)
    }

    func testAPartialLineLongerThanTheRing() {
        var h = ConsoleHistory(capacity: 8)
        h.append(b("no newline at all, ever"))
        let t = h.tail(lines: 3)
        XCTAssertEqual(t.lines, [])
        XCTAssertEqual(t.partial, b("ll, ever"))
        XCTAssertTrue(t.truncated)
        XCTAssertEqual(t.cursor, 15, "the partial starts where the ring's memory starts")
    }

    func testBinaryBytesAreKeptAsWritten() {
        var h = ConsoleHistory(capacity: 64)
        let raw: [UInt8] = [0, 0x1B, 0x5B, 0x32, 0x4A, 0xFF, 0xC3, 0xA9, 9, 13, 10, 0x80]
        h.append(raw)
        let t = h.tail(lines: 5)
        XCTAssertEqual(t.lines, [[0, 0x1B, 0x5B, 0x32, 0x4A, 0xFF, 0xC3, 0xA9, 9]], "only '\\r' is dropped")
        XCTAssertEqual(t.partial, [0x80])
        // The JSON of it is valid: control bytes escaped, invalid UTF-8 replaced.
        let w = ConsoleQuery.write(domain: 3, t)
        guard case .success(let d) = JsonDocument.parse(w.bytes) else { return XCTFail("invalid JSON: \(w.bytes)") }
        XCTAssertEqual(d.integer(d.member(0, "id")!), 3)
    }

    func testSinceGivesAFollowerOnlyNewLines() {
        var h = ConsoleHistory(capacity: 32)
        h.append(b("one\ntwo\nthr"))
        let first = h.tail(lines: 50)
        XCTAssertEqual(first.lines, [b("one"), b("two")])
        XCTAssertEqual(first.cursor, 8)
        h.append(b("ee\nfour\n"))
        var t = h.tail(lines: 50, since: first.cursor)
        XCTAssertEqual(t.lines, [b("three"), b("four")])
        XCTAssertFalse(t.truncated)
        t = h.tail(lines: 50, since: t.cursor)
        XCTAssertEqual(t.lines, [])
        // A follower that fell behind the ring is told it missed output.
        h.append([UInt8](repeating: 122, count: 40) + b("\nlast\n"))
        t = h.tail(lines: 50, since: first.cursor)
        XCTAssertTrue(t.truncated)
        XCTAssertEqual(t.lines.last, b("last"))
    }

    /// The reference: every byte kept, lines split on '\n' with '\r' removed; the history's tail is its
    /// suffix whenever nothing was dropped, and a suffix of the held bytes' lines when something was.
    func testAgainstAReferenceModel() {
        var seed: UInt64 = 0x9E3779B97F4A7C15
        func next() -> UInt64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
        for round in 0..<300 {
            let capacity = 1 + Int(next() % 100)
            var h = ConsoleHistory(capacity: capacity)
            var all: [UInt8] = []
            for _ in 0..<Int(next() % 12) {
                let chunk = (0..<Int(next() % 40)).map { _ -> UInt8 in
                    let r = next() % 10
                    return r < 2 ? 10 : r == 2 ? 13 : UInt8(truncatingIfNeeded: next())
                }
                h.append(chunk)
                all += chunk
            }
            let held = Array(all.suffix(capacity))
            XCTAssertEqual(h.bytesSeen, UInt64(all.count))
            XCTAssertEqual(h.bytesHeld, held.count)
            let pieces = held.split(separator: 10, omittingEmptySubsequences: false).map { Array($0.filter { $0 != 13 }) }
            let n = Int(next() % 8)
            let t = h.tail(lines: n)
            XCTAssertEqual(t.partial, pieces.last!, "round \(round)")
            let complete = Array(pieces.dropLast())
            XCTAssertEqual(t.lines, Array(complete.suffix(n)), "round \(round)")
            if complete.isEmpty {
                XCTAssertEqual(t.truncated, all.count > capacity, "round \(round)")
            } else {
                XCTAssertEqual(t.truncated, all.count > capacity && complete.count <= n, "round \(round)")
            }
        }
    }

    func testRoutes() {
        func route(_ method: HttpMethod, _ target: String) -> ApiRoute {
            ApiRoute.decide(HttpRequest(method: method, target: b(target), minorVersion: 1,
                                        headers: [HttpHeader(name: b("authorization"), value: b("Bearer t"))], body: [], keepAlive: true), token: b("t"))
        }
        XCTAssertEqual(route(.get, "/v1/domains/3/console"), .console(.id(3)))
        XCTAssertEqual(route(.head, "/v1/domains/minios/console?lines=5"), .console(.name(b("minios"))))
        XCTAssertEqual(route(.get, "/v1/domains/3/console/"), .console(.id(3)))
        XCTAssertEqual(route(.post, "/v1/domains/web-1/console"), .consoleInput(.name(b("web-1"))))
        XCTAssertEqual(route(.put, "/v1/domains/3/console"), .refused(HttpError(405, "method not allowed on /v1/domains/{id}/console; use GET or POST")))
        XCTAssertEqual(route(.get, "/v1/domains/3/console/x"), .refused(HttpError(404, "no such endpoint")))
        XCTAssertEqual(route(.get, "/v1/domains//console"), .refused(HttpError(404, "no such domain")))
        let noToken = HttpRequest(method: .get, target: b("/v1/domains/3/console"), minorVersion: 1, headers: [], body: [], keepAlive: true)
        XCTAssertEqual(ApiRoute.decide(noToken, token: b("t")), .refused(HttpError(401, "missing or wrong bearer token")))
    }

    func testQuery() {
        func q(_ s: String) -> Result<ConsoleQuery, HttpError> { ConsoleQuery.decode(b(s)) }
        XCTAssertEqual(q("/v1/domains/3/console"), .success(ConsoleQuery(lines: 50)))
        XCTAssertEqual(q("/v1/domains/3/console?lines=7"), .success(ConsoleQuery(lines: 7)))
        XCTAssertEqual(q("/x?since=1234&lines=0"), .success(ConsoleQuery(lines: 0, since: 1234)))
        XCTAssertEqual(q("/x?&colour=red&&lines=1000&"), .success(ConsoleQuery(lines: 1000)), "unknown keys are ignored")
        let badLines = HttpError(400, "lines must be a whole number from 0 to 1000")
        for bad in ["/x?lines=1001", "/x?lines=", "/x?lines", "/x?lines=-1", "/x?lines=1e3", "/x?lines=99999999999999999999"] {
            XCTAssertEqual(q(bad), .failure(badLines), bad)
        }
        XCTAssertEqual(q("/x?since=abc"), .failure(HttpError(400, "since must be a byte offset (a whole number)")))
    }

    func testInputLimits() {
        XCTAssertEqual(ConsoleQuery.maxInputBytes, 1024, "one xencons_interface `in` ring")
        XCTAssertNil(ConsoleQuery.checkInput(b("x")))
        XCTAssertNil(ConsoleQuery.checkInput([UInt8](repeating: 0, count: 1024)))
        XCTAssertEqual(ConsoleQuery.checkInput([UInt8](repeating: 0, count: 1025))?.status, 413)
        XCTAssertEqual(ConsoleQuery.checkInput([])?.status, 400)
        let w = ConsoleQuery.written(domain: 4, accepted: 3, sent: 5)
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"id":4,"accepted":3,"sent":5}"#)
    }

    func testReadJson() {
        var h = ConsoleHistory(capacity: 64)
        h.append(b("say \"hi\"\n> "))
        let w = ConsoleQuery.write(domain: 2, h.tail(lines: 50))
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self),
                       #"{"id":2,"lines":["say \"hi\""],"partial":"> ","truncated":false,"cursor":9,"bytes_seen":11,"bytes_held":11}"#)
    }
}
