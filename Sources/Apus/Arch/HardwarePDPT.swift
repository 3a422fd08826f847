// HardwarePDPT.swift: the PAE page-directory-pointer table each domain's CR3 points at. The CPU
// caches its four entries at every CR3 load, so it is a hypervisor-owned copy of the guest's L3
// holding only the bits the CPU accepts in a PDPTE. It must never take an entry from anywhere else.

import ApusCore

/// One domain's 32-byte, 32-byte-aligned PDPT in the direct map.
struct HardwarePDPT {
    let entries: UnsafeMutablePointer<UInt64>
    /// What CR3 is loaded with while the domain runs.
    let physical: UInt32

    /// A fresh table with no entry present.
    static func allocate() -> HardwarePDPT {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 32)
        let entries = raw.bindMemory(to: UInt64.self, capacity: 4)
        for i in 0..<4 { entries[i] = 0 }
        return HardwarePDPT(entries: entries, physical: UInt32(UInt(bitPattern: raw)) - AddressMap.directMapStart)
    }

    func release() { UnsafeMutableRawPointer(entries).deallocate() }

    /// Copies the four entries of the guest L3 in machine frame `l3MFN`, made acceptable to the CPU.
    func load(fromL3 l3MFN: UInt32) {
        for i in 0..<4 {
            let raw = Machine.memory.load64(UInt64(l3MFN) << 12 | UInt64(i) * 8) ?? 0
            entries[i] = EntryRules.hardwarePDPTEntry(raw)
        }
    }
}

/// The hardware PDPT each domain's CR3 points at, refreshed from its current guest L3.
enum AddressSpaces {
    static func loadPDPT(_ d: Domain) { d.hardwarePDPT.load(fromL3: d.l3MFN) }
}
