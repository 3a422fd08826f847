// XenStoreOperationTests.swift: xenstored's node operations over the wire format: WRITE, READ,
// DIRECTORY, MKDIR, RM, GET/SET_PERMS, relative paths, domain introduction, and permissions
// between dom0 and two guests. Each refusal is checked to leave the tree unchanged.

import XCTest
@testable import GuestKit

final class XenStoreOperationTests: XCTestCase {
    func testHeaderIsSixteenLittleEndianBytes() {
        let h = StoreHeader(type: 2, requestID: 0x0403_0201, transactionID: 5, length: 0x1000)
        XCTAssertEqual(h.bytes, [2, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0x10, 0, 0])
        XCTAssertEqual(StoreHeader(ArraySlice(h.bytes)), h)
        XCTAssertNil(StoreHeader(ArraySlice(h.bytes.prefix(15))))
        XCTAssertEqual(StoreMessageType.resetWatches.rawValue, 21)
        XCTAssertEqual(StoreMessageType.watchEvent.rawValue, 15)
        XCTAssertEqual(StoreMessageType.isDomainIntroduced.rawValue, 17)
    }

    func testWriteCreatesParentsThenReadAndDirectory() {
        var s = XenStore()
        let r = s.write(0, "/a/b/c", "hello")
        XCTAssertTrue(r.isOK)
        XCTAssertEqual(r.requestID, 0)
        XCTAssertEqual(text(s.ask(0, .read, ["/a/b/c"]).payload), "hello")
        XCTAssertEqual(s.ask(0, .read, ["/a/b"]).payload, [])
        XCTAssertEqual(s.ask(0, .directory, ["/"]).strings, ["a"])
        XCTAssertTrue(s.write(0, "/a/x", "1").isOK)
        XCTAssertTrue(s.write(0, "/a-b", "2").isOK)
        XCTAssertEqual(s.ask(0, .directory, ["/a"]).strings, ["b", "x"])
        XCTAssertEqual(s.ask(0, .directory, ["/a/b/c"]).payload, [])
        // A value may hold NULs and is overwritten whole.
        XCTAssertTrue(s.call(from: 0, StoreMessage(.write, payload: storePayload(["/a/x"]) + [1, 0, 2])).isOK)
        XCTAssertEqual(s.ask(0, .read, ["/a/x"]).payload, [1, 0, 2])
        let reply = s.ask(0, .read, ["/a/x"], requestID: 99)
        XCTAssertEqual(reply.kind, .read)
        XCTAssertEqual(reply.requestID, 99)
    }

