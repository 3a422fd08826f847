// Tests that the start-of-day tables the builder makes for Mini-OS (image at virtual 0) pass the paging core's validation.
// The same check the hypervisor makes before the first instruction: pin the L3 and make it the base, nothing else.

import XCTest
import PVABI
@testable import ApusCore

extension DomainBuilderTests {
    func testMiniOSInitialTablesValidate() throws {
        for name in ["mini-os.elf", "mini-os-test.elf"] {
            guard let bytes = miniOS(name) else { return }
            try validateInitialTables(bytes, name: name)
        }
    }

    /// Builds `bytes` as domU 1 in a fresh machine of 1200 frames and adopts its tables.
    func validateInitialTables(_ bytes: [UInt8], name: String) throws {
        let total: UInt32 = 1200
        let storage = UnsafeMutablePointer<FrameRecord>.allocate(capacity: Int(total))
        defer { storage.deallocate() }
        var table = FrameTable(storage: storage, count: total)
        var memory = PagingFakeMemory(frames: Int(total))
        table.addUsable(FrameRange(first: 4, count: total - 4))
        var hypervisor: [UInt32] = []
        for _ in 0..<4 { hypervisor.append(table.allocate(for: .hypervisor)!) }
        let entries = (0..<HypervisorL2Slots.count).map { PTE.make(hypervisor[$0 % 4], PTE.p | PTE.rw | PTE.a | PTE.d) }
        let sharedInfo = table.allocate(for: .hypervisor)!
        var extras = MappableExtras()
        extras.add(sharedInfo)
        table.hypervisorSlots = HypervisorL2Slots(entries)!
        var state = DomainMemoryState(id: 1, extras: extras)
        var frames: [UInt32] = []
        for _ in 0..<1100 { frames.append(table.allocate(for: .domain(1), memory: &memory)!) }
        let parameters = BuildParameters(
            domainID: 1, privileged: false, frames: frames, sharedInfoMFN: sharedInfo,
            needsStoreAndConsolePages: true, hypervisorL2Entries: entries)
        let result = bytes.withUnsafeBytes { DomainBuilder.build(image: $0, parameters: parameters, memory: &memory) }
        let domain = try built(result)
        XCTAssertNil(table.adoptInitialBase(domain.l3MFN, state: &state, memory: &memory), name)
        XCTAssertEqual(state.baseL3, domain.l3MFN, name)
        XCTAssertEqual(table.record(frames[0]).type, .writable, "\(name): page 0 is mapped writable")
    }
}
