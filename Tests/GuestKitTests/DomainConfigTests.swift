// DomainConfigTests.swift: the xl.cfg-subset reader: every key accepted and refused, the defaults,
// comments and both quoting styles, each error with its line, and a seeded fuzz of random bytes and
// random config-like lines that must always give a config or an error, never a trap.

import XCTest
import ApusCore
@testable import GuestKit

private func parse(_ text: String) -> Result<DomainConfig, ConfigError> {
    parse(Array(text.utf8))
}

private func parse(_ bytes: [UInt8]) -> Result<DomainConfig, ConfigError> {
    do throws(ConfigError) { return .success(try DomainConfig(parsing: bytes)) } catch { return .failure(error) }
}

private let minimal = "name = \"web\"\nkernel = \"domu.elf\"\nmemory = 64\n"

/// The minimal file with one more line after it (line 4).
private func withLine(_ line: String) -> Result<DomainConfig, ConfigError> { parse(minimal + line + "\n") }

private func text(_ s: StaticString) -> String { s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }

final class DomainConfigTests: XCTestCase {
    private func assertConfig(_ result: Result<DomainConfig, ConfigError>, file: StaticString = #filePath, line: UInt = #line) -> DomainConfig? {
        switch result {
        case .success(let c): return c
        case .failure(let e):
            XCTFail("refused: \(String(decoding: e.message, as: UTF8.self))", file: file, line: line)
            return nil
        }
    }

    private func assertError(_ result: Result<DomainConfig, ConfigError>, line expectedLine: Int, _ kind: ConfigError.Kind,
                             file: StaticString = #filePath, line: UInt = #line) {
        switch result {
        case .success(let c): XCTFail("accepted: \(c)", file: file, line: line)
        case .failure(let e): XCTAssertEqual(e, ConfigError(line: expectedLine, kind), file: file, line: line)
        }
    }

    // MARK: good files

    func testMinimalFileGetsEveryDefault() {
        guard let c = assertConfig(parse(minimal)) else { return }
        XCTAssertEqual(c, DomainConfig(name: Array("web".utf8), kernel: Array("domu.elf".utf8), memoryMiB: 64))
        XCTAssertEqual(c.weight, 256)
        XCTAssertEqual(c.cap, 0)
        XCTAssertEqual(c.onCrash, .destroy)
        XCTAssertEqual(c.autostart, false)
        XCTAssertEqual(c.extra, [])
        XCTAssertEqual(c.ramdisk, [], "no ramdisk unless asked")
    }

    func testEveryKeySet() {
        let file = """
            # A web server domain.
            name = "web-1.prod_A"
            kernel = 'domu.elf'     # from the initrd
            memory = 4096
            weight = 65535
            cap = 100
            on_crash = "restart"
            autostart = "yes"
            extra = "console=hvc0 loglevel=7 msg='hi' # not a comment"
            ramdisk = "initramfs.cpio.gz"
            """
        guard let c = assertConfig(parse(file)) else { return }
        XCTAssertEqual(c, DomainConfig(name: Array("web-1.prod_A".utf8), kernel: Array("domu.elf".utf8), memoryMiB: 4096,
                                       weight: 65535, cap: 100, onCrash: .restart, autostart: true,
                                       extra: Array("console=hvc0 loglevel=7 msg='hi' # not a comment".utf8),
                                       ramdisk: Array("initramfs.cpio.gz".utf8)))
    }

    /// vcpus (issue #16): 1 by default, 1...8 accepted, anything else refused with the key named.
    func testVCPUs() {
        XCTAssertEqual(assertConfig(parse(minimal))?.vcpus, 1)
        XCTAssertEqual(assertConfig(withLine("vcpus = 4"))?.vcpus, 4)
        XCTAssertEqual(assertConfig(withLine("vcpus = 8"))?.vcpus, 8)
        assertError(withLine("vcpus = 0"), line: 4, .outOfRange(.vcpus))
        assertError(withLine("vcpus = 9"), line: 4, .outOfRange(.vcpus))
        assertError(parse(minimal + "vcpus = 2\nvcpus = 3\n"), line: 5, .duplicateKey(.vcpus))
    }

