// DescriptorHypercalls.swift: set_gdt (2) and update_descriptor (10). Every descriptor a guest
// installs passes ApusCore's DescriptorCheck first; the CPU then uses a hypervisor-owned shadow
// of the guest's GDT pages (entries 0-7167), so the reserved page stays the hypervisor's.
// A frame that is a page table or not the guest's is never accepted as a descriptor page.

import ApusCore
import PVABI

enum DescriptorHypercalls {
    static let maxGuestEntries = Selector.firstReservedGDTEntry

    static func frameUsable(_ mfn: UInt32, _ d: Domain) -> StaticString? {
        guard mfn != d.sharedInfoMFN, Machine.frames.owner(of: mfn) == .domain(d.id) else {
            return "descriptor frame is not owned by the domain"
        }
        switch Machine.frames.record(mfn).type {
        case .l1, .l2, .l3: return "descriptor frame is a page table"
        default: return nil
        }
    }

    static func setGDT(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let entries = Int(a.a2)
        guard entries <= maxGuestEntries else { return .refused(.EINVAL, "set_gdt reaches the hypervisor's reserved GDT entries") }
        let frameCount = (entries + 511) / 512
        // Decode: the frame list, each frame's ownership and every descriptor, before any change.
        var frames: [UInt32] = []
        for i in 0..<frameCount {
            guard let mfn = GuestMemory.read32(a.a1 + UInt32(i * 4)) else { return .refused(.EFAULT, "set_gdt frame list is not readable") }
            if let why = frameUsable(mfn, d) { return .refused(.EINVAL, why) }
            frames.append(mfn)
        }
        var descriptors = [UInt64](repeating: 0, count: entries)
        for i in 0..<entries {
            guard let raw = Machine.memory.load64(UInt64(frames[i / 512]) << 12 | UInt64(i % 512) * 8) else {
                return .refused(.EFAULT, "set_gdt frame could not be read")
            }
            switch DescriptorCheck.check(raw) {
            case .accept(let fixed): descriptors[i] = fixed
            case .refuse(let why): return .refused(.EINVAL, why.reason)
            }
        }
        // Act.
        d.gdtFrames = frames
        d.gdtEntries = entries
        for f in frames { _ = Machine.frames.setType(of: f, to: .segmentDescriptor, typeCount: 1) }
        GuestGDT.load(d, descriptors)
        return .ok
    }

    static func updateDescriptor(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        let machineAddress = UInt64(a.a1) | UInt64(a.a2) << 32
        let raw = UInt64(a.a3) | UInt64(a.a4) << 32
        guard machineAddress & 7 == 0 else { return .refused(.EINVAL, "descriptor address is not 8-byte aligned") }
        guard machineAddress >> 12 <= UInt64(UInt32.max) else { return .refused(.EINVAL, "descriptor address is beyond machine memory") }
        let mfn = UInt32(machineAddress >> 12)
        if let why = frameUsable(mfn, d) { return .refused(.EINVAL, why) }
        let fixed: UInt64
        switch DescriptorCheck.check(raw) {
        case .accept(let f): fixed = f
        case .refuse(let why): return .refused(.EINVAL, why.reason)
        }
        guard Machine.memory.store64(machineAddress, fixed) else { return .refused(.EFAULT, "descriptor frame could not be written") }
        if let page = d.gdtFrames.firstIndex(of: mfn) {
            let index = page * 512 + Int((machineAddress & 0xFFF) / 8)
            if index < d.gdtEntries { GuestGDT.set(d, index: index, fixed) }
        }
        return .ok
    }
}

/// The CPU's view of the running guest's GDT: the first 14 pages of the hypervisor GDT.
enum GuestGDT {
    static var table: UnsafeMutablePointer<UInt64>! = nil

    static func load(_ d: Domain, _ descriptors: [UInt64]) {
        guard Domains.current === d else { return }
        for i in 0..<DescriptorHypercalls.maxGuestEntries { table[i] = i < descriptors.count ? descriptors[i] : 0 }
    }

    static func set(_ d: Domain, index: Int, _ raw: UInt64) {
        guard Domains.current === d else { return }
        table[index] = raw
    }

    /// Re-reads the guest's GDT frames into the shadow (after a switch to `d`).
    static func reload(_ d: Domain) {
        for i in 0..<DescriptorHypercalls.maxGuestEntries {
            if i < d.gdtEntries, let raw = Machine.memory.load64(UInt64(d.gdtFrames[i / 512]) << 12 | UInt64(i % 512) * 8),
               case .accept(let fixed) = DescriptorCheck.check(raw) {
                table[i] = fixed
            } else {
                table[i] = 0
            }
        }
    }
}
