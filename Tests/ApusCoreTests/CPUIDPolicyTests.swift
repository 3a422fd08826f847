// CPUIDPolicyTests.swift: what a PV guest's cpuid answers: Xen's leaves, the leaf-1 features a
// ring-1 kernel must not see, leaves 5 and 6 zeroed, everything else the hardware's bit for bit.
// Native values come from a seeded generator, so a failure always reproduces.

import XCTest
@testable import ApusCore

private func randomRegisters(_ rng: inout SplitMix64) -> CPUIDRegisters {
    CPUIDRegisters(eax: .random(in: .min ... .max, using: &rng), ebx: .random(in: .min ... .max, using: &rng),
                   ecx: .random(in: .min ... .max, using: &rng), edx: .random(in: .min ... .max, using: &rng))
}

private let allOnes = CPUIDRegisters(eax: ~0, ebx: ~0, ecx: ~0, edx: ~0)
private let zero = CPUIDRegisters(eax: 0, ebx: 0, ecx: 0, edx: 0)

private func bytes(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

final class CPUIDPolicyTests: XCTestCase {
    // MARK: Xen's leaves

    func testSignatureLeafSaysXenVMMAndTheHighestXenLeaf() {
        let r = CPUIDPolicy.paravirtual(leaf: 0x4000_0000, subleaf: 0, native: allOnes)
        XCTAssertEqual(r.eax, 0x4000_0002)
        XCTAssertEqual(String(decoding: bytes(r.ebx) + bytes(r.ecx) + bytes(r.edx), as: UTF8.self), "XenVMMXenVMM")
    }

    func testVersionLeafSays4Point17() {
        let r = CPUIDPolicy.paravirtual(leaf: 0x4000_0001, subleaf: 0, native: allOnes)
        XCTAssertEqual(r.eax >> 16, 4)
        XCTAssertEqual(r.eax & 0xFFFF, 17)
        XCTAssertEqual(r, CPUIDRegisters(eax: 0x0004_0011, ebx: 0, ecx: 0, edx: 0))
    }

    func testHypercallPageLeafOffersOnePage() {
        let r = CPUIDPolicy.paravirtual(leaf: 0x4000_0002, subleaf: 0, native: allOnes)
        XCTAssertEqual(r, CPUIDRegisters(eax: 1, ebx: 0x4000_0000, ecx: 0, edx: 0))
    }

    func testTheRestOfXensRangeIsEmptyAndBeyondItPassesThrough() {
        var rng = SplitMix64(state: 0x4000)
        for leaf: UInt32 in [0x4000_0003, 0x4000_0004, 0x4000_0010, 0x4000_0080, 0x4000_00FF] {
            XCTAssertEqual(CPUIDPolicy.paravirtual(leaf: leaf, subleaf: 0, native: allOnes), zero, "leaf \(leaf)")
        }
        for leaf: UInt32 in [0x3FFF_FFFF, 0x4000_0100, 0x4000_0200] {
            let native = randomRegisters(&rng)
            XCTAssertEqual(CPUIDPolicy.paravirtual(leaf: leaf, subleaf: 0, native: native), native, "leaf \(leaf)")
        }
    }

    // MARK: leaf 1

    func testLeaf1HidesTheFeaturesARingOneKernelCannotUse() {
        let r = CPUIDPolicy.paravirtual(leaf: 1, subleaf: 0, native: allOnes)
        let ecxHidden: [(Int, String)] = [(3, "MONITOR"), (5, "VMX"), (6, "SMX"), (21, "X2APIC"), (26, "XSAVE"), (27, "OSXSAVE")]
        for (bit, name) in ecxHidden { XCTAssertEqual(r.ecx >> bit & 1, 0, "ECX.\(name)") }
        let edxHidden: [(Int, String)] = [(1, "VME"), (2, "DE"), (3, "PSE"), (9, "APIC"), (11, "SEP"), (12, "MTRR"),
                                          (13, "PGE"), (17, "PSE36"), (22, "ACPI")]
        for (bit, name) in edxHidden { XCTAssertEqual(r.edx >> bit & 1, 0, "EDX.\(name)") }
    }

    func testLeaf1SetsTheHypervisorBitEvenWhenTheHardwareDoesNot() {
        let r = CPUIDPolicy.paravirtual(leaf: 1, subleaf: 0, native: zero)
        XCTAssertEqual(r.ecx, 1 << 31)
        XCTAssertEqual(r.edx, 0)
        XCTAssertEqual(r.eax, 0)
    }

    func testLeaf1KeepsWhatAPVKernelNeeds() {
        let r = CPUIDPolicy.paravirtual(leaf: 1, subleaf: 0, native: allOnes)
        let edxKept: [(Int, String)] = [(0, "FPU"), (4, "TSC"), (5, "MSR"), (6, "PAE"), (8, "CX8"), (15, "CMOV"),
                                        (16, "PAT"), (23, "MMX"), (24, "FXSR"), (25, "SSE"), (26, "SSE2")]
        for (bit, name) in edxKept { XCTAssertEqual(r.edx >> bit & 1, 1, "EDX.\(name)") }
        let ecxKept: [(Int, String)] = [(0, "SSE3"), (9, "SSSE3"), (13, "CX16"), (19, "SSE4.1"), (20, "SSE4.2"), (23, "POPCNT")]
        for (bit, name) in ecxKept { XCTAssertEqual(r.ecx >> bit & 1, 1, "ECX.\(name)") }
    }

    func testTheHiddenMasksAreExactlyTheDocumentedBits() {
        // EDX: VME DE PSE MCE APIC SEP MTRR PGE MCA PSE36 ACPI TM PBE.
        XCTAssertEqual(CPUIDPolicy.hiddenLeaf1EDX, 0xA042_7A8E)
        // ECX: MONITOR DS-CPL VMX SMX EST TM2 PCID X2APIC TSC-deadline XSAVE OSXSAVE.
        XCTAssertEqual(CPUIDPolicy.hiddenLeaf1ECX, 0x0D22_01F8)
        XCTAssertEqual(CPUIDPolicy.hiddenLeaf1ECX & (1 << 31), 0, "the hypervisor bit is set, never hidden")
    }

    /// Property: over random native values, leaf 1 changes only the hidden bits, the
    /// hypervisor bit and EBX's logical-CPU and APIC-id bytes; the rest is kept bit for bit.
    func testLeaf1KeepsEveryOtherBitForRandomNativeValues() {
        var rng = SplitMix64(state: 0xC0FF_EE01)
        for _ in 0..<2000 {
            let native = randomRegisters(&rng)
            let subleaf = UInt32.random(in: .min ... .max, using: &rng)
            let r = CPUIDPolicy.paravirtual(leaf: 1, subleaf: subleaf, native: native)
            XCTAssertEqual(r.eax, native.eax)
            XCTAssertEqual(r.ebx, native.ebx & 0xFFFF, "one logical CPU, APIC id 0; brand and CLFLUSH size kept")
            XCTAssertEqual(r.ecx & ~CPUIDPolicy.hiddenLeaf1ECX & ~(1 << 31), native.ecx & ~CPUIDPolicy.hiddenLeaf1ECX & ~(1 << 31))
            XCTAssertEqual(r.ecx & CPUIDPolicy.hiddenLeaf1ECX, 0)
            XCTAssertEqual(r.ecx >> 31, 1)
            XCTAssertEqual(r.edx, native.edx & ~CPUIDPolicy.hiddenLeaf1EDX)
        }
    }

    // MARK: leaves 5 and 6, and everything else

    func testMonitorAndPowerLeavesAreZeroed() {
        var rng = SplitMix64(state: 56)
        for leaf: UInt32 in [5, 6] {
            XCTAssertEqual(CPUIDPolicy.paravirtual(leaf: leaf, subleaf: 0, native: allOnes), zero)
            for _ in 0..<100 {
                XCTAssertEqual(CPUIDPolicy.paravirtual(leaf: leaf, subleaf: 0, native: randomRegisters(&rng)), zero)
            }
        }
    }

    /// Linux's /proc/cpuinfo showed `svm`, `syscall` and `lm` to a 32-bit PV guest; Xen hides them.
    func testExtendedLeafHidesSVMSyscallAndLongMode() {
        let r = CPUIDPolicy.paravirtual(leaf: 0x8000_0001, subleaf: 0, native: allOnes)
        XCTAssertEqual(r.ecx, ~UInt32(1 << 2))
        XCTAssertEqual(r.edx, ~(UInt32(1 << 11) | (1 << 29)))
        XCTAssertEqual(r.eax, ~0)
        XCTAssertEqual(r.ebx, ~0)
        var rng = SplitMix64(state: 0x8000_0001)
        for _ in 0..<200 {
            let native = randomRegisters(&rng)
            let answer = CPUIDPolicy.paravirtual(leaf: 0x8000_0001, subleaf: 0, native: native)
            XCTAssertEqual(answer.ecx, native.ecx & ~CPUIDPolicy.hiddenExtendedECX)
            XCTAssertEqual(answer.edx, native.edx & ~CPUIDPolicy.hiddenExtendedEDX)
        }
    }

    func testOtherLeavesPassThroughBitForBit() {
        var rng = SplitMix64(state: 0x8000_0001)
        let leaves: [UInt32] = [0, 2, 3, 4, 7, 0xB, 0xD, 0x14, 0x8000_0000, 0x8000_0002,
                                0x8000_0004, 0x8000_0007, 0x8000_0008, 0xFFFF_FFFF]
        for leaf in leaves {
            for _ in 0..<50 {
                let native = randomRegisters(&rng)
                let subleaf = UInt32.random(in: 0...16, using: &rng)
                XCTAssertEqual(CPUIDPolicy.paravirtual(leaf: leaf, subleaf: subleaf, native: native), native, "leaf \(leaf)")
            }
        }
    }
}
