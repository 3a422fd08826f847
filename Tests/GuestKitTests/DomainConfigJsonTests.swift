// DomainConfigJsonTests.swift: the body of POST /v1/domains turned into a DomainConfig through the
// shell's .cfg parser: accepted configurations, and each refusal (malformed JSON, not an object,
// unknown or repeated keys, wrong JSON types, quotes in strings, values DomainConfig refuses).

import XCTest
@testable import GuestKit

final class DomainConfigJsonTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func config(_ s: String) -> DomainConfig? {
        if case .success(let c) = DomainConfigJson.decode(b(s)) { return c }
        return nil
    }

    func error(_ s: String) -> String {
        switch DomainConfigJson.decode(b(s)) {
        case .success: return "accepted"
        case .failure(let e):
            XCTAssertEqual(e.status, 400)
            return String(decoding: e.message, as: UTF8.self)
        }
    }

    func testAcceptsTheCfgKeys() {
        let c = config(#"{"name": "web-1", "kernel": "spinner.elf", "memory": 4, "weight": 512, "cap": 50, "on_crash": "preserve", "extra": "x=1 y"}"#)
        XCTAssertEqual(c?.name, b("web-1"))
        XCTAssertEqual(c?.kernel, b("spinner.elf"))
        XCTAssertEqual(c?.memoryMiB, 4)
        XCTAssertEqual(c?.weight, 512)
        XCTAssertEqual(c?.cap, 50)
        XCTAssertEqual(c?.onCrash, .preserve)
        XCTAssertEqual(c?.extra, b("x=1 y"))
        let d = config(#"{"memory": 8, "kernel": "a.elf", "name": "b"}"#)
        XCTAssertEqual(d?.weight, 256)
        XCTAssertEqual(d?.cap, 0)
        XCTAssertEqual(d?.onCrash, .destroy)
        XCTAssertEqual(d, try? DomainConfig(parsing: b("name = \"b\"\nkernel = \"a.elf\"\nmemory = 8\n")))
    }

    func testDeviceListsMeanWhatTheCfgSays() {
        let c = config(#"{"name": "io-1", "kernel": "k", "memory": 4, "vif": ["mac=00:16:3e:00:00:07,bridge=xenbr0", ""], "disk": ["initrd:disk.img,raw,xvda,r", "vdisk:0-1048576,xvdb,w"]}"#)
        let cfg = try? DomainConfig(parsing: b("name = \"io-1\"\nkernel = \"k\"\nmemory = 4\nvif = [ 'mac=00:16:3e:00:00:07,bridge=xenbr0', '' ]\ndisk = [ 'initrd:disk.img,raw,xvda,r', 'vdisk:0-1048576,xvdb,w' ]\n"))
        XCTAssertNotNil(c)
        XCTAssertEqual(c, cfg)
        XCTAssertEqual(c?.vifs.count, 2)
        XCTAssertEqual(c?.vifs.first?.mac, [0x00, 0x16, 0x3E, 0, 0, 7])
        XCTAssertEqual(c?.disks.map(\.number), [51712, 51728])
        XCTAssertEqual(c?.disks.first?.backing, .initrd(b("disk.img")))
        XCTAssertEqual(c?.disks.last?.backing, .virtioRange(start: 0, end: 1048576))
        XCTAssertEqual(config(#"{"name": "a", "kernel": "k", "memory": 4, "vif": [], "disk": []}"#)?.vifs, [])
    }

    func testDeviceListRefusals() {
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "vif": "mac=00:16:3e:00:00:07"}"#).hasPrefix("'vif' must be an array of strings: vif must be"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "disk": [3]}"#).hasPrefix("'disk' must be an array of strings"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "disk": [["x"]]}"#).hasPrefix("'disk' must be an array of strings"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "disk": ["a',xvda,w"]}"#).hasPrefix("'disk' must be an array of strings without quotes"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "vif": ["a\"]"]}"#).hasPrefix("'vif' must be an array of strings without quotes"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "vif": ["x\nmemory = 9"]}"#).hasPrefix("'vif' must be an array of strings without quotes"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "vif": ["colour=red"]}"#).hasPrefix("vif must be a list of at most 4"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "vif": ["", "", "", "", ""]}"#).hasPrefix("vif must be a list of at most 4"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "disk": ["d.img,raw,xvdz,w"]}"#).hasPrefix("disk must be a list of at most 4"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "disk": ["a,xvda,w", "b,xvda,w"]}"#).hasPrefix("disk must be a list of at most 4"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "disk": ["initrd:x,xvda,w"]}"#).hasPrefix("disk must be a list of at most 4"))
        XCTAssertEqual(error(#"{"name": "a", "kernel": "k", "memory": 4, "vif": [], "vif": []}"#), "key 'vif' appears twice")
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "ioports": ["2f8"]}"#).hasPrefix("unknown key 'ioports'"))
    }

    func testRefusals() {
        XCTAssertTrue(error(#"{"name": "a", "#).hasPrefix("malformed JSON"))
        XCTAssertEqual(error("[1]"), "the body must be a JSON object")
        XCTAssertEqual(error(#"{"name": "a", "kernel": "k", "memory": 4, "colour": 1}"#),
                       "unknown key 'colour'; the keys are name, kernel, memory, vcpus, weight, cap, on_crash, extra, vif and disk")
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "autostart": 1}"#).hasPrefix("unknown key 'autostart'"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "bad\u0001": 1}"#).hasPrefix("unknown key 'bad?'"))
        XCTAssertEqual(error(#"{"name": "a", "name": "b", "kernel": "k", "memory": 4}"#), "key 'name' appears twice")
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": "4"}"#).hasPrefix("'memory' must be an integer: memory must be"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4.5}"#).hasPrefix("'memory' must be an integer"))
        XCTAssertTrue(error(#"{"name": 7, "kernel": "k", "memory": 4}"#).hasPrefix("'name' must be a string"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "extra": "a\"b"}"#).hasPrefix("'extra' must be a string without quotes"))
        XCTAssertTrue(error(#"{"name": "a", "kernel": "k", "memory": 4, "extra": "a\nmemory = 9"}"#).hasPrefix("'extra' must be a string without quotes"))
        XCTAssertEqual(error(#"{"name": "a", "kernel": "k", "memory": 0}"#), "memory must be a whole number of MiB between 1 and 4096.")
        XCTAssertEqual(error(#"{"name": "a", "kernel": "k", "memory": -3}"#), "memory must be a whole number of MiB between 1 and 4096.")
        XCTAssertEqual(error(#"{"name": "a", "kernel": "k", "memory": 4, "cap": 101}"#), "cap must be a whole percentage between 0 and 100 (0 means no cap).")
        XCTAssertEqual(error(#"{"name": "a", "kernel": "k", "memory": 4, "weight": 99999999999}"#), "weight must be a whole number between 1 and 65535.")
        XCTAssertEqual(error(#"{"name": "a b", "kernel": "k", "memory": 4}"#), "name may only hold letters, digits, '_', '.' and '-'.")
        XCTAssertEqual(error(#"{"name": "a", "kernel": "d/k", "memory": 4}"#), "kernel must be the quoted name of a file in dom0's initrd, without '/', such as kernel = \"domu.elf\".")
        XCTAssertEqual(error(#"{"name": "a", "kernel": "k", "memory": 4, "on_crash": "explode"}"#), "on_crash must be \"destroy\", \"preserve\" or \"restart\".")
        XCTAssertEqual(error(#"{"kernel": "k", "memory": 4}"#), "the configuration has no name line; name is required.")
        XCTAssertEqual(error("{}"), "the configuration has no name line; name is required.")
    }

    /// Whatever the bytes, decode answers (no trap); every byte prefix of a valid body is tried.
    func testPrefixesNeverTrap() {
        let body = b(#"{"name": "web-1", "kernel": "spinner.elf", "memory": 4, "weight": 512, "cap": 50, "extra": "\u00e9 x"}"#)
        for n in 0...body.count { _ = DomainConfigJson.decode(Array(body.prefix(n))) }
        XCTAssertNotNil(config(String(decoding: body, as: UTF8.self)))
    }
}
