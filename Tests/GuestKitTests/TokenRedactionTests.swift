// TokenRedactionTests.swift: dom0's printed command line hides an api_token= value and nothing else.

import XCTest
@testable import GuestKit

final class TokenRedactionTests: XCTestCase {
    func r(_ s: String) -> String { String(decoding: TokenRedaction.redacted(Array(s.utf8)), as: UTF8.self) }

    func testHidesTheTokenOnly() {
        XCTAssertEqual(r("console=hvc0 api_token=fa64c20f22f17d3d http=80"), "console=hvc0 api_token=(hidden) http=80")
        XCTAssertEqual(r("api_token=x"), "api_token=(hidden)")
        XCTAssertEqual(r("console=hvc0 test=dom0"), "console=hvc0 test=dom0")
        XCTAssertEqual(r("api_token= x_api_token=y  a"), "api_token= x_api_token=y  a")
        XCTAssertEqual(r(""), "")
    }
}
