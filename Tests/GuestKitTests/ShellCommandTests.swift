// ShellCommandTests.swift: how dom0's shell decodes a typed line: every command with good and wrong
// arguments, ids against names, blanks and tabs, unknown words, and random lines that must not trap.

import XCTest
import ApusCore
@testable import GuestKit

private func command(_ line: String) -> ShellCommand { ShellCommand(parsing: Array(line.utf8)) }
private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
private func text(_ s: StaticString) -> String { s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }

final class ShellCommandTests: XCTestCase {
    func testCommandsWithoutArguments() {
        XCTAssertEqual(command("list"), .list)
        XCTAssertEqual(command("top"), .top)
        XCTAssertEqual(command("dmesg"), .dmesg)
        XCTAssertEqual(command("help"), .help)
    }

    func testEmptyAndBlankLines() {
        XCTAssertEqual(command(""), .empty)
        XCTAssertEqual(command("   "), .empty)
        XCTAssertEqual(command("\t \t"), .empty)
        XCTAssertEqual(command("\r\n"), .empty)
    }

    func testCreateTakesOneFileName() {
        XCTAssertEqual(command("create web.cfg"), .create(file: bytes("web.cfg")))
        XCTAssertEqual(command("create ./a/b.cfg"), .create(file: bytes("./a/b.cfg")))
        XCTAssertEqual(command("create"), .usage(.create, reason: "create needs the name of a .cfg file in dom0's initrd, such as create web.cfg."))
        XCTAssertEqual(command("create a.cfg b.cfg"), .usage(.create, reason: "create takes exactly one file name."))
    }

    func testDomainCommandsTakeOneIdOrName() {
        XCTAssertEqual(command("destroy 3"), .destroy(.id(3)))
        XCTAssertEqual(command("pause web"), .pause(.name(bytes("web"))))
        XCTAssertEqual(command("unpause 0"), .unpause(.id(0)))
        XCTAssertEqual(command("info db-1"), .info(.name(bytes("db-1"))))
        XCTAssertEqual(command("destroy"), .usage(.destroy, reason: "destroy needs a domain id or name."))
        XCTAssertEqual(command("pause"), .usage(.pause, reason: "pause needs a domain id or name."))
        XCTAssertEqual(command("unpause  "), .usage(.unpause, reason: "unpause needs a domain id or name."))
        XCTAssertEqual(command("info"), .usage(.info, reason: "info needs a domain id or name."))
        XCTAssertEqual(command("destroy 1 2"), .usage(.destroy, reason: "destroy takes exactly one domain id or name."))
        XCTAssertEqual(command("info a b"), .usage(.info, reason: "info takes exactly one domain id or name."))
    }

    func testExtraArgumentsToArgumentlessCommands() {
        XCTAssertEqual(command("list all"), .usage(.list, reason: "list takes no arguments, or -l."))
        XCTAssertEqual(command("list -l"), .listLong)
        XCTAssertEqual(command("list -l -l"), .usage(.list, reason: "list takes no arguments, or -l."))
        XCTAssertNotEqual(ShellCommand.listLong, .list)
        XCTAssertEqual(command("top 1"), .usage(.top, reason: "top takes no arguments."))
        XCTAssertEqual(command("dmesg -c"), .usage(.dmesg, reason: "dmesg takes no arguments."))
        XCTAssertEqual(command("help create"), .usage(.help, reason: "help takes no arguments."))
    }

    func testDomainReferences() {
        XCTAssertEqual(DomainReference(bytes("65535")), .id(65535))
        XCTAssertEqual(DomainReference(bytes("00042")), .id(42))
        XCTAssertEqual(DomainReference(bytes("65536")), .name(bytes("65536")))
        XCTAssertEqual(DomainReference(bytes("655350")), .name(bytes("655350")))
        XCTAssertEqual(DomainReference(bytes("99999999999999999999999")), .name(bytes("99999999999999999999999")))
        XCTAssertEqual(DomainReference(bytes("12a")), .name(bytes("12a")))
        XCTAssertEqual(DomainReference(bytes("-1")), .name(bytes("-1")))
        XCTAssertEqual(DomainReference(bytes("")), .name([]))
    }

    func testBlanksAndTabsAroundWords() {
        XCTAssertEqual(command("  destroy\t\t7  "), .destroy(.id(7)))
        XCTAssertEqual(command("\tcreate   web.cfg\t"), .create(file: bytes("web.cfg")))
        XCTAssertEqual(command(" list\r"), .list)
    }

    func testUnknownWordsAndCase() {
        XCTAssertEqual(command("migrate 3"), .unknown(bytes("migrate")))
        XCTAssertEqual(command("LIST"), .unknown(bytes("LIST")))
        XCTAssertEqual(command("lis"), .unknown(bytes("lis")))
        XCTAssertEqual(command("listx"), .unknown(bytes("listx")))
        XCTAssertEqual(command("  \u{1}x "), .unknown([1, 120]))
    }

    func testEqualityComparesReasonText() {
        XCTAssertNotEqual(ShellCommand.usage(.create, reason: "a."), .usage(.create, reason: "b."))
        XCTAssertNotEqual(ShellCommand.usage(.create, reason: "a."), .usage(.destroy, reason: "a."))
        XCTAssertNotEqual(ShellCommand.destroy(.id(1)), .pause(.id(1)))
        XCTAssertNotEqual(ShellCommand.destroy(.id(1)), .destroy(.name(bytes("1"))))
        XCTAssertNotEqual(ShellCommand.list, .empty)
    }

