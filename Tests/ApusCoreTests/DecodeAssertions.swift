// DecodeAssertions.swift: the checks decoder tests share: a refusal with its exact errno and reason, and
// the success value out of a Decoded. Test-only.

import XCTest
import PVABI
import ApusCore

func assertRefused<T>(_ d: Decoded<T>, _ errno: XenError, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
    guard case .failure(let r) = d else { return XCTFail("accepted; expected -\(errno.name): \(reason)", file: file, line: line) }
    XCTAssertEqual(r.error, errno, file: file, line: line)
    XCTAssertEqual("\(r.reason)", reason, file: file, line: line)
}

func accepted<T>(_ d: Decoded<T>, file: StaticString = #filePath, line: UInt = #line) -> T? {
    switch d {
    case .success(let t): return t
    case .failure(let r):
        XCTFail("refused: -\(r.error.name): \(r.reason)", file: file, line: line)
        return nil
    }
}
