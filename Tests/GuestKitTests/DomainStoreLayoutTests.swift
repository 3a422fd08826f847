// DomainStoreLayoutTests.swift: the tree a toolstack writes for a domain, applied to a real xenstored
// core: libxl's paths and values, and what the guest itself may then read and write (control/shutdown
// read-write, its own name read-only, device readable, backends readable but not writable, another
// domain's tree invisible), device nodes from vif and disk, and removal on release.

import XCTest
@testable import GuestKit

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

final class DomainStoreLayoutTests: XCTestCase {
    private func facts(_ id: UInt16, vifs: [VifSpec] = [], disks: [DiskSpec] = []) -> DomainStoreFacts {
        DomainStoreFacts(id: id, name: b("mini"), memoryKiB: 16384, storePort: 1, storeMFN: 4660,
                         consolePort: 2, consoleMFN: 4661, vifs: vifs, disks: disks)
    }

    private func store(with ids: [UInt16], vifs: [VifSpec] = [], disks: [DiskSpec] = []) -> XenStore {
        var s = XenStore()
        for id in ids {
            XCTAssertNoThrow(try s.introduceDomain(id, frame: 4660, port: 1).get())
            XCTAssertNoThrow(try s.apply(DomainStoreLayout.settings(facts(id, vifs: vifs, disks: disks))).get())
        }
        return s
    }

    func testTheStandardNodesHaveLibxlValues() {
        var s = store(with: [3])
        XCTAssertEqual(try s.localRead(b("/local/domain/3/name")).get(), b("mini"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/domid")).get(), b("3"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/memory/target")).get(), b("16384"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/store/port")).get(), b("1"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/store/ring-ref")).get(), b("4660"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/console/ring-ref")).get(), b("4661"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/console/port")).get(), b("2"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/console/type")).get(), b("xenconsoled"))
        XCTAssertEqual(try s.localRead(b("/local/domain/3/control/shutdown")).get(), [])
        XCTAssertEqual(try s.localRead(b("/local/domain/0/backend/console/3/0/frontend")).get(), b("/local/domain/3/console"))
    }

    func testTheGuestMayWriteControlShutdownButNotItsName() {
        var s = store(with: [3])
        XCTAssertTrue(s.ask(3, .read, ["control/shutdown"]).errorName == nil)
        XCTAssertTrue(s.write(3, "control/shutdown", "").isOK)
        XCTAssertTrue(s.write(3, "data/x", "1").isOK)
        XCTAssertEqual(String(decoding: s.ask(3, .read, ["name"]).payload, as: UTF8.self), "mini")
        XCTAssertEqual(s.write(3, "name", "evil").errorName, "EACCES")
        XCTAssertEqual(s.write(3, "console/ring-ref", "1").errorName, "EACCES")
        XCTAssertEqual(s.write(3, "device/vif/9/mac", "x").errorName, "EACCES")
        XCTAssertEqual(s.ask(3, .directory, ["device"]).errorName, nil)
        // dom0's write to control/shutdown fires the guest's watch.
        XCTAssertTrue(s.ask(3, .watch, ["control/shutdown", "tok"]).isOK)
        XCTAssertEqual(s.events(3), ["control/shutdown tok"])
        XCTAssertNoThrow(try s.localWrite(b("/local/domain/3/control/shutdown"), b("poweroff")).get())
        XCTAssertEqual(s.events(3), ["control/shutdown tok"])
        XCTAssertEqual(String(decoding: s.ask(3, .read, ["control/shutdown"]).payload, as: UTF8.self), "poweroff")
    }

    func testAnotherDomainSeesNothing() {
        var s = store(with: [3, 4])
        XCTAssertEqual(s.ask(4, .read, ["/local/domain/3/name"]).errorName, "EACCES")
        XCTAssertEqual(s.write(4, "/local/domain/3/control/shutdown", "poweroff").errorName, "EACCES")
        XCTAssertEqual(s.ask(4, .read, ["/local/domain/0/backend/console/3/0/frontend-id"]).errorName, "EACCES")
    }

    func testVifAndDiskGetFrontendAndBackendNodes() {
        let vif = VifSpec(mac: [0, 0x16, 0x3E, 1, 2, 3])
        let disk = DiskSpec(b("disk.img,raw,hda,w"))!
        var s = store(with: [5], vifs: [vif, VifSpec()], disks: [disk])
        XCTAssertEqual(s.ask(5, .directory, ["device"]).strings, ["vbd", "vif"])
        XCTAssertEqual(s.ask(5, .directory, ["device/vif"]).strings, ["0", "1"])
        XCTAssertEqual(s.ask(5, .directory, ["device/vif/0"]).strings, ["backend", "backend-id", "handle", "mac", "state"])
        XCTAssertEqual(String(decoding: s.ask(5, .read, ["device/vif/0/mac"]).payload, as: UTF8.self), "00:16:3e:01:02:03")
        XCTAssertEqual(String(decoding: s.ask(5, .read, ["device/vif/1/mac"]).payload, as: UTF8.self), "00:16:3e:00:05:01")
        XCTAssertEqual(String(decoding: s.ask(5, .read, ["device/vif/0/backend"]).payload, as: UTF8.self), "/local/domain/0/backend/vif/5/0")
        XCTAssertEqual(String(decoding: s.ask(5, .read, ["device/vif/0/state"]).payload, as: UTF8.self), "1")
        // The frontend is the guest's: it may write its state and add nodes, as a frontend does.
        XCTAssertTrue(s.write(5, "device/vif/0/state", "3").isOK)
        XCTAssertTrue(s.write(5, "device/vif/0/flibble", "flobble").isOK)
        XCTAssertTrue(s.ask(5, .rm, ["device/vif/0/flibble"]).isOK)
        XCTAssertEqual(s.ask(5, .read, ["device/vif/0/flibble"]).errorName, "ENOENT")
        // The backend is readable by the guest, writable only by dom0.
        XCTAssertEqual(String(decoding: s.ask(5, .read, ["/local/domain/0/backend/vif/5/0/frontend-id"]).payload, as: UTF8.self), "5")
        XCTAssertEqual(s.write(5, "/local/domain/0/backend/vif/5/0/state", "4").errorName, "EACCES")
        XCTAssertEqual(String(decoding: s.ask(5, .read, ["device/vbd/768/virtual-device"]).payload, as: UTF8.self), "768")
        XCTAssertEqual(try s.localRead(b("/local/domain/0/backend/vbd/5/768/params")).get(), b("disk.img"))
        XCTAssertEqual(try s.localRead(b("/local/domain/0/backend/vbd/5/768/mode")).get(), b("w"))
    }

    func testReleaseRemovesEverythingAndFiresTheWatch() {
        var s = store(with: [6], vifs: [VifSpec()], disks: [DiskSpec(b("d,raw,xvda,r"))!])
        XCTAssertNoThrow(try s.localWrite(b("/local/domain/0/keep"), b("1")).get())
        let before = s.tree.bytes
        XCTAssertGreaterThan(before, 0)
        XCTAssertNoThrow(try s.releaseDomain(6).get())
        XCTAssertEqual(s.localRead(b("/local/domain/6/name")), .failure(.ENOENT))
        XCTAssertEqual(s.localDirectory(b("/local/domain/0/backend/vif")).map { $0.count }, .success(0))
        XCTAssertEqual(s.localDirectory(b("/local/domain/0/backend/vbd")).map { $0.count }, .success(0))
        XCTAssertEqual(try s.localRead(b("/local/domain/0/keep")).get(), b("1"))
        XCTAssertNil(s.state(of: 6))
    }
}
