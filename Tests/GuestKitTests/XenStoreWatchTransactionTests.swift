// XenStoreWatchTransactionTests.swift: watches (the event at once, then on changes at or below,
// relative forms, permissions, special paths, reset) and transactions (isolation, commit, abort,
// EAGAIN on conflicts, none on unrelated changes).

import XCTest
@testable import GuestKit

final class XenStoreWatchTests: XCTestCase {
    func testWatchFiresAtOnceThenOnChangesBelowIt() {
        var s = XenStore()
        XCTAssertTrue(s.ask(0, .watch, ["/a", "tok"]).isOK)
        XCTAssertEqual(s.events(0), ["/a tok"])
        s.write(0, "/a/b", "1")
        XCTAssertEqual(s.events(0), ["/a tok", "/a/b tok"])
        s.write(0, "/ab", "1")
        s.write(0, "/a-b", "1")
        XCTAssertEqual(s.events(0), [])
        s.ask(0, .setPerms, ["/a/b", "r0"])
        XCTAssertEqual(s.events(0), ["/a/b tok"])
        s.ask(0, .rm, ["/a"])
        XCTAssertEqual(s.events(0), ["/a tok"])
        XCTAssertEqual(s.ask(0, .watch, ["/a", "tok"]).errorName, "EEXIST")
        XCTAssertTrue(s.ask(0, .watch, ["/a", "other"]).isOK)
        XCTAssertTrue(s.ask(0, .unwatch, ["/a", "tok"]).isOK)
        XCTAssertEqual(s.ask(0, .unwatch, ["/a", "tok"]).errorName, "ENOENT")
        _ = s.events(0)
        s.write(0, "/a", "1")
        XCTAssertEqual(s.events(0), ["/a other"])
    }

    func testReplyComesBeforeTheEventsItCaused() {
        var s = storeWithGuests()
        let req = StoreMessage(.watch, requestID: 5, payload: storePayload(["data", "t"]))
        XCTAssertEqual(s.receive(from: 1, req.encoded), .open)
        let out = s.drain(1)
        XCTAssertEqual(out.map { $0.kind }, [.watch, .watchEvent])
        XCTAssertEqual(out[0].requestID, 5)
        XCTAssertEqual(out[1].strings, ["data", "t"])
    }

    func testRemovingAnAncestorFiresWatchesBelowIt() {
        var s = XenStore()
        s.write(0, "/a/b/c", "1")
        s.ask(0, .watch, ["/a/b/c", "deep"])
        s.ask(0, .watch, ["/z", "far"])
        _ = s.events(0)
        s.ask(0, .rm, ["/a"])
        XCTAssertEqual(s.events(0), ["/a/b/c deep"])
    }

    func testRelativeWatchesReportRelativePathsAndGuestsHearOnlyReadableNodes() {
        var s = storeWithGuests()
        XCTAssertTrue(s.ask(1, .watch, ["data", "d"]).isOK)
        XCTAssertTrue(s.ask(1, .watch, ["/", "all"]).isOK)
        XCTAssertEqual(s.events(1), ["data d", "/ all"])
        s.write(1, "data/x", "1")
        XCTAssertEqual(s.events(1), ["data d", "/local/domain/1/data all", "data/x d", "/local/domain/1/data/x all"])
        // dom0's private node and domain 2's nodes stay silent for domain 1.
        s.write(0, "/secret", "k")
        s.write(2, "mine", "v")
        XCTAssertEqual(s.events(1), [])
        s.ask(0, .setPerms, ["/secret", "n0", "r1"])
        XCTAssertEqual(s.events(1), ["/secret all"])
        // dom0 hears everything.
        s.ask(0, .watch, ["/local", "l"])
        _ = s.events(0)
        s.write(2, "mine", "w")
        XCTAssertEqual(s.events(0), ["/local/domain/2/mine l"])
    }

    func testSpecialWatchesFireOnIntroduceAndRelease() {
        var s = XenStore()
        s.ask(0, .watch, ["@introduceDomain", "i"])
        s.ask(0, .watch, ["@releaseDomain", "r"])
        XCTAssertEqual(s.events(0), ["@introduceDomain i", "@releaseDomain r"])
        s.ask(0, .introduce, ["3", "1", "1"])
        XCTAssertEqual(s.events(0), ["@introduceDomain i"])
        s.ask(0, .release, ["3"])
        XCTAssertEqual(s.events(0), ["@releaseDomain r"])
        XCTAssertEqual(s.ask(0, .watch, ["@other", "x"]).errorName, "EINVAL")
    }

    func testResetWatchesDropsWatchesAndTransactions() {
        var s = storeWithGuests()
        s.ask(1, .watch, ["data", "d"])
        let tx = UInt32(s.ask(1, .transactionStart, [""]).strings[0])!
        XCTAssertEqual(s.watchCount(of: 1), 1)
        XCTAssertTrue(s.ask(1, .resetWatches, []).isOK)
        XCTAssertEqual(s.watchCount(of: 1), 0)
        _ = s.events(1)
        s.write(1, "data/y", "1")
        XCTAssertEqual(s.events(1), [])
        XCTAssertEqual(s.ask(1, .read, ["data/y"], tx: tx).errorName, "ENOENT")
    }
}

final class XenStoreTransactionTests: XCTestCase {
    func start(_ s: inout XenStore, _ d: UInt16) -> UInt32 {
        let r = s.ask(d, .transactionStart, [""])
        XCTAssertEqual(r.kind, .transactionStart)
        return UInt32(r.strings.first ?? "") ?? 0
    }

