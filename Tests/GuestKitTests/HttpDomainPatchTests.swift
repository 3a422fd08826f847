// HttpDomainPatchTests.swift: the body of PATCH /v1/domains/{id} (weight, cap, memory_target) decoded,
// every refusal (unknown key, wrong type, out of range, repeated, empty, not an object, malformed), and
// every prefix of a body decoding without a trap.

import GuestKit
import XCTest

final class HttpDomainPatchTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    func refusal(_ s: String) -> String {
        switch DomainPatchJson.decode(b(s)) {
        case .success: return "accepted"
        case .failure(let e): XCTAssertEqual(e.status, 400); return String(decoding: e.message, as: UTF8.self)
        }
    }

    func testAccepted() {
        XCTAssertEqual(try DomainPatchJson.decode(b(#"{"weight": 512}"#)).get(), DomainPatch(weight: 512))
        XCTAssertEqual(try DomainPatchJson.decode(b(#"{"cap": 0, "memory_target": 8192}"#)).get(), DomainPatch(cap: 0, memoryTargetKiB: 8192))
        XCTAssertEqual(try DomainPatchJson.decode(b(#"{"weight":1,"cap":100,"memory_target":4294967295}"#)).get(),
                       DomainPatch(weight: 1, cap: 100, memoryTargetKiB: 0xFFFF_FFFF))
    }

    func testRefused() {
        XCTAssertTrue(refusal(#"{"colour": 1}"#).contains("unknown key 'colour'"))
        XCTAssertTrue(refusal(#"{"name": "x"}"#).contains("unknown key 'name'"))
        XCTAssertTrue(refusal(#"{"weight": 0}"#).contains("'weight' must be"))
        XCTAssertTrue(refusal(#"{"weight": 65536}"#).contains("'weight' must be"))
        XCTAssertTrue(refusal(#"{"weight": "512"}"#).contains("'weight' must be"))
        XCTAssertTrue(refusal(#"{"cap": 101}"#).contains("'cap' must be"))
        XCTAssertTrue(refusal(#"{"cap": -1}"#).contains("'cap' must be"))
        XCTAssertTrue(refusal(#"{"memory_target": 0}"#).contains("'memory_target' must be"))
        XCTAssertTrue(refusal(#"{"memory_target": 4294967296}"#).contains("'memory_target' must be"))
        XCTAssertTrue(refusal(#"{"memory_target": 1.5}"#).contains("'memory_target' must be"))
        XCTAssertTrue(refusal(#"{"cap": 1, "cap": 2}"#).contains("appears twice"))
        XCTAssertTrue(refusal("{}").contains("nothing to change"))
        XCTAssertTrue(refusal("[1]").contains("must be a JSON object"))
        XCTAssertTrue(refusal(#"{"cap": "#).contains("malformed JSON"))
        XCTAssertTrue(refusal("").contains("malformed JSON"))
    }

    func testPrefixesNeverTrap() {
        let body = b(#"{"weight": 300, "cap": 25, "memory_target": 65536, "x\u0000": [1, {"a": null}]}"#)
        for n in 0...body.count { _ = DomainPatchJson.decode(Array(body.prefix(n))) }
    }
}
