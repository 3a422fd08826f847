// JsonTests.swift: the JSON writer's escaping and commas, and the strict reader: what it accepts, what
// it decodes, and each refusal (syntax, depth, size, number of values, UTF-8, surrogates).

import XCTest
@testable import GuestKit

final class JsonTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    func str(_ a: [UInt8]) -> String { String(decoding: a, as: UTF8.self) }

    func testWriter() {
        var w = JsonWriter()
        w.beginObject()
        w.key("a"); w.integer(UInt64(1))
        w.key("b"); w.beginArray(); w.integer(Int64(-5)); w.string(b("x\"\\\n\u{1}é")); w.bool(true); w.null(); w.endArray()
        w.key("c"); w.beginObject(); w.endObject()
        w.key("d"); w.string([0x66, 0xFF, 0x67])
        w.endObject()
        XCTAssertEqual(str(w.bytes), "{\"a\":1,\"b\":[-5,\"x\\\"\\\\\\n\\u0001é\",true,null],\"c\":{},\"d\":\"f\u{FFFD}g\"}")
    }

    func testReaderAccepts() throws {
        let text = b(" {\"name\": \"cl\\u00e9\\ud83d\\ude00\\n\", \"n\": -12, \"f\": 1.5e3, \"l\": [true, false, null, {}], \"name\": \"last\"} ")
        guard case .success(let d) = JsonDocument.parse(text) else { return XCTFail() }
        XCTAssertEqual(d.nodes[0].kind, .object)
        XCTAssertEqual(d.members(0).count, 5)
        XCTAssertEqual(d.string(d.members(0)[0].value).map(str), "clé😀\n")
        XCTAssertEqual(d.member(0, "name").flatMap { d.string($0) }.map(str), "last")
        XCTAssertEqual(d.member(0, "n").flatMap { d.integer($0) }, -12)
        XCTAssertNil(d.member(0, "f").flatMap { d.integer($0) })
        let l = d.member(0, "l")!
        XCTAssertEqual(d.elements(l).count, 4)
        XCTAssertEqual(d.bool(d.elements(l)[1]), false)
        XCTAssertNil(d.member(0, "missing"))
        guard case .success(let big) = JsonDocument.parse(b("[9223372036854775807, -9223372036854775808, 9223372036854775808]")) else { return XCTFail() }
        XCTAssertEqual(big.integer(1), Int64.max)
        XCTAssertEqual(big.integer(2), Int64.min)
        XCTAssertNil(big.integer(3))
    }

    func testReaderRefuses() {
        let cases: [(String, String)] = [
            ("", "JSON ends early"),
            ("{", "JSON object key is not a string"),
            ("[1,]", "not a JSON value"),
            ("[1 2]", "JSON array without ',' or ']'"),
            ("{\"a\" 1}", "JSON object key without ':'"),
            ("{\"a\":1 \"b\":2}", "JSON object without ',' or '}'"),
            ("01", "JSON number with a leading zero"),
            ("1.", "malformed JSON number"),
            ("-", "malformed JSON number"),
            ("1e", "malformed JSON number"),
            ("tru", "not a JSON value"),
            ("\"a", "unterminated JSON string"),
            ("\"\\x\"", "malformed JSON escape"),
            ("\"\\u12g4\"", "malformed JSON \\u escape"),
            ("\"\\ud800\"", "unpaired surrogate in JSON string"),
            ("\"\\udc00\"", "unpaired surrogate in JSON string"),
            ("\"a\u{1}\"", "control character in JSON string"),
            ("1 2", "trailing bytes after the JSON value"),
            ("// c\n1", "not a JSON value"),
        ]
        for (text, why) in cases {
            guard case .failure(let e) = JsonDocument.parse(b(text)) else { XCTFail(text); continue }
            XCTAssertEqual(e.reason.description, why, text)
        }
        guard case .failure(let u) = JsonDocument.parse([34, 0xC0, 0x80, 34]) else { return XCTFail() }
        XCTAssertEqual(u.reason.description, "invalid UTF-8 in JSON string")
        let limits = JsonLimits(maxBytes: 100, maxDepth: 3, maxNodes: 5)
        guard case .failure(let deep) = JsonDocument.parse(b("[[[[1]]]]"), limits: limits) else { return XCTFail() }
        XCTAssertEqual(deep.reason.description, "JSON nested too deeply")
        guard case .failure(let many) = JsonDocument.parse(b("[1,2,3,4,5]"), limits: limits) else { return XCTFail() }
        XCTAssertEqual(many.status, 413)
        guard case .failure(let big) = JsonDocument.parse([UInt8](repeating: 32, count: 101), limits: limits) else { return XCTFail() }
        XCTAssertEqual(big.status, 413)
        // A very deep input is refused without deep recursion.
        guard case .failure(let d) = JsonDocument.parse([UInt8](repeating: 91, count: 60000)) else { return XCTFail() }
        XCTAssertEqual(d.reason.description, "JSON nested too deeply")
    }

    /// What the writer writes, the reader reads back.
    func testRoundTrip() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let raw = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var w = JsonWriter()
            w.beginArray(); w.string(raw); w.endArray()
            guard case .success(let d) = JsonDocument.parse(w.bytes) else { return XCTFail("\(raw)") }
            let back = d.string(d.elements(0)[0])!
            // Valid UTF-8 survives unchanged; invalid bytes become U+FFFD.
            if String(validating: raw, as: UTF8.self) != nil { XCTAssertEqual(back, raw) }
        }
    }
}
