// KernelStoreTests.swift: the rules for kernels uploaded over dom0's HTTP API: Xen's Mini-OS is kept
// with what its Xen notes say; a text file, a truncated or a 64-bit ELF is refused with the builder's
// reason (422); names are unique across uploads and the initrd (409), generated when not given, checked
// (400); at most 4 kernels and 2 MiB are kept (507); delete frees an upload and refuses an initrd file;
// and a property test against a reference model over random sequences of uploads and deletes.

import Foundation
import XCTest
import ApusCore
@testable import GuestKit

final class KernelStoreTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    let initrd: Set<[UInt8]> = [Array("mini-os.elf".utf8), Array("spinner.elf".utf8), Array("kernel-1".utf8)]
    func inInitrd(_ n: [UInt8]) -> Bool { initrd.contains(n) }

    /// ../shared/guests/mini-os/mini-os.elf beside the repository (a missing file fails, never skips).
    func miniOS(file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/guests/mini-os/mini-os.elf")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("\(url.path) is missing: it holds Xen's Mini-OS, the kernel these tests upload", file: file, line: line)
            return []
        }
        return [UInt8](data)
    }

    func testMiniOSIsKeptWithItsNotes() {
        let image = miniOS()
        var s = KernelStore()
        guard case .success(let k) = s.add(image, name: b("up-1"), inInitrd: inInitrd) else { return XCTFail() }
        XCTAssertEqual(k.name, b("up-1"))
        XCTAssertEqual(k.info.size, image.count)
        XCTAssertEqual(k.info.notes.guestOS, b("Mini-OS"))
        XCTAssertEqual(k.info.notes.source, .sections)
        XCTAssertEqual(k.info.notes.paeMode, b("yes"))
        XCTAssertTrue(k.info.entry >= k.info.imageStart && k.info.entry < k.info.imageEnd)
        XCTAssertEqual(s.kernel(named: b("up-1"))?.bytes, image)
        XCTAssertEqual(s.totalBytes, image.count)
        var w = JsonWriter()
        KernelJson.write(name: k.name, source: .upload, info: k.info, into: &w)
        let json = String(decoding: w.bytes, as: UTF8.self)
        XCTAssertTrue(json.hasPrefix("{\"name\":\"up-1\",\"size\":\(image.count),\"source\":\"upload\",\"entry\":\(k.info.entry),"), json)
        XCTAssertTrue(json.contains("\"guest_os\":\"Mini-OS\""), json)
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(w.bytes)), json)
    }

    func testNotKernelsAreRefusedWithTheBuildersReason() {
        let image = miniOS()
        guard image.count > 4096 else { return }
        var elf64 = image
        elf64[4] = 2
        var notExec = image
        notExec[16] = 3
        let cases: [([UInt8], BuildError)] = [
            (b("#!/bin/sh\necho this is not a kernel\n"), .notElf),
            ([], .notElf),
            (Array(image.prefix(40)), .notElf),
            (elf64, .notElf32),
            (notExec, .notExecutable),
        ]
        for (bytes, reason) in cases {
            var s = KernelStore()
            XCTAssertEqual(s.add(bytes, name: b("bad"), inInitrd: inInitrd).failure, .notKernel(reason))
            XCTAssertTrue(s.kernels.isEmpty)
        }
        // Truncated: some segment or the section table now lies past the end.
        var s = KernelStore()
        guard case .failure(.notKernel) = s.add(Array(image.prefix(image.count / 2)), name: b("half"), inInitrd: inInitrd) else {
            return XCTFail("a truncated Mini-OS was kept")
        }
        XCTAssertEqual(KernelRefusal.notKernel(.notElf).status, 422)
        XCTAssertTrue(String(decoding: KernelRefusal.notKernel(.notElf).message, as: UTF8.self).hasPrefix("the body is not a loadable 32-bit PAE PV kernel: the kernel image is not an ELF file"))
    }

    func testNames() {
        let image = miniOS()
        var s = KernelStore()
        XCTAssertEqual(s.add(image, name: b("a/b"), inInitrd: inInitrd).failure, .badName)
        XCTAssertEqual(s.add(image, name: b(""), inInitrd: inInitrd).failure, .badName)
        XCTAssertEqual(s.add(image, name: b("mini-os.elf"), inInitrd: inInitrd).failure, .nameTaken)
        XCTAssertEqual(s.add(image, name: b("up"), inInitrd: inInitrd).success?.name, b("up"))
        XCTAssertEqual(s.add(image, name: b("up"), inInitrd: inInitrd).failure, .nameTaken)
        // Generated: kernel-1 is an initrd file, so kernel-2, then kernel-3.
        XCTAssertEqual(s.add(image, name: nil, inInitrd: inInitrd).success?.name, b("kernel-2"))
        XCTAssertEqual(s.add(image, name: nil, inInitrd: inInitrd).success?.name, b("kernel-3"))
        // A bad name is refused before the body is looked at; a free name with a bad body gets 422.
        XCTAssertEqual(s.add(b("text"), name: b("up"), inInitrd: inInitrd).failure, .nameTaken)
        XCTAssertEqual(s.add(b("text"), name: b("free"), inInitrd: inInitrd).failure, .notKernel(.notElf))
        XCTAssertEqual([KernelRefusal.badName, .nameTaken, .inInitrd, .noSuchKernel, .tooMany, .tooLarge].map(\.status), [400, 409, 409, 404, 507, 507])
    }

    func testLimitsAndDelete() {
        let image = miniOS()
        var s = KernelStore()
        for i in 0..<KernelStore.maxKernels { XCTAssertNotNil(s.add(image, name: b("k\(i)"), inInitrd: inInitrd).success) }
        XCTAssertEqual(s.add(image, name: b("k9"), inInitrd: inInitrd).failure, .tooMany)
        XCTAssertEqual(s.remove(named: b("mini-os.elf"), inInitrd: inInitrd).failure, .inInitrd)
        XCTAssertEqual(s.remove(named: b("nope"), inInitrd: inInitrd).failure, .noSuchKernel)
        XCTAssertEqual(s.remove(named: b("k1"), inInitrd: inInitrd).success?.name, b("k1"))
        XCTAssertNil(s.kernel(named: b("k1")))
        XCTAssertEqual(s.remove(named: b("k1"), inInitrd: inInitrd).failure, .noSuchKernel)
        XCTAssertEqual(s.kernels.map(\.name), [b("k0"), b("k2"), b("k3")])
        XCTAssertNotNil(s.add(image, name: b("k1"), inInitrd: inInitrd).success, "room again after a delete")
        // Bytes: a store near its 2 MiB refuses what would pass it.
        var big = KernelStore()
        let padded = image + [UInt8](repeating: 0, count: 1024 * 1024 - image.count)
        XCTAssertNotNil(big.add(padded, name: b("p1"), inInitrd: inInitrd).success)
        XCTAssertNotNil(big.add(padded, name: b("p2"), inInitrd: inInitrd).success)
        XCTAssertEqual(big.totalBytes, KernelStore.maxTotalBytes)
        XCTAssertEqual(big.add(image, name: b("p3"), inInitrd: inInitrd).failure, .tooLarge)
    }

    /// Random uploads (good or bad images, given or generated names, some taken) and deletes, checked
    /// after each step against a plain model: names unique and never an initrd file, at most 4 kernels
    /// and 2 MiB, every kept image one that was accepted, and each answer the model's.
    func testPropertyAgainstModel() {
        let image = miniOS()
        guard !image.isEmpty else { return }
        let padded = image + [UInt8](repeating: 0, count: 700 * 1024 - image.count)
        let images: [[UInt8]] = [image, padded, b("not an elf"), Array(image.prefix(1000))]
        var rng = SplitMix64(seed: 15)
        var s = KernelStore()
        var model: [(name: [UInt8], size: Int)] = []
        var generated = 0
        let pool = ["a", "b", "c", "d", "e", "kernel-2", "kernel-3", "mini-os.elf", "bad/name"].map(b)
        for _ in 0..<3000 {
            let roll = rng.next() % 10
            if roll < 6 {
                let img = images[Int(rng.next() % UInt64(images.count))]
                let name: [UInt8]? = rng.next() % 3 == 0 ? nil : pool[Int(rng.next() % UInt64(pool.count))]
                let got = s.add(img, name: name, inInitrd: inInitrd)
                // The model's answer.
                var expected: KernelRefusal? = nil
                var chosen = name ?? []
                if let name {
                    if !KernelName.isValid(name) { expected = .badName }
                    else if model.contains(where: { $0.name == name }) || initrd.contains(name) { expected = .nameTaken }
                } else {
                    var n = generated
                    repeat { n += 1; chosen = b("kernel-\(n)") } while model.contains(where: { $0.name == chosen }) || initrd.contains(chosen)
                    generated = n
                }
                if expected == nil {
                    if img.count < 4096 { expected = .notKernel(img.count == 1000 ? .badProgramHeaders : .notElf) }
                    else if model.count >= KernelStore.maxKernels { expected = .tooMany }
                    else if model.reduce(0, { $0 + $1.size }) + img.count > KernelStore.maxTotalBytes { expected = .tooLarge }
                }
                switch (got, expected) {
                case (.success(let k), nil):
                    XCTAssertEqual(k.name, chosen)
                    model.append((chosen, img.count))
                case (.failure(let r), let e?):
                    if case .notKernel = e, case .notKernel = r {} else { XCTAssertEqual(r, e) }
                default:
                    XCTFail("store \(got), model \(String(describing: expected))")
                }
            } else {
                let name = pool[Int(rng.next() % UInt64(pool.count))]
                let got = s.remove(named: name, inInitrd: inInitrd)
                if let i = model.firstIndex(where: { $0.name == name }) {
                    XCTAssertEqual(got.success?.name, name)
                    model.remove(at: i)
                } else {
                    XCTAssertEqual(got.failure, initrd.contains(name) ? .inInitrd : .noSuchKernel)
                }
            }
            XCTAssertEqual(s.kernels.map(\.name), model.map(\.name))
            XCTAssertEqual(s.kernels.map(\.bytes.count), model.map(\.size))
            XCTAssertLessThanOrEqual(s.kernels.count, KernelStore.maxKernels)
            XCTAssertLessThanOrEqual(s.totalBytes, KernelStore.maxTotalBytes)
            XCTAssertFalse(s.kernels.contains { initrd.contains($0.name) })
            XCTAssertEqual(Set(s.kernels.map(\.name)).count, s.kernels.count)
        }
    }
}

extension Result {
    var success: Success? { if case .success(let s) = self { return s } else { return nil } }
    var failure: Failure? { if case .failure(let f) = self { return f } else { return nil } }
}