    func testKeysInAnyOrderWithBlanksCommentsTabsAndCRLF() {
        let file = "\r\n  # comment\r\n\t\r\nmemory\t=\t1 # one MiB\r\n   kernel='k'\r\nname=\"a\"#x\r\n# end"
        guard let c = assertConfig(parse(file)) else { return }
        XCTAssertEqual(c.name, [97])
        XCTAssertEqual(c.kernel, [107])
        XCTAssertEqual(c.memoryMiB, 1)
    }

    func testNoFinalNewline() {
        guard let c = assertConfig(parse("name=\"a\"\nkernel=\"k\"\nmemory=2")) else { return }
        XCTAssertEqual(c.memoryMiB, 2)
    }

    func testQuotingStylesHoldTheOtherQuoteAndHash() {
        XCTAssertEqual(assertConfig(withLine("extra = 'say \"hi\" # there'"))?.extra, Array("say \"hi\" # there".utf8))
        XCTAssertEqual(assertConfig(withLine("extra = \"it's\""))?.extra, Array("it's".utf8))
        XCTAssertEqual(assertConfig(withLine("extra = \"\""))?.extra, [])
        XCTAssertEqual(assertConfig(withLine("extra = \"tab\there\""))?.extra, Array("tab\there".utf8))
        // UTF-8 is just bytes in extra.
        XCTAssertEqual(assertConfig(withLine("extra = \"café\""))?.extra, Array("café".utf8))
    }

    func testNumbersWithLeadingZeros() {
        XCTAssertEqual(assertConfig(withLine("weight = 000512"))?.weight, 512)
        XCTAssertEqual(assertConfig(withLine("cap = 0"))?.cap, 0)
    }

    func testOnCrashValues() {
        XCTAssertEqual(assertConfig(withLine("on_crash = 'destroy'"))?.onCrash, .destroy)
        XCTAssertEqual(assertConfig(withLine("on_crash = \"preserve\""))?.onCrash, .preserve)
        XCTAssertEqual(assertConfig(withLine("on_crash = \"restart\""))?.onCrash, .restart)
        assertError(withLine("on_crash = \"reboot\""), line: 4, .invalid(.onCrash))
        assertError(withLine("on_crash = \"Destroy\""), line: 4, .invalid(.onCrash))
        assertError(withLine("on_crash = destroy"), line: 4, .wrongType(.onCrash))
        assertError(withLine("on_crash = 1"), line: 4, .wrongType(.onCrash))
    }

    func testAutostartValues() {
        XCTAssertEqual(assertConfig(withLine("autostart = 1"))?.autostart, true)
        XCTAssertEqual(assertConfig(withLine("autostart = 0"))?.autostart, false)
        XCTAssertEqual(assertConfig(withLine("autostart = \"yes\""))?.autostart, true)
        XCTAssertEqual(assertConfig(withLine("autostart = 'no'"))?.autostart, false)
        assertError(withLine("autostart = 2"), line: 4, .outOfRange(.autostart))
        assertError(withLine("autostart = -1"), line: 4, .outOfRange(.autostart))
        assertError(withLine("autostart = \"true\""), line: 4, .invalid(.autostart))
        assertError(withLine("autostart = yes"), line: 4, .wrongType(.autostart))
    }

    // MARK: ranges

    func testMemoryRange() {
        XCTAssertEqual(assertConfig(parse("name='a'\nkernel='k'\nmemory=1"))?.memoryMiB, 1)
        XCTAssertEqual(assertConfig(parse("name='a'\nkernel='k'\nmemory=4096"))?.memoryMiB, 4096)
        for bad in ["0", "4097", "4294967295", "4294967296", "99999999999999999999999999999999", "-1", "-0"] {
            assertError(parse("name='a'\nkernel='k'\nmemory=\(bad)"), line: 3, .outOfRange(.memory))
        }
        assertError(parse("name='a'\nkernel='k'\nmemory=\"64\""), line: 3, .wrongType(.memory))
        assertError(parse("name='a'\nkernel='k'\nmemory=lots"), line: 3, .wrongType(.memory))
        assertError(parse("name='a'\nkernel='k'\nmemory=64M"), line: 3, .garbageAfterValue)
        assertError(parse("name='a'\nkernel='k'\nmemory=0x40"), line: 3, .garbageAfterValue)
        assertError(parse("name='a'\nkernel='k'\nmemory=6 4"), line: 3, .garbageAfterValue)
    }

