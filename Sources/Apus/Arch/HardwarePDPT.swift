// HardwarePDPT.swift: the PAE page-directory-pointer table each vCPU's CR3 points at. The CPU
// caches its four entries at every CR3 load, so it is a hypervisor-owned copy of the guest's L3
// holding only the bits the CPU accepts in a PDPTE. It must never take an entry from anywhere else.

import ApusCore

/// One vCPU's 32-byte, 32-byte-aligned PDPT in the direct map.
struct HardwarePDPT {
    let entries: UnsafeMutablePointer<UInt64>
    /// What CR3 is loaded with while the vCPU runs.
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

/// The hardware PDPT each vCPU's CR3 points at, refreshed from its guest L3 (the paging core's base
/// for it, which `l3MFN` is kept equal to here).
enum AddressSpaces {
    /// Refreshes `v`'s PDPT from its base (all entries absent while it has none).
    static func loadPDPT(_ d: Domain, _ v: VCPU) {
        guard let base = d.memory.base(ofVCPU: Int(v.id)) else {
            v.l3MFN = 0
            for i in 0..<4 { v.hardwarePDPT.entries[i] = 0 }
            return
        }
        v.l3MFN = base
        v.hardwarePDPT.load(fromL3: base)
    }

    /// The current vCPU's base changed (NEW_BASEPTR): its PDPT refreshed and loaded into CR3.
    static func switchBase(_ d: Domain) {
        loadPDPT(d, d.vcpu)
        loadCR3(d.vcpu.hardwarePDPTPhysical)
    }

    /// An entry of an L3 that is some vCPU's base changed: every vCPU running on a changed L3 gets
    /// its PDPT copy refreshed (the CPU reads PDPTEs only at a CR3 load), and the CPU reloads the
    /// current vCPU's.
    static func reloadBases(_ d: Domain) {
        for v in d.vcpus where d.memory.base(ofVCPU: Int(v.id)) != nil { loadPDPT(d, v) }
        loadCR3(d.vcpu.hardwarePDPTPhysical)
    }
}
