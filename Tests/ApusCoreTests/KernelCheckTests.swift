// KernelCheckTests.swift: DomainBuilder.checkKernel, the builder's image checks that need no domain
// (dom0 runs them on a kernel uploaded over its HTTP API): what it finds in a good image, and that each
// image refusal is the one the whole build gives for the same image.

import XCTest
import PVABI
@testable import ApusCore

extension DomainBuilderTests {
    func check(_ image: [UInt8]) -> Result<KernelCheck, BuildError> {
        image.withUnsafeBytes { bytes in
            do throws(BuildError) { return .success(try DomainBuilder.checkKernel(bytes)) } catch { return .failure(error) }
        }
    }

    func testCheckKernelFindsWhatTheBuilderUses() throws {
        guard case .success(let k) = check(ElfTestImage.standard().bytes()) else { return XCTFail("the standard image refused") }
        XCTAssertEqual(k.entry, ElfTestImage.entryPoint)
        XCTAssertEqual(k.imageStart, ElfTestImage.textStart)
        XCTAssertEqual(k.imageEnd, ElfTestImage.dataStart + ElfTestImage.dataMemSize)
        XCTAssertEqual(k.notes.hypercallPage, ElfTestImage.hypercallPage)
        XCTAssertEqual(k.loads.map(\.start), [ElfTestImage.textStart, ElfTestImage.dataStart])
    }

    func testCheckKernelRefusesAsTheBuildDoes() {
        var outside = ElfTestImage.standard(replacing: .hypercallPage, with: ElfTestImage.numeric(.hypercallPage, 0x10_5000))
        outside.entry = ElfTestImage.entryPoint
        let images: [([UInt8], BuildError)] = [
            (Array("#!/bin/sh\necho hello\n".utf8) + [UInt8](repeating: 0, count: 64), .notElf),
            (ElfTestImage.standard(replacing: .paeMode, with: nil).bytes(), .paeModeMissing),
            (ElfTestImage.standard(replacing: .entry, with: ElfTestImage.numeric(.entry, 0x20_0000)).bytes(), .entryOutsideImage(0x20_0000)),
            (outside.bytes(), .hypercallPageOutsideImage(0x10_5000)),
            (Array(ElfTestImage.standard().bytes().prefix(200)), .segmentOutsideFile(index: 0)),
        ]
        for (image, expected) in images {
            XCTAssertEqual(check(image).failureValue, expected)
            assertRefused(image, expected)
        }
    }
}

private extension Result {
    var failureValue: Failure? { if case .failure(let f) = self { return f } else { return nil } }
}