    func testWeightRange() {
        XCTAssertEqual(assertConfig(withLine("weight = 1"))?.weight, 1)
        XCTAssertEqual(assertConfig(withLine("weight = 65535"))?.weight, 65535)
        assertError(withLine("weight = 0"), line: 4, .outOfRange(.weight))
        assertError(withLine("weight = 65536"), line: 4, .outOfRange(.weight))
        assertError(withLine("weight = 18446744073709551617"), line: 4, .outOfRange(.weight))
        assertError(withLine("weight = '5'"), line: 4, .wrongType(.weight))
    }

    func testCapRange() {
        XCTAssertEqual(assertConfig(withLine("cap = 100"))?.cap, 100)
        XCTAssertEqual(assertConfig(withLine("cap = 50"))?.cap, 50)
        assertError(withLine("cap = 101"), line: 4, .outOfRange(.cap))
        assertError(withLine("cap = 256"), line: 4, .outOfRange(.cap))
        assertError(withLine("cap = -5"), line: 4, .outOfRange(.cap))
        assertError(withLine("cap = 'none'"), line: 4, .wrongType(.cap))
    }

    // MARK: names, kernels, extra

    func testNameRules() {
        let thirtyOne = String(repeating: "n", count: 31)
        XCTAssertEqual(assertConfig(parse("name='\(thirtyOne)'\nkernel='k'\nmemory=1"))?.name.count, 31)
        XCTAssertEqual(assertConfig(parse("name='AZaz09_.-'\nkernel='k'\nmemory=1"))?.name, Array("AZaz09_.-".utf8))
        assertError(parse("name='\(thirtyOne)n'\nkernel='k'\nmemory=1"), line: 1, .nameLength)
        assertError(parse("name=''\nkernel='k'\nmemory=1"), line: 1, .nameLength)
        for bad in ["a b", "a/b", "a:b", "ü", "a\tb", "web!", "a,b", "a#b", "a'b"] {
            assertError(parse("name=\"\(bad)\"\nkernel='k'\nmemory=1"), line: 1, .nameCharacters)
        }
        assertError(parse("name=web\nkernel='k'\nmemory=1"), line: 1, .wrongType(.name))
        assertError(parse("name=5\nkernel='k'\nmemory=1"), line: 1, .wrongType(.name))
    }

    func testKernelRules() {
        XCTAssertEqual(assertConfig(parse("name='a'\nkernel='my kernel.elf'\nmemory=1"))?.kernel, Array("my kernel.elf".utf8))
        assertError(parse("name='a'\nkernel='boot/domu.elf'\nmemory=1"), line: 2, .invalid(.kernel))
        assertError(parse("name='a'\nkernel='/domu.elf'\nmemory=1"), line: 2, .invalid(.kernel))
        assertError(parse("name='a'\nkernel=''\nmemory=1"), line: 2, .invalid(.kernel))
        assertError(parse("name='a'\nkernel=domu.elf\nmemory=1"), line: 2, .wrongType(.kernel))
    }

    func testRamdiskRules() {
        XCTAssertEqual(assertConfig(parse("name='a'\nkernel='k'\nramdisk='rd 1.gz'\nmemory=1"))?.ramdisk, Array("rd 1.gz".utf8))
        assertError(parse("name='a'\nkernel='k'\nramdisk='boot/rd.gz'\nmemory=1"), line: 3, .invalid(.ramdisk))
        assertError(parse("name='a'\nkernel='k'\nramdisk=''\nmemory=1"), line: 3, .invalid(.ramdisk))
        assertError(parse("name='a'\nkernel='k'\nramdisk=5\nmemory=1"), line: 3, .wrongType(.ramdisk))
        assertError(parse("name='a'\nramdisk='x'\nkernel='k'\nramdisk='y'\nmemory=1"), line: 4, .duplicateKey(.ramdisk))
    }

