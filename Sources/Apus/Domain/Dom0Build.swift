// Dom0Build.swift: builds and starts the control domain from Multiboot module 1 (its kernel) and
// module 2 (its initrd) with ApusCore's DomainBuilder, exactly as Xen's pv32pae protocol says:
// frames allocated and scrubbed, page tables typed, M2P and hardware PDPT filled, registers set.
// A kernel the builder refuses is reported with the reason; it is never started half-built.

import ApusCore
import PVABI

@_extern(c, "apus_zero_page") func apus_zero_page(_ page: UnsafeMutableRawPointer)

enum Dom0Build {
    static let defaultMemory: UInt64 = 64 << 20
    /// What the hypervisor keeps back from a dom0_mem that would take everything.
    static let keptBack: UInt64 = 16 << 20

    static func run(_ options: BootOptions) -> Domain? {
        guard Machine.modules.count >= 1 else {
            Log.info("dom0: no kernel module was loaded (module 1); nothing to run")
            return nil
        }
        let kernelModule = Machine.modules[0]
        guard let kernel = ModuleBytes.view(kernelModule) else {
            Log.info("dom0: module 1 could not be read")
            return nil
        }
        let initrd = Machine.modules.count >= 2 ? ModuleBytes.view(Machine.modules[1]) : nil
        let commandLine = ModuleBytes.commandLineAfterName(kernelModule)

        let available = UInt64(Machine.frames.freeCount) << 12
        var bytes = options.dom0MemoryBytes ?? defaultMemory
        if bytes + keptBack > available { bytes = available > keptBack ? available - keptBack : available / 2 }
        let pages = UInt32(bytes >> 12)
        let d = Domain(id: 0, privileged: true)
        var frames: [UInt32] = []
        frames.reserveCapacity(Int(pages))
        for _ in 0..<pages {
            guard let mfn = Machine.frames.allocate(for: .domain(0)) else { break }
            scrub(mfn)
            frames.append(mfn)
        }
        d.frames = frames
        Log.info("dom0: \(UInt32(frames.count)) pages (\(mib: UInt64(frames.count) << 12)), kernel \(kib: UInt64(kernel.count)), initrd \(kib: UInt64(initrd?.count ?? 0))")

        let parameters = BuildParameters(domainID: 0, privileged: true, frames: frames, sharedInfoMFN: d.sharedInfoMFN,
                                         commandLine: commandLine, initrd: initrd,
                                         hypervisorL2Entries: hypervisorL2Entries())
        var memory = Machine.memory
        switch DomainBuilder.build(image: kernel, parameters: parameters, memory: &memory) {
        case .refused(let error):
            Log.info("dom0: the kernel was refused: \(error.reason)")
            return nil
        case .built(let built):
            install(d, built)
            Log.info("dom0: entry \(hex8: built.entry), start_info \(hex8: built.startInfoVirtual), \(built.nrPtFrames) page-table frames, mapping ends at \(hex8: built.mappedEnd), stack top \(hex8: built.stackTop)")
        }
        releaseModules()
        Domains.all.append(d)
        return d
    }

    /// After a successful build: page-table types, M2P, the hardware PDPT, start-of-day registers.
    static func install(_ d: Domain, _ built: BuiltDomain) {
        for table in built.pageTables {
            let type: PageType = table.level == 1 ? .l1 : (table.level == 2 ? .l2 : .l3)
            _ = Machine.frames.setType(of: table.mfn, to: type, typeCount: 1)
            _ = Machine.frames.setFlags(of: table.mfn, to: [.pinned, .validated])
        }
        let m2p = pointer(to: UInt32.self, at: AddressMap.m2pWritableStart)
        for (pfn, mfn) in d.frames.enumerated() { m2p[Int(mfn)] = UInt32(pfn) }
        d.l3MFN = built.l3MFN
        AddressSpaces.loadPDPT(d)
        var f = TrapFrame()
        f.eip = built.entry
        f.cs = UInt32(Selector.flatRing1CS)
        f.eflags = 0x202
        f.esp = built.stackTop
        f.ss = UInt32(Selector.flatRing1SS)
        f.ds = UInt32(Selector.flatRing1DS); f.es = f.ds; f.fs = f.ds; f.gs = f.ds
        f.esi = built.startInfoVirtual
        d.vcpu.saved = f
    }

    /// The hypervisor's L2 entries 428-511 (M2P, frame table, image, mapcache), shared by all.
    static func hypervisorL2Entries() -> [UInt64] {
        var entries: [UInt64] = []
        for slot in AddressMap.firstHypervisorL2Slot..<512 { entries.append(HypervisorPaging.l2[slot]) }
        return entries
    }

    static func scrub(_ mfn: UInt32) {
        guard let window = Mapcache.map(frame: UInt64(mfn)) else { Panic.halt("mapcache exhausted while scrubbing memory") }
        apus_zero_page(UnsafeMutableRawPointer(bitPattern: UInt(window))!)
        Mapcache.unmap(window)
    }

    /// The modules were copied into dom0: their frames go back to the free pool.
    static func releaseModules() {
        var released: UInt32 = 0
        for m in Machine.modules {
            let range = MemorySetup.frameRange(m.range)
            for f in range.first..<range.end where Machine.frames.release(f, from: .bootModule) == .released { released += 1 }
        }
        Log.info("boot modules released: \(released) frames back to the free pool")
    }
}

/// A Multiboot module as bytes the builder can read.
enum ModuleBytes {
    static func view(_ m: BootModule) -> UnsafeRawBufferPointer? {
        guard UInt64(m.end) <= UInt64(AddressMap.directMapSize) else {
            // Above the direct map: copy it to the heap a frame at a time.
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(m.length), alignment: 16)
            var done: UInt32 = 0
            while done < m.length {
                let pa = UInt64(m.start + done)
                guard let window = Mapcache.map(frame: pa >> 12, writable: false) else { return nil }
                let offset = UInt32(pa & 0xFFF)
                let n = min(4096 - offset, m.length - done)
                buffer.advanced(by: Int(done)).copyMemory(from: UnsafeRawPointer(bitPattern: UInt(window + offset))!, byteCount: Int(n))
                Mapcache.unmap(window)
                done += n
            }
            return UnsafeRawBufferPointer(start: buffer, count: Int(m.length))
        }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(AddressMap.directMapStart + m.start)), count: Int(m.length))
    }

    /// The module's string minus its first word (the file name GRUB was given): dom0's command line.
    static func commandLineAfterName(_ m: BootModule) -> [UInt8] {
        guard m.stringAddress != 0, let text = MultibootInfo.readString(at: m.stringAddress, maxLength: 1023, memory: Machine.memory) else { return [] }
        guard let space = text.firstIndex(of: 32) else { return [] }
        return Array(text[(space + 1)...])
    }
}

/// The hardware PDPT each domain's CR3 points at: the guest L3's four entries, with only the
/// bits the CPU accepts in a PAE PDPTE (present, PWT, PCD and the frame).
enum AddressSpaces {
    static func loadPDPT(_ d: Domain) {
        for i in 0..<4 {
            let e = PageTableEntry(raw: Machine.memory.load64(UInt64(d.l3MFN) << 12 | UInt64(i) * 8) ?? 0)
            d.hardwarePDPT[i] = e.isPresent ? (e.address | (e.raw & 0x19)) : 0
        }
    }
}
