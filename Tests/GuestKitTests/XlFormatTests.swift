// XlFormatTests.swift: the toolstack's xl-shaped answers: list's header and rows (columns, state
// letters, seconds with one decimal), xentop's row, percentages, zero-padded dates, list -l's JSON.

import XCTest
@testable import GuestKit

private func s(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

final class XlFormatTests: XCTestCase {
    func testListHeaderIsXls() {
        XCTAssertEqual(s(XlFormat.listHeader), "Name                                        ID   Mem VCPUs\tState\tTime(s)")
    }

    func testListRowColumns() {
        let dom0 = DomainRow(id: 0, name: Array("Domain-0".utf8), pages: 16384, running: true, cpuTime: 24_456_000_000)
        XCTAssertEqual(s(XlFormat.listRow(dom0)),
                       "Domain-0                                     0    64     1     r-----      24.4")
        let paused = DomainRow(id: 12, name: Array("spinner-2".utf8), pages: 1024, paused: true, cpuTime: 50_000_000)
        XCTAssertEqual(s(XlFormat.listRow(paused)),
                       "spinner-2                                   12     4     1     --p---       0.0")
    }

    func testStateLettersInXlOrder() {
        let all = DomainRow(id: 1, name: [], pages: 0, running: true, blocked: true, paused: true, shutdown: true, crashed: true, dying: true)
        XCTAssertEqual(s(all.stateLetters), "rbpscd")
        XCTAssertEqual(s(DomainRow(id: 1, name: [], pages: 0).stateLetters), "------")
        XCTAssertEqual(s(DomainRow(id: 1, name: [], pages: 0, shutdown: true, crashed: true).stateLetters), "---sc-")
        XCTAssertEqual(s(DomainRow(id: 1, name: [], pages: 0, blocked: true).stateLetters), "-b----")
    }

    func testLongNameKeepsColumns() {
        let r = DomainRow(id: 3, name: Array(repeating: 120, count: 50), pages: 256)
        let row = s(XlFormat.listRow(r))
        XCTAssertTrue(row.hasPrefix(String(repeating: "x", count: 40) + "     3     1     1"))
    }

    func testTopRow() {
        XCTAssertEqual(s(XlFormat.topHeader).prefix(80),
                       "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS")
        let r = DomainRow(id: 1, name: Array("clock".utf8), pages: 1024, blocked: true, cpuTime: 3_000_000_000)
        let row = s(XlFormat.topRow(r, cpuUsed: 125, interval: 1000, totalPages: 65536, eventsSent: 7, eventsReceived: 42))
        XCTAssertEqual(row, "     clock -b----          3   12.5       4096    1.5       4096       1.5     1        7       42")
        // Each column ends where its header does.
        let header = s(XlFormat.topHeader)
        for title in ["NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)", "VCPUS", "EVTS_TX", "EVTS_RX"] {
            let end = header.range(of: title)!.upperBound
            let column = header.distance(from: header.startIndex, to: end)
            let rowChars = Array(row)
            XCTAssertNotEqual(rowChars[column - 1], " ", title)
            if column < rowChars.count { XCTAssertEqual(rowChars[column], " ", title) }
        }
    }

    func testShareNeverTraps() {
        XCTAssertEqual(s(XlFormat.share(1, of: 0)), "0.0")
        XCTAssertEqual(s(XlFormat.share(1, of: 3)), "33.3")
        XCTAssertEqual(s(XlFormat.share(5, of: 5)), "100.0")
        XCTAssertFalse(XlFormat.share(UInt64.max, of: 1).isEmpty)
        XCTAssertEqual(s(XlFormat.tenths(UInt64.max, per: 1_000_000_000)), "18446744073.7")
    }

    func testZeroPaddedDates() {
        XCTAssertEqual(s(XlFormat.dateTime(year: 2026, month: 11, day: 30, hour: 16, minute: 18, second: 4)), "2026-11-30 16:18:04")
        XCTAssertEqual(s(XlFormat.dateTime(year: 2027, month: 1, day: 2, hour: 3, minute: 0, second: 59)), "2027-01-02 03:00:59")
        XCTAssertEqual(s(XlFormat.twoDigits(7)), "07")
    }

    func testListLongJSON() throws {
        let config = try DomainConfig(parsing: Array("name = \"web\"\nkernel = \"spinner.elf\"\nmemory = 4\nweight = 128\nextra = \"console=hvc0 x=1\"\n".utf8))
        let lines = XlJSON.list([
            DomainDescription(id: 0, name: Array("Domain-0".utf8), memoryKiB: 65536, weight: 256, cap: 0),
            DomainDescription(id: 2, name: Array("web".utf8), memoryKiB: 4096, weight: 128, cap: 0, config: config),
        ]).map(s)
        XCTAssertEqual(lines.first, "[")
        XCTAssertEqual(lines.last, "]")
        XCTAssertTrue(lines.contains("        \"domid\": 0,"))
        XCTAssertTrue(lines.contains("                \"name\": \"Domain-0\""))
        XCTAssertTrue(lines.contains("                \"max_memkb\": 4096,"))
        XCTAssertTrue(lines.contains("                    \"kernel\": \"spinner.elf\","))
        XCTAssertTrue(lines.contains("            \"on_crash\": \"destroy\""))
        // It is JSON, and it says what the configuration said.
        let data = Data(lines.joined(separator: "\n").utf8)
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertEqual(parsed.count, 2)
        let web = try XCTUnwrap(parsed[1]["config"] as? [String: Any])
        let binfo = try XCTUnwrap(web["b_info"] as? [String: Any])
        XCTAssertEqual((binfo["sched_params"] as? [String: Any])?["weight"] as? Int, 128)
        XCTAssertEqual((binfo["type.pv"] as? [String: Any])?["cmdline"] as? String, "console=hvc0 x=1")
        XCTAssertEqual((web["c_info"] as? [String: Any])?["name"] as? String, "web")
    }

    func testJSONStringsAreEscaped() {
        XCTAssertEqual(s(XlJSON.quoted(Array("a\"b\\c".utf8) + [10, 0xFF])), "\"a\\\"b\\\\c\\u000a\\u00ff\"")
    }
}