    func testExtraLength() {
        let max = String(repeating: "x", count: 1023)
        XCTAssertEqual(assertConfig(withLine("extra = '\(max)'"))?.extra.count, 1023)
        assertError(withLine("extra = '\(max)x'"), line: 4, .invalid(.extra))
        assertError(withLine("extra = 12"), line: 4, .wrongType(.extra))
    }

    // MARK: syntax errors, each on its line

    /// Driver-domain passthrough, written as xl.cfg writes it.
    func testPassthroughKeys() {
        guard let c = assertConfig(parse(minimal + "ioports = [ '2f8-2ff', '0x3E8', \"510-511\" ]\niomem = [ 'febf0,4' ]\nirqs = [ 10, 11 ]\n")) else { return }
        XCTAssertEqual(c.ioports, [IOPortGrant(first: 0x2F8, last: 0x2FF), IOPortGrant(first: 0x3E8, last: 0x3E8),
                                   IOPortGrant(first: 0x510, last: 0x511)])
        XCTAssertEqual(c.iomem, [IOMemGrant(firstFrame: 0xFEBF0, pages: 4)])
        XCTAssertEqual(c.irqs, [10, 11])
        guard let none = assertConfig(parse(minimal)) else { return }
        XCTAssertEqual(none.ioports, [])
        XCTAssertEqual(none.iomem, [])
        XCTAssertEqual(none.irqs, [])
        for bad in ["ioports = [ '2ff-2f8' ]", "ioports = [ '10000' ]", "ioports = [ '2f8-' ]", "ioports = [ 'x' ]",
                    "ioports = [ '1-2-3' ]", "ioports = [ '' ]",
                    "ioports = [ '1','2','3','4','5','6','7','8','9' ]"] {
            assertError(withLine(bad), line: 4, .invalid(.ioports))
        }
        for bad in ["iomem = [ 'febf0' ]", "iomem = [ 'febf0,0' ]", "iomem = [ 'ffffffffff,2' ]", "iomem = [ 'g,1' ]"] {
            assertError(withLine(bad), line: 4, .invalid(.iomem))
        }
        for bad in ["irqs = [ 0 ]", "irqs = [ 16 ]", "irqs = [ 'a' ]", "irqs = [ 0x3 ]"] {
            assertError(withLine(bad), line: 4, .invalid(.irqs))
        }
        assertError(withLine("irqs = 10"), line: 4, .wrongType(.irqs))
        assertError(withLine("irqs = [ 10 11 ]"), line: 4, .wrongType(.irqs))
    }

    func testSyntaxErrors() {
        assertError(withLine("memory 64"), line: 4, .missingEquals)
        assertError(withLine("weight"), line: 4, .missingEquals)
        assertError(withLine("mem-ory = 3"), line: 4, .missingEquals)
        assertError(withLine("= 64"), line: 4, .missingKey)
        assertError(withLine("\"name\" = 'x'"), line: 4, .missingKey)
        assertError(withLine("weight ="), line: 4, .missingValue)
        assertError(withLine("weight =   # nothing"), line: 4, .missingValue)
        assertError(withLine("extra = \"open"), line: 4, .unterminatedQuote)
        assertError(withLine("extra = 'mixed\""), line: 4, .unterminatedQuote)
        assertError(withLine("extra = 'no close\r"), line: 4, .unterminatedQuote)
        assertError(withLine("extra = 'nul\u{0}'"), line: 4, .controlCharacter)
        assertError(withLine("extra = 'esc\u{1B}[m'"), line: 4, .controlCharacter)
        assertError(withLine("extra = 'del\u{7F}'"), line: 4, .controlCharacter)
        assertError(withLine("extra = 'a' 'b'"), line: 4, .garbageAfterValue)
        assertError(withLine("weight = 5;"), line: 4, .garbageAfterValue)
        assertError(withLine("weight = 5 = 6"), line: 4, .garbageAfterValue)
    }