    func testChangesAreInvisibleUntilCommitThenFireWatches() {
        var s = XenStore()
        s.ask(0, .watch, ["/t", "w"])
        _ = s.events(0)
        let tx = start(&s, 0)
        XCTAssertNotEqual(tx, 0)
        XCTAssertTrue(s.write(0, "/t/a", "1", tx: tx).isOK)
        XCTAssertTrue(s.ask(0, .mkdir, ["/t/b"], tx: tx).isOK)
        XCTAssertEqual(text(s.ask(0, .read, ["/t/a"], tx: tx).payload), "1")
        XCTAssertEqual(s.ask(0, .directory, ["/t"], tx: tx).strings, ["a", "b"])
        XCTAssertEqual(s.ask(0, .read, ["/t/a"]).errorName, "ENOENT")
        XCTAssertEqual(s.events(0), [])
        let end = s.ask(0, .transactionEnd, ["T"], tx: tx)
        XCTAssertTrue(end.isOK)
        XCTAssertEqual(end.transactionID, tx)
        XCTAssertEqual(text(s.ask(0, .read, ["/t/a"]).payload), "1")
        XCTAssertEqual(s.ask(0, .directory, ["/t"]).strings, ["a", "b"])
        XCTAssertEqual(s.events(0), ["/t w", "/t/a w", "/t/b w"])
        XCTAssertEqual(s.ask(0, .transactionEnd, ["T"], tx: tx).errorName, "ENOENT")
    }

    func testAbortDiscardsAndUnknownIDsAnswerENOENT() {
        var s = XenStore()
        let tx = start(&s, 0)
        s.write(0, "/x", "1", tx: tx)
        XCTAssertTrue(s.ask(0, .transactionEnd, ["F"], tx: tx).isOK)
        XCTAssertEqual(s.ask(0, .read, ["/x"]).errorName, "ENOENT")
        XCTAssertEqual(s.write(0, "/x", "1", tx: 4242).errorName, "ENOENT")
        XCTAssertEqual(s.ask(0, .transactionEnd, ["X"], tx: tx).errorName, "EINVAL")
    }

    func testConflictingChangeAnswersEAGAINAndAppliesNothing() {
        var s = XenStore()
        s.write(0, "/a", "0")
        let tx = start(&s, 0)
        XCTAssertEqual(text(s.ask(0, .read, ["/a"], tx: tx).payload), "0")
        s.write(0, "/b", "tx", tx: tx)
        s.write(0, "/a", "outside")
        XCTAssertEqual(s.ask(0, .transactionEnd, ["T"], tx: tx).errorName, "EAGAIN")
        XCTAssertEqual(s.ask(0, .read, ["/b"]).errorName, "ENOENT")
        XCTAssertEqual(text(s.ask(0, .read, ["/a"]).payload), "outside")
    }

    func testTwoTransactionsWritingOneNodeTheSecondRetries() {
        var s = storeWithGuests()
        let t1 = start(&s, 1), t2 = start(&s, 2)
        XCTAssertNotEqual(t1, 0)
        XCTAssertTrue(s.ask(0, .setPerms, ["/local/domain/1", "n1", "b2"]).isOK)
        // setPerms above touched /local/domain/1: t1 started earlier and reads it, so t1 must retry.
        s.write(1, "/local/domain/1/k", "one", tx: t1)
        s.write(2, "/local/domain/1/k", "two", tx: t2)
        XCTAssertEqual(s.ask(1, .transactionEnd, ["T"], tx: t1).errorName, "EAGAIN")
        let t3 = start(&s, 1), t4 = start(&s, 2)
        s.write(1, "/local/domain/1/k", "one", tx: t3)
        s.write(2, "/local/domain/1/k", "two", tx: t4)
        XCTAssertTrue(s.ask(1, .transactionEnd, ["T"], tx: t3).isOK)
        XCTAssertEqual(s.ask(2, .transactionEnd, ["T"], tx: t4).errorName, "EAGAIN")
        XCTAssertEqual(text(s.ask(0, .read, ["/local/domain/1/k"]).payload), "one")
    }

    func testUnrelatedChangesDoNotConflict() {
        var s = XenStore()
        s.write(0, "/x/y", "0")
        s.write(0, "/z", "0")
        let tx = start(&s, 0)
        s.write(0, "/x/y", "1", tx: tx)
        s.write(0, "/z", "outside")
        s.write(0, "/q/r", "outside")
        XCTAssertTrue(s.ask(0, .transactionEnd, ["T"], tx: tx).isOK)
        XCTAssertEqual(text(s.ask(0, .read, ["/x/y"]).payload), "1")
        XCTAssertEqual(text(s.ask(0, .read, ["/z"]).payload), "outside")
    }

    func testRemovalInsideATransactionCommits() {
        var s = XenStore()
        for p in ["/d/a/1", "/d/a/2", "/d/b"] { s.write(0, p, "v") }
        let tx = start(&s, 0)
        XCTAssertTrue(s.ask(0, .rm, ["/d/a"], tx: tx).isOK)
        XCTAssertTrue(s.write(0, "/d/a/3", "new", tx: tx).isOK)
        XCTAssertEqual(s.ask(0, .directory, ["/d/a"]).strings, ["1", "2"])
        XCTAssertTrue(s.ask(0, .transactionEnd, ["T"], tx: tx).isOK)
        XCTAssertEqual(s.ask(0, .directory, ["/d/a"]).strings, ["3"])
        XCTAssertEqual(s.ask(0, .directory, ["/d"]).strings, ["a", "b"])
        XCTAssertTrue(treeIsWellFormed(s.tree))
    }
}

/// The store core's own invariant check, as the tests use it.
func treeIsWellFormed(_ tree: StoreTree) -> Bool { tree.isWellFormed }