    func testMissingNodesAnswerENOENT() {
        var s = XenStore()
        XCTAssertEqual(s.ask(0, .read, ["/nope"]).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .directory, ["/nope"]).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .getPerms, ["/nope"]).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .setPerms, ["/nope", "n0"]).errorName, "ENOENT")
    }

    func testMkdirKeepsAnExistingValue() {
        var s = XenStore()
        XCTAssertTrue(s.ask(0, .mkdir, ["/d/e"]).isOK)
        XCTAssertEqual(s.ask(0, .directory, ["/d"]).strings, ["e"])
        XCTAssertTrue(s.write(0, "/d/e", "v").isOK)
        XCTAssertTrue(s.ask(0, .mkdir, ["/d/e"]).isOK)
        XCTAssertEqual(text(s.ask(0, .read, ["/d/e"]).payload), "v")
    }

    func testRmRemovesTheSubtreeOnly() {
        var s = XenStore()
        for p in ["/a/b/c", "/a/b/d", "/a-b", "/a/bb", "/ab"] { XCTAssertTrue(s.write(0, p, "x").isOK) }
        XCTAssertTrue(s.ask(0, .rm, ["/a/b"]).isOK)
        XCTAssertEqual(s.ask(0, .read, ["/a/b/c"]).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .read, ["/a/b"]).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .directory, ["/a"]).strings, ["bb"])
        XCTAssertEqual(s.ask(0, .directory, ["/"]).strings, ["a", "a-b", "ab"])
        // Removing what is gone succeeds while its parent exists, as xenstored does.
        XCTAssertTrue(s.ask(0, .rm, ["/a/b"]).isOK)
        XCTAssertEqual(s.ask(0, .rm, ["/q/r"]).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .rm, ["/"]).errorName, "EINVAL")
        XCTAssertEqual(s.tree.nodes.count, 5)
    }

    func testGetDomainPathAndIntroduction() {
        var s = XenStore()
        XCTAssertEqual(s.ask(0, .getDomainPath, ["7"]).strings, ["/local/domain/7"])
        XCTAssertEqual(s.ask(0, .isDomainIntroduced, ["7"]).strings, ["F"])
        XCTAssertNil(s.receive(from: 7, storePayload(["x"])))
        XCTAssertTrue(s.ask(0, .introduce, ["7", "4660", "3"]).isOK)
        XCTAssertEqual(s.ask(0, .isDomainIntroduced, ["7"]).strings, ["T"])
        XCTAssertEqual(s.ring(of: 7)?.frame, 4660)
        XCTAssertEqual(s.ring(of: 7)?.port, 3)
        XCTAssertTrue(s.ask(0, .introduce, ["7", "4660", "3"]).isOK)
        XCTAssertEqual(s.ask(0, .introduce, ["7", "4661", "3"]).errorName, "EEXIST")
        XCTAssertEqual(s.ask(7, .introduce, ["8", "1", "1"]).errorName, "EACCES")
        XCTAssertEqual(s.ask(7, .release, ["7"]).errorName, "EACCES")
        XCTAssertEqual(s.ask(0, .introduce, ["0", "1", "1"]).errorName, "EINVAL")
        XCTAssertEqual(s.ask(0, .introduce, ["x", "1", "1"]).errorName, "EINVAL")
        XCTAssertEqual(s.ask(7, .getDomainPath, ["7"]).strings, ["/local/domain/7"])
        XCTAssertTrue(s.ask(0, .resume, ["7"]).isOK)
        XCTAssertTrue(s.ask(0, .release, ["7"]).isOK)
        XCTAssertEqual(s.ask(0, .release, ["7"]).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .isDomainIntroduced, ["7"]).strings, ["F"])
        XCTAssertNil(s.state(of: 7))
        XCTAssertEqual(s.domains, [0])
    }

    func testRelativePathsLiveUnderTheDomainPath() {
        var s = storeWithGuests()
        XCTAssertTrue(s.write(1, "name", "guest").isOK)
        XCTAssertEqual(text(s.ask(0, .read, ["/local/domain/1/name"]).payload), "guest")
        XCTAssertEqual(text(s.ask(1, .read, ["name"]).payload), "guest")
        XCTAssertEqual(s.ask(2, .read, ["name"]).errorName, "ENOENT")
    }

    func testInvalidPathsAnswerEINVAL() {
        var s = XenStore()
        for p in ["//a", "/a/", "/a//b", "/a b", "", "/a\u{7f}", String(repeating: "x", count: 2049)] {
            XCTAssertEqual(s.write(0, p, "v").errorName, "EINVAL", p)
        }
        XCTAssertEqual(s.write(0, "/" + String(repeating: "y", count: 3072), "").errorName, "EINVAL")
        XCTAssertTrue(s.write(0, "/" + String(repeating: "y", count: 3071), "").isOK)
        XCTAssertTrue(s.write(0, "/_@-Az09", "").isOK)
    }

    func testGuestSeesOnlyWhatPermissionsAllow() {
        var s = storeWithGuests()
        XCTAssertTrue(s.write(0, "/secret", "k").isOK)
        let before = s.tree.nodes
        XCTAssertEqual(s.ask(1, .read, ["/secret"]).errorName, "EACCES")
        XCTAssertEqual(s.ask(1, .directory, ["/secret"]).errorName, "EACCES")
        XCTAssertEqual(s.ask(1, .getPerms, ["/secret"]).errorName, "EACCES")
        XCTAssertEqual(s.write(1, "/secret", "x").errorName, "EACCES")
        XCTAssertEqual(s.write(1, "/secret/child", "x").errorName, "EACCES")
        XCTAssertEqual(s.ask(1, .rm, ["/secret"]).errorName, "EACCES")
        XCTAssertEqual(s.ask(1, .setPerms, ["/secret", "b1"]).errorName, "EACCES")
        XCTAssertEqual(s.write(2, "/local/domain/1/x", "x").errorName, "EACCES")
        XCTAssertEqual(s.tree.nodes, before)

        XCTAssertTrue(s.ask(0, .setPerms, ["/secret", "n0", "r1"]).isOK)
        XCTAssertEqual(s.ask(0, .getPerms, ["/secret"]).strings, ["n0", "r1"])
        XCTAssertEqual(text(s.ask(1, .read, ["/secret"]).payload), "k")
        XCTAssertEqual(s.write(1, "/secret", "x").errorName, "EACCES")
        XCTAssertEqual(s.ask(2, .read, ["/secret"]).errorName, "EACCES")
        XCTAssertTrue(s.ask(0, .setPerms, ["/secret", "r0", "n2"]).isOK)
        XCTAssertEqual(text(s.ask(1, .read, ["/secret"]).payload), "k")
        XCTAssertEqual(s.ask(2, .read, ["/secret"]).errorName, "EACCES")
        XCTAssertTrue(s.ask(0, .setPerms, ["/secret", "w0", "b2"]).isOK)
        XCTAssertTrue(s.write(1, "/secret", "by1").isOK)
        XCTAssertEqual(s.ask(1, .read, ["/secret"]).errorName, "EACCES")
        XCTAssertEqual(text(s.ask(2, .read, ["/secret"]).payload), "by1")
    }

    func testGuestOwnsWhatItCreatesAndCannotGiveItAway() {
        var s = storeWithGuests()
        XCTAssertTrue(s.write(1, "data/x", "1").isOK)
        XCTAssertEqual(s.ask(1, .getPerms, ["data/x"]).strings, ["n1"])
        XCTAssertEqual(s.ask(2, .read, ["/local/domain/1/data/x"]).errorName, "EACCES")
        XCTAssertTrue(s.ask(1, .setPerms, ["data/x", "n1", "r2"]).isOK)
        XCTAssertEqual(text(s.ask(2, .read, ["/local/domain/1/data/x"]).payload), "1")
        XCTAssertEqual(s.ask(1, .setPerms, ["data/x", "n2"]).errorName, "EPERM")
        XCTAssertEqual(s.ask(1, .getPerms, ["data/x"]).strings, ["n1", "r2"])
        for bad in [["data/x"], ["data/x", "q1"], ["data/x", "n"], ["data/x", "r99999"], ["data/x", "b-1"]] {
            XCTAssertEqual(s.ask(1, .setPerms, bad).errorName, "EINVAL", "\(bad)")
        }
        // dom0 may hand a node to anyone; a guest writing into a node dom0 opened owns its children.
        XCTAssertTrue(s.write(0, "/shared", "").isOK)
        XCTAssertTrue(s.ask(0, .setPerms, ["/shared", "n0", "b2"]).isOK)
        XCTAssertTrue(s.write(2, "/shared/mine", "").isOK)
        XCTAssertEqual(s.ask(0, .getPerms, ["/shared/mine"]).strings, ["n2", "b2"])
        XCTAssertTrue(s.ask(0, .setPerms, ["/shared/mine", "n1"]).isOK)
        XCTAssertEqual(s.ask(2, .read, ["/shared/mine"]).errorName, "EACCES")
    }
}