    func testUnknownAndDuplicateKeys() {
        assertError(withLine("maxvcpus = 2"), line: 4, .unknownKey)
        assertError(withLine("Memory = 2"), line: 4, .unknownKey)
        assertError(withLine("on-crash = 'destroy'"), line: 4, .missingEquals)
        assertError(withLine("memory = 128"), line: 4, .duplicateKey(.memory))
        assertError(parse("cap=1\n\n# c\ncap=1\nname='a'\nkernel='k'\nmemory=1"), line: 4, .duplicateKey(.cap))
        // A duplicate is refused even when its value is bad; the first error by line wins.
        assertError(parse("name='a'\nname=''\nweight=0"), line: 2, .duplicateKey(.name))
        assertError(parse("weight=0\nname='a'\nname=''"), line: 1, .outOfRange(.weight))
    }

    func testMissingRequiredKeysAreReportedOnLineZero() {
        assertError(parse(""), line: 0, .missingRequired(.name))
        assertError(parse("# only a comment\n\n"), line: 0, .missingRequired(.name))
        assertError(parse("kernel='k'\nmemory=1"), line: 0, .missingRequired(.name))
        assertError(parse("name='a'\nmemory=1"), line: 0, .missingRequired(.kernel))
        assertError(parse("name='a'\nkernel='k'\n"), line: 0, .missingRequired(.memory))
    }

    func testLineNumbersCountBlankAndCommentLines() {
        assertError(parse("\n\n# three\n\nname='a'\nkernel='k'\nmemory=1\n\n\nfoo=1\n"), line: 10, .unknownKey)
        assertError(parse("\r\n\r\nweight=0\r\n"), line: 3, .outOfRange(.weight))
    }

    // MARK: messages

    func testMessagesNameTheLine() {
        guard case .failure(let e) = parse("name='a'\nkernel='k'\nmemory=5000\n") else { return XCTFail("accepted") }
        XCTAssertEqual(String(decoding: e.message, as: UTF8.self), "line 3: memory must be a whole number of MiB between 1 and 4096.")
        guard case .failure(let m) = parse("name='a'\nkernel='k'\n") else { return XCTFail("accepted") }
        XCTAssertEqual(String(decoding: m.message, as: UTF8.self), "the configuration has no memory line; memory is required.")
        let long = String(repeating: "\n", count: 1234) + "x=1"
        guard case .failure(let l) = parse(long) else { return XCTFail("accepted") }
        XCTAssertTrue(String(decoding: l.message, as: UTF8.self).hasPrefix("line 1235: the key is not one Apus knows"))
    }

    func testEveryReasonIsASentence() {
        var kinds: [ConfigError.Kind] = [.missingKey, .missingEquals, .missingValue, .unterminatedQuote, .controlCharacter,
                                         .garbageAfterValue, .unknownKey, .nameLength, .nameCharacters]
        for key in ConfigKey.allCases {
            kinds += [.duplicateKey(key), .wrongType(key), .outOfRange(key), .invalid(key), .missingRequired(key)]
        }
        for kind in kinds {
            let reason = text(ConfigError(line: 1, kind).reason)
            XCTAssertGreaterThan(reason.count, 20, "\(kind)")
            XCTAssertTrue(reason.hasSuffix("."), "\(kind): \(reason)")
        }
        for key in ConfigKey.allCases {
            XCTAssertTrue(text(key.requirement).hasPrefix(text(key.spelling) + " "), "\(key)")
        }
    }

    func testBufferPointerEntryMatchesArrayEntry() {
        let bytes = Array(minimal.utf8)
        let viaBuffer = bytes.withUnsafeBufferPointer { b -> DomainConfig? in try? DomainConfig(parsing: b) }
        XCTAssertEqual(viaBuffer, try? DomainConfig(parsing: bytes))
        // An empty buffer (nil base address) is a file with no lines.
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        do throws(ConfigError) { _ = try DomainConfig(parsing: empty); XCTFail("accepted") } catch {
            XCTAssertEqual(error, ConfigError(line: 0, .missingRequired(.name)))
        }
    }

    // MARK: fuzz

    /// Random bytes of every value, mostly short, some long: each input parses or is refused with a
    /// line inside the file (or 0), and parsing twice answers the same.
    func testRandomBytesNeverTrap() {
        var rng = SplitMix64(seed: 0xA9C5_0001)
        var accepted = 0
        for round in 0..<4000 {
            let length = round % 10 == 0 ? Int(rng.next() % 3000) : Int(rng.next() % 80)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            check(bytes, accepted: &accepted)
        }
        XCTAssertEqual(accepted, 0, "random bytes should not make a whole config")
    }