    func testVerbSpellingsAndUsageReasonsAreSentences() {
        XCTAssertEqual(ShellVerb.allCases.map { text($0.spelling) },
                       ["list", "create", "destroy", "pause", "unpause", "info", "top", "dmesg", "help",
                        "shutdown", "reboot", "console", "store", "lspci", "ifconfig", "ping", "disk", "net"])
        for verb in ShellVerb.allCases {
            let name = text(verb.spelling)
            XCTAssertNotEqual(command(name + " x y z"), .unknown(bytes(name)))
            guard case .usage(let v, let reason) = command(name + " x y z") else { return XCTFail(name) }
            XCTAssertEqual(v, verb)
            XCTAssertTrue(text(reason).hasPrefix(name + " ") && text(reason).hasSuffix("."), text(reason))
        }
    }

    func testDeviceCommands() {
        XCTAssertEqual(command("lspci"), .lspci)
        XCTAssertEqual(command(" ifconfig "), .ifconfig)
        XCTAssertEqual(command("net"), .net)
        XCTAssertEqual(command("net 1"), .usage(.net, reason: "net takes no arguments."))
        XCTAssertEqual(command("ping 10.0.2.2"), .ping(0x0202_000A))
        XCTAssertEqual(command("ping 255.255.255.255"), .ping(0xFFFF_FFFF))
        for bad in ["ping", "ping 10.0.2", "ping 10.0.2.256", "ping 10..2.2", "ping 10.0.2.2.", "ping 1.2.3.4.5",
                    "ping 0010.0.0.1", "ping a.b.c.d", "ping 10.0.2.2 x"] {
            XCTAssertEqual(command(bad), .usage(.ping, reason: "ping needs one IPv4 address, such as ping 10.0.2.2."), bad)
        }
        XCTAssertEqual(command("disk"), .disk(read: nil))
        XCTAssertEqual(command("disk read 8189"), .disk(read: 8189))
        for bad in ["disk read", "disk read x", "disk write 1", "disk read 1 2", "disk read 1234567890123456789"] {
            XCTAssertEqual(command(bad), .usage(.disk, reason: "disk takes nothing, or read and a sector number."), bad)
        }
        XCTAssertEqual(command("lspci -v"), .usage(.lspci, reason: "lspci takes no arguments."))
    }

    func testShutdownRebootAndConsoleTakeOneDomain() {
        XCTAssertEqual(command("shutdown 3"), .shutdown(.id(3)))
        XCTAssertEqual(command("reboot mini"), .reboot(.name(bytes("mini"))))
        XCTAssertEqual(command("console\t2 "), .console(.id(2)))
        XCTAssertEqual(command("shutdown"), .usage(.shutdown, reason: "shutdown needs a domain id or name."))
        XCTAssertEqual(command("console 1 2"), .usage(.console, reason: "console takes exactly one domain id or name."))
    }

    func testStoreSubcommands() {
        XCTAssertEqual(command("store ls"), .store(.list(bytes("/"))))
        XCTAssertEqual(command("store ls /local/domain/1"), .store(.list(bytes("/local/domain/1"))))
        XCTAssertEqual(command("store read name"), .store(.read(bytes("name"))))
        XCTAssertEqual(command("store write /a/b hello  there"), .store(.write(bytes("/a/b"), bytes("hello there"))))
        XCTAssertEqual(command("store write /a/b"), .store(.write(bytes("/a/b"), [])))
        XCTAssertEqual(command("store rm /a"), .store(.remove(bytes("/a"))))
        XCTAssertEqual(command("store"), .usage(.store, reason: "store needs ls [path], read <path>, write <path> <value> or rm <path>."))
        XCTAssertEqual(command("store frob"), .usage(.store, reason: "store needs ls [path], read <path>, write <path> <value> or rm <path>."))
        XCTAssertEqual(command("store ls a b"), .usage(.store, reason: "store ls takes at most one path."))
        XCTAssertEqual(command("store read"), .usage(.store, reason: "store read takes exactly one path."))
        XCTAssertEqual(command("store rm a b"), .usage(.store, reason: "store rm takes exactly one path."))
        XCTAssertEqual(command("store write"), .usage(.store, reason: "store write needs a path and a value."))
        XCTAssertNotEqual(command("store read a"), .store(.read(bytes("b"))))
    }

    func testRandomLinesNeverTrap() {
        var rng = SplitMix64(seed: 0x5E11)
        let words = ["list", "create", "destroy", "pause", "unpause", "info", "top", "dmesg", "help", "store", "ls",
                     "write", "read", "rm", "console", "shutdown", "reboot", " ", "\t", "7", "65536", "x"]
        for round in 0..<3000 {
            var line: [UInt8]
            if round % 2 == 0 {
                line = (0..<Int(rng.next() % 130)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                line = []
                for _ in 0..<Int(rng.next() % 8) { line += bytes(words[Int(rng.next() % UInt64(words.count))]) }
            }
            let decoded = ShellCommand(parsing: line)
            XCTAssertEqual(decoded, ShellCommand(parsing: line))
            if case .unknown(let word) = decoded { XCTAssertFalse(word.isEmpty) }
        }
    }
}