    /// Random lines built from the grammar's own pieces (keys, '=', quotes, digits, comments, blanks,
    /// huge numbers), which reach the deep paths random bytes rarely do.
    func testRandomConfigLikeFilesNeverTrap() {
        let pieces: [String] = ["name", "kernel", "memory", "weight", "cap", "on_crash", "autostart", "extra", "bogus",
                                "=", "=", " ", "\t", "\"", "'", "#", "\n", "\r\n", "\r", "0", "1", "64", "100", "4096",
                                "65535", "4294967296", "99999999999999999999", "-", "-3", "\"web\"", "'k.elf'", "\"yes\"",
                                "'no'", "\"destroy\"", "'restart'", "\u{0}", "\u{7F}", "/", "ü", "x", ".cfg", "M"]
        var rng = SplitMix64(seed: 0xA9C5_0002)
        func pick(_ choices: [String]) -> String { choices[Int(rng.next() % UInt64(choices.count))] }
        var accepted = 0
        var kinds = Set<String>()
        for round in 0..<6000 {
            var text = ""
            if round % 3 == 0 {
                // Soup: the pieces in any order.
                for _ in 0..<Int(rng.next() % 40) { text += pick(pieces) }
            } else {
                // Lines shaped like settings, each part drawn from good and bad choices.
                for _ in 0..<Int(rng.next() % 9) {
                    text += pick(["", "", " ", "\t"]) + pick(pieces.prefix(9) + ["", "\"name\""]) + pick(["", " "])
                    text += pick(["=", "=", "=", " ", ""]) + pick(["", " "])
                    text += pick(["1", "64", "0", "101", "4097", "65536", "-2", "4294967296", "\"\"", "\"web\"", "'k.elf'",
                                  "'a/b'", "\"yes\"", "'restart'", "'bad name'", "\"\(String(repeating: "n", count: 32))\"",
                                  "'\(String(repeating: "e", count: 1024))'", "\"open", "'nul\u{0}'", "word", "# c", ""])
                    text += pick(["", "", " # comment", " x", "'", "5"]) + pick(["\n", "\r\n"])
                }
            }
            check(Array(text.utf8), accepted: &accepted)
            if case .failure(let e) = parse(text) { kinds.insert("\(e.kind)") }
        }
        // The generator reaches nearly every refusal, not just the first syntax checks.
        XCTAssertGreaterThanOrEqual(kinds.count, 30, "\(kinds.sorted())")
        // Shuffled valid files with random optional keys: all must parse.
        let required = ["name = \"fz\"", "kernel = 'k'", "memory = 32"]
        let optional = ["weight = 7", "cap = 9", "on_crash = \"preserve\"", "autostart = 1", "extra = 'a=b'", "# note", ""]
        for _ in 0..<1000 {
            var lines = required
            for o in optional where rng.next() % 2 == 0 { lines.append(o) }
            for i in stride(from: lines.count - 1, to: 0, by: -1) { lines.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            guard case .success(let c) = parse(lines.joined(separator: rng.next() % 2 == 0 ? "\n" : "\r\n")) else {
                return XCTFail("refused \(lines)")
            }
            XCTAssertEqual(c.memoryMiB, 32)
        }
    }

    private func check(_ bytes: [UInt8], accepted: inout Int) {
        let lines = bytes.filter { $0 == 10 }.count + 1
        switch parse(bytes) {
        case .success(let c):
            accepted += 1
            XCTAssertTrue((1...31).contains(c.name.count))
            XCTAssertFalse(c.kernel.isEmpty || c.kernel.contains(47))
            XCTAssertTrue((1...4096).contains(c.memoryMiB))
            XCTAssertTrue(c.weight >= 1 && c.cap <= 100 && c.extra.count <= 1023)
        case .failure(let e):
            XCTAssertTrue((0...lines).contains(e.line), "line \(e.line) of \(lines)")
            XCTAssertEqual(e.line == 0, { if case .missingRequired = e.kind { return true } else { return false } }())
            XCTAssertFalse(e.message.isEmpty)
        }
    }
}
