// Builds a pv32pae domain's start-of-day memory from a Xen PV kernel: image, initrd, P2M, start_info, page tables, stack.
// Decode first, act second: it must never write a byte of guest memory before the image and the whole layout are checked.

import PVABI

/// What the caller (boot for dom0, domctl for domUs) provides besides the image.
public struct BuildParameters {
    public var domainID: UInt16
    /// Dom0: start_info gets SIF_PRIVILEGED | SIF_INITDOMAIN.
    public var privileged: Bool
    /// The domain's machine frames; index = pfn, count = nr_pages.
    public var frames: [UInt32]
    /// Machine frame of the domain's shared_info page (below 4 GiB).
    public var sharedInfoMFN: UInt32
    /// Copied into start_info up to the first NUL, at most 1023 bytes.
    public var commandLine: [UInt8]
    /// Copied right after the image, page aligned; start_info names its address and length.
    /// It must stay valid during `build`.
    public var initrd: UnsafeRawBufferPointer?
    /// Without `initrd`: room for an initrd of this many bytes that the caller copies in itself once
    /// the domain is built (a domU's ramdisk, straight from dom0's memory into the domain's frames,
    /// never staged in the hypervisor). Placed and named in start_info like `initrd`; zeroed here.
    public var initrdReserved: UInt32 = 0
    /// DomUs: place one xenstore page and one console page after start_info and name
    /// their frames in start_info. Dom0 has neither (its store and console fields stay 0).
    public var needsStoreAndConsolePages: Bool
    public var storeEvtchn: UInt32
    public var consoleEvtchn: UInt32
    /// The 84 entries the hypervisor keeps in L2 slots 428-511 under L3 slot 3 (0xF5800000 up).
    public var hypervisorL2Entries: [UInt64]
    /// Every byte of every frame in `frames` is already zero (the allocator scrubbed them): the
    /// builder then writes only what is not zero. False: it zeroes what it does not fill.
    public var framesAreZero = false

    public init(
        domainID: UInt16, privileged: Bool, frames: [UInt32], sharedInfoMFN: UInt32,
        commandLine: [UInt8] = [], initrd: UnsafeRawBufferPointer? = nil,
        needsStoreAndConsolePages: Bool = false, storeEvtchn: UInt32 = 0, consoleEvtchn: UInt32 = 0,
        hypervisorL2Entries: [UInt64]
    ) {
        self.domainID = domainID
        self.privileged = privileged
        self.frames = frames
        self.sharedInfoMFN = sharedInfoMFN
        self.commandLine = commandLine
        self.initrd = initrd
        self.needsStoreAndConsolePages = needsStoreAndConsolePages
        self.storeEvtchn = storeEvtchn
        self.consoleEvtchn = consoleEvtchn
        self.hypervisorL2Entries = hypervisorL2Entries
    }
}

/// A page-table frame of the initial mapping, for the caller to type (L1/L2/L3) and pin.
public struct InitialPageTable: Equatable, Sendable {
    public let pfn: UInt32
    public let mfn: UInt32
    /// 1, 2 or 3.
    public let level: UInt8
}

/// What the caller needs to start the domain's first vCPU and to account for its frames.
public struct BuiltDomain: Equatable, Sendable {
    /// EIP at entry.
    public let entry: UInt32
    /// ESP at entry: the end of the boot stack page.
    public let stackTop: UInt32
    /// ESI at entry.
    public let startInfoVirtual: UInt32
    public let startInfoPFN: UInt32
    public let l3PFN: UInt32
    public let l3MFN: UInt32
    /// CR3 at entry (`PAE.xenPfnToCR3(l3MFN)`).
    public let cr3: UInt32
    /// Every page-table frame: the L3, then the L2s, then the L1s.
    public let pageTables: [InitialPageTable]
    public let hypercallPagePFN: UInt32?
    /// One past the last byte of the initial mapping (a 4 MiB boundary).
    public let mappedEnd: UInt32
    public let p2mVirtual: UInt32
    /// Nil when there is no initrd.
    public let initrdVirtual: UInt32?
    public let initrdLength: UInt32
    public let nrPtFrames: UInt32
    public let storePFN: UInt32?
    public let consolePFN: UInt32?
    /// The lowest loaded byte of the image and one past the highest (bss included).
    public let imageStart: UInt32
    public let imageEnd: UInt32
    /// Where the BSD symbol table was loaded (its size word); nil unless the kernel asked.
    /// It ends at `imageEnd`.
    public let symbolTable: UInt32?
    public let layout: DomainLayout
    public let notes: XenGuestNotes
}

public enum DomainBuildResult: Equatable, Sendable {
    case built(BuiltDomain)
    /// Nothing was written, unless the error is `.writeFailed`.
    case refused(BuildError)
}

public enum DomainBuilder {
    /// Flags of every L1 entry of the initial mapping, except page-table pages (read-only).
    static let l1Flags: PTEFlags = [.present, .writable, .accessed]
    static let l1ReadOnlyFlags: PTEFlags = [.present, .accessed]
    /// Flags of L2 and L3 entries (the hypervisor strips what the hardware PDPT cannot hold).
    static let tableFlags: PTEFlags = [.present, .writable, .accessed, .dirty, .user]
    static let hypervisorFirstL2Slot = 428
    static let hypervisorL2SlotCount = 84

    /// Loads `image` into the domain's frames through `memory`. Every check runs before
    /// the first write; a `.refused` result other than `.writeFailed` left memory untouched.
    public static func build<M: PhysicalMemory>(
        image: UnsafeRawBufferPointer, parameters: BuildParameters, memory: inout M
    ) -> DomainBuildResult {
        let plan: BuildPlan
        do {
            plan = try decode(image: image, parameters: parameters)
        } catch {
            return .refused(error)
        }
        do {
            try act(plan, parameters: parameters, memory: &memory)
        } catch {
            return .refused(error)
        }
        return .built(plan.result(parameters: parameters))
    }

    /// Everything `act` needs, all checked.
    struct BuildPlan {
        let image: ElfImage
        let notes: XenGuestNotes
        /// PT_LOAD segments with their load addresses, sorted by address.
        let loads: [(segment: ElfSegment, start: UInt32)]
        let entry: UInt32
        /// The symbol table after the image, when the kernel asked (XEN_ELFNOTE_BSD_SYMTAB).
        let symbols: BsdSymbolTable?
        let layout: DomainLayout
        let pageTables: [InitialPageTable]

        func result(parameters: BuildParameters) -> BuiltDomain {
            let l3 = pageTables[0]
            let initrd = layout.initrdLength > 0 ? layout.initrdStart : nil
            return BuiltDomain(
                entry: entry, stackTop: layout.stackTop,
                startInfoVirtual: layout.startInfo, startInfoPFN: layout.pfn(layout.startInfo),
                l3PFN: l3.pfn, l3MFN: l3.mfn, cr3: PAE.xenPfnToCR3(mfn: l3.mfn),
                pageTables: pageTables, hypercallPagePFN: notes.hypercallPage.map { layout.pfn($0) },
                mappedEnd: layout.mappedEnd, p2mVirtual: layout.p2mStart,
                initrdVirtual: initrd, initrdLength: layout.initrdLength,
                nrPtFrames: UInt32(layout.tableCount),
                storePFN: layout.storePage.map { layout.pfn($0) },
                consolePFN: layout.consolePage.map { layout.pfn($0) },
                imageStart: layout.imageStart, imageEnd: layout.imageEnd,
                symbolTable: symbols?.start, layout: layout, notes: notes)
        }
    }

    // MARK: - Decode: checks only, no writes

    static func decode(image bytes: UnsafeRawBufferPointer, parameters: BuildParameters) throws(BuildError) -> BuildPlan {
        let kernel = try checkKernel(bytes)
        let image = kernel.image, notes = kernel.notes, loads = kernel.loads, entry = kernel.entry
        var imageEnd = kernel.imageEnd

        guard parameters.hypervisorL2Entries.count == hypervisorL2SlotCount else {
            throw .badHypervisorEntries(count: parameters.hypervisorL2Entries.count)
        }
        guard parameters.sharedInfoMFN < 1 << 20 else { throw .sharedInfoNotAddressable(parameters.sharedInfoMFN) }
        let virtBase = notes.virtBase
        let imageStart = kernel.imageStart

        // Xen loads the symbol table right after the loaded segments and counts it in the image.
        var symbols: BsdSymbolTable? = nil
        if notes.bsdSymtab {
            let table = try BsdSymbolTable.plan(image, after: imageEnd)
            symbols = table
            imageEnd = table.end
        }

        let initrdLength = parameters.initrd?.count ?? Int(parameters.initrdReserved)
        guard UInt64(initrdLength) < UInt64(XenLayout.hypervisorVirtStart) else {
            throw .mappingReachesHypervisor(end: UInt64(imageEnd) + UInt64(initrdLength))
        }
        let layout = try DomainLayout.compute(
            virtBase: virtBase, imageStart: imageStart, imageEnd: imageEnd,
            initrdLength: UInt32(initrdLength), nrPages: UInt64(parameters.frames.count),
            storeAndConsole: parameters.needsStoreAndConsolePages)

        var tables: [InitialPageTable] = []
        var pfn = layout.pfn(layout.pageTablesStart)
        func add(_ level: UInt8) {
            tables.append(InitialPageTable(pfn: pfn, mfn: parameters.frames[Int(pfn)], level: level))
            pfn += 1
        }
        add(3)
        for _ in layout.l2Slots { add(2) }
        for _ in 0..<layout.l1Count { add(1) }

        return BuildPlan(
            image: image, notes: notes, loads: loads, entry: entry, symbols: symbols, layout: layout, pageTables: tables)
    }

    /// Where each PT_LOAD goes: p_paddr + virt_base - paddr_offset (for current kernels
    /// paddr_offset is 0 and p_paddr is the offset from virt_base). Sorted by address;
    /// checked to lie in [virtBase, HYPERVISOR_VIRT_START) without overlapping.
    static func placeSegments(_ segments: [ElfSegment], notes: XenGuestNotes) throws(BuildError) -> [(segment: ElfSegment, start: UInt32)] {
        let shift = notes.virtBase &- notes.paddrOffset
        var loads: [(segment: ElfSegment, start: UInt32)] = []
        for segment in segments {
            let start = segment.paddr &+ shift
            guard start >= notes.virtBase else { throw .segmentBelowVirtBase(index: segment.index) }
            guard UInt64(start) + UInt64(segment.memSize) <= UInt64(XenLayout.hypervisorVirtStart) else {
                throw .segmentReachesHypervisor(index: segment.index)
            }
            loads.append((segment: segment, start: start))
        }
        loads.sort { $0.start < $1.start }
        for k in 1..<max(loads.count, 1) {
            let previous = loads[k - 1]
            if loads[k].start < previous.start + previous.segment.memSize {
                let a = previous.segment.index, b = loads[k].segment.index
                throw .segmentsOverlap(first: min(a, b), second: max(a, b))
            }
        }
        return loads
    }

    // MARK: - Act: writes only, in address order

    static func act<M: PhysicalMemory>(_ plan: BuildPlan, parameters: BuildParameters, memory: inout M) throws(BuildError) {
        let layout = plan.layout
        let guest = GuestWriter(frames: parameters.frames, virtBase: layout.virtBase, framesAreZero: parameters.framesAreZero)

        // The image: every byte of its pages is either file data or zero.
        var cursor = layout.imageStart & ~0xFFF
        for load in plan.loads {
            try guest.zero(cursor, count: load.start - cursor, in: &memory)
            try guest.write(load.start, plan.image.fileBytes(of: load.segment), in: &memory)
            let bssStart = load.start + load.segment.fileSize
            try guest.zero(bssStart, count: load.segment.memSize - load.segment.fileSize, in: &memory)
            cursor = load.start + load.segment.memSize
        }
        if let table = plan.symbols {
            try guest.zero(cursor, count: table.start - cursor, in: &memory)
            try guest.write(table.start, array: table.header(plan.image), in: &memory)
            try guest.write(table.symtabAt, ElfSections.fileBytes(of: table.symtab, in: plan.image), in: &memory)
            let symtabEnd = table.symtabAt + table.symtab.size
            try guest.zero(symtabEnd, count: table.strtabAt - symtabEnd, in: &memory)
            try guest.write(table.strtabAt, ElfSections.fileBytes(of: table.strtab, in: plan.image), in: &memory)
            cursor = table.strtabAt + table.strtab.size
        }
        try guest.zero(cursor, count: layout.initrdStart - cursor, in: &memory)

        if let page = plan.notes.hypercallPage {
            try guest.write(page, array: hypercallStubs, in: &memory)
        }

        if let initrd = parameters.initrd, initrd.count > 0 {
            try guest.write(layout.initrdStart, initrd, in: &memory)
        } else if layout.initrdLength > 0 {
            try guest.zero(layout.initrdStart, count: layout.initrdLength, in: &memory)
        }
        let initrdEnd = layout.initrdStart + layout.initrdLength
        try guest.zero(initrdEnd, count: layout.p2mStart - initrdEnd, in: &memory)

        // The P2M, two entries per 64-bit store (its pages are page aligned); the tail of the last page is zero.
        var va = layout.p2mStart
        var pfn = 0
        let nrPages = parameters.frames.count
        while va < layout.startInfo {
            try guest.zero(va, count: UInt32(DomainLayout.pageSize), in: &memory)
            let base = guest.machineAddress(va)
            var slot = 0
            while slot < 512 && pfn < nrPages {
                let low = UInt64(parameters.frames[pfn])
                let high = pfn + 1 < nrPages ? UInt64(parameters.frames[pfn + 1]) : 0
                guard memory.store64(base + UInt64(slot * 8), low | high << 32) else { throw .writeFailed(pa: base + UInt64(slot * 8)) }
                pfn += 2
                slot += 1
            }
            va += UInt32(DomainLayout.pageSize)
        }

        try guest.zero(layout.startInfo, count: UInt32(DomainLayout.pageSize), in: &memory)
        try guest.write(layout.startInfo, array: startInfoPage(plan, parameters: parameters), in: &memory)
        if let store = layout.storePage { try guest.zero(store, count: UInt32(DomainLayout.pageSize), in: &memory) }
        if let console = layout.consolePage { try guest.zero(console, count: UInt32(DomainLayout.pageSize), in: &memory) }

        // The L3 and L2s entry by entry (a few, and the hypervisor's 84); each L1's one run of
        // entries built in a buffer and copied in one go.
        let run = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: PAE.entriesPerTable)
        defer { run.deallocate() }
        let firstL1 = 1 + layout.l2Slots.count
        for (k, table) in plan.pageTables.enumerated() {
            let at = layout.pageTablesStart + UInt32(k) * UInt32(DomainLayout.pageSize)
            precondition(layout.pfn(at) == table.pfn)
            try guest.zero(at, count: UInt32(DomainLayout.pageSize), in: &memory)
            let base = guest.machineAddress(at)
            if k >= firstL1 {
                let (first, count) = l1Run(k - firstL1, plan: plan, parameters: parameters, into: run)
                guard count > 0 else { continue }
                let bytes = UnsafeRawBufferPointer(start: run.baseAddress! + first, count: count * 8)
                guard memory.storeBytes(base + UInt64(first * 8), bytes) else { throw .writeFailed(pa: base + UInt64(first * 8)) }
                continue
            }
            var failed: UInt64? = nil
            tableEntries(k, plan: plan, parameters: parameters) { index, raw in
                if failed == nil, !memory.store64(base + UInt64(index * 8), raw) { failed = base + UInt64(index * 8) }
            }
            if let failed { throw .writeFailed(pa: failed) }
        }

        try guest.zero(layout.stackPage, count: UInt32(DomainLayout.pageSize), in: &memory)
    }

    /// The hypercall page's stubs, made once and shared by every build.
    static let hypercallStubs: [UInt8] = {
        var stubs = [UInt8](repeating: 0, count: HypercallPage.size)
        stubs.withUnsafeMutableBytes { HypercallPage.fill($0) }
        return stubs
    }()

    /// The start_info structure (the start of its page; the rest of the page is zero), ready to copy.
    static func startInfoPage(_ plan: BuildPlan, parameters: BuildParameters) -> [UInt8] {
        let layout = plan.layout
        var page = [UInt8](repeating: 0, count: StartInfoLayout.size)
        StartInfoLayout.magicString.withUTF8Buffer { magic in
            for k in 0..<magic.count { page[StartInfoLayout.magic + k] = magic[k] }
        }
        put32(&page, StartInfoLayout.nrPages, UInt32(parameters.frames.count))
        put32(&page, StartInfoLayout.sharedInfo, parameters.sharedInfoMFN << 12)
        var flags = parameters.privileged ? StartInfoFlags.privileged | StartInfoFlags.initDomain : 0
        // As Xen's builder: a kernel whose MOD_START_PFN note asks for it gets its initrd's PFN
        // (still mapped, right after the image) and SIF_MOD_START_PFN; others its virtual address.
        let initrdByPFN = layout.initrdLength > 0 && plan.notes.modStartPFN
        if initrdByPFN { flags |= StartInfoFlags.modStartPFN }
        put32(&page, StartInfoLayout.flags, flags)
        if let store = layout.storePage {
            put32(&page, StartInfoLayout.storeMFN, parameters.frames[Int(layout.pfn(store))])
            put32(&page, StartInfoLayout.storeEvtchn, parameters.storeEvtchn)
        }
        if let console = layout.consolePage {
            put32(&page, StartInfoLayout.consoleMFN, parameters.frames[Int(layout.pfn(console))])
            put32(&page, StartInfoLayout.consoleEvtchn, parameters.consoleEvtchn)
        }
        put32(&page, StartInfoLayout.ptBase, layout.pageTablesStart)
        put32(&page, StartInfoLayout.nrPtFrames, UInt32(layout.tableCount))
        put32(&page, StartInfoLayout.mfnList, layout.p2mStart)
        if layout.initrdLength > 0 {
            put32(&page, StartInfoLayout.modStart, initrdByPFN ? layout.pfn(layout.initrdStart) : layout.initrdStart)
            put32(&page, StartInfoLayout.modLen, layout.initrdLength)
        }
        // Up to the first NUL and at most 1023 bytes; the page is already zero after it.
        var k = 0
        while k < parameters.commandLine.count, k < StartInfoLayout.cmdLineLength - 1, parameters.commandLine[k] != 0 {
            page[StartInfoLayout.cmdLine + k] = parameters.commandLine[k]
            k += 1
        }
        return page
    }

    /// The entries that are not zero of page-table frame `k` of the initial mapping (0 the L3,
    /// then the L2s, then the L1s), given to `put` as (index, raw entry); every other entry is zero.
    static func tableEntries(_ k: Int, plan: BuildPlan, parameters: BuildParameters, _ put: (Int, UInt64) -> Void) {
        let layout = plan.layout
        let tables = plan.pageTables
        let l2Count = layout.l2Slots.count

        func l1Region(_ j: Int) -> UInt64 { UInt64(layout.l1Base) + UInt64(j) * DomainLayout.l1Span }
        func entry(_ mfn: UInt32, _ flags: PTEFlags) -> UInt64 { PageTableEntry(frame: UInt64(mfn), flags: flags).raw }

        if k == 0 {
            for (n, slot) in layout.l2Slots.enumerated() {
                put(slot, entry(tables[1 + n].mfn, tableFlags))
            }
        } else if k <= l2Count {
            let slot = layout.l2Slots[k - 1]
            for j in 0..<layout.l1Count where Int(l1Region(j) >> 30) == slot {
                put(Int((l1Region(j) >> 21) & 511), entry(tables[1 + l2Count + j].mfn, tableFlags))
            }
            if slot == DomainLayout.hypervisorSlot {
                for (n, raw) in parameters.hypervisorL2Entries.enumerated() {
                    put(hypervisorFirstL2Slot + n, raw)
                }
            }
        } else {
            let run = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: PAE.entriesPerTable)
            defer { run.deallocate() }
            let (first, count) = l1Run(k - 1 - l2Count, plan: plan, parameters: parameters, into: run)
            for index in first..<(first + count) { put(index, run[index]) }
        }
    }

    /// L1 `j` of the initial mapping: the part of its 2 MiB inside [virtBase, mappedEnd) is one run
    /// of present entries, written into `run` at their indices; the answer is (first index, count).
    /// The page tables' own pages are mapped read-only, every other page writable.
    static func l1Run(_ j: Int, plan: BuildPlan, parameters: BuildParameters, into run: UnsafeMutableBufferPointer<UInt64>) -> (Int, Int) {
        let layout = plan.layout
        let region = UInt64(layout.l1Base) + UInt64(j) * DomainLayout.l1Span
        let first = max(region, UInt64(layout.virtBase))
        let end = min(region + DomainLayout.l1Span, UInt64(layout.mappedEnd))
        guard first < end else { return (0, 0) }
        let firstIndex = Int((first - region) >> 12)
        let count = Int((end - first) >> 12)
        // Pfn of the run's first page, and the pfns of the read-only page-table pages.
        let firstPFN = Int(layout.pfn(UInt32(first)))
        let tablesFirst = Int(layout.pfn(layout.pageTablesStart))
        let tablesEnd = Int(layout.pfn(layout.pageTablesEnd))
        let writable = PageTableEntry(frame: 0, flags: l1Flags).raw
        let readOnly = PageTableEntry(frame: 0, flags: l1ReadOnlyFlags).raw
        parameters.frames.withUnsafeBufferPointer { frames in
            for n in 0..<count {
                let pfn = firstPFN + n
                let flags = pfn >= tablesFirst && pfn < tablesEnd ? readOnly : writable
                run[firstIndex + n] = UInt64(frames[pfn]) << 12 | flags
            }
        }
        return (firstIndex, count)
    }

    /// Page-table frame `k` as a whole page (tests compare it with what the builder wrote).
    static func tablePage(_ k: Int, plan: BuildPlan, parameters: BuildParameters) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: Int(DomainLayout.pageSize))
        tableEntries(k, plan: plan, parameters: parameters) { index, raw in put64(&page, index * 8, raw) }
        return page
    }

    static func put32(_ page: inout [UInt8], _ at: Int, _ value: UInt32) {
        for k in 0..<4 { page[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
    }

    static func put64(_ page: inout [UInt8], _ at: Int, _ value: UInt64) {
        for k in 0..<8 { page[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
    }
}

/// Writes to the new domain by virtual address of its initial mapping, a page at a time
/// (consecutive pages need not be consecutive machine frames). Only called with
/// addresses the layout has checked to lie inside the mapping.
struct GuestWriter {
    let frames: [UInt32]
    let virtBase: UInt32
    /// The frames are already all zero: `zero` has nothing to do.
    var framesAreZero = false

    func machineAddress(_ va: UInt32) -> UInt64 {
        UInt64(frames[Int((va - virtBase) >> 12)]) << 12 | UInt64(va & 0xFFF)
    }

    func write<M: PhysicalMemory>(_ va: UInt32, _ bytes: UnsafeRawBufferPointer, in memory: inout M) throws(BuildError) {
        var done = 0
        while done < bytes.count {
            let at = va + UInt32(done)
            let chunk = min(bytes.count - done, 4096 - Int(at & 0xFFF))
            let pa = machineAddress(at)
            guard memory.storeBytes(pa, UnsafeRawBufferPointer(rebasing: bytes[done..<done + chunk])) else {
                throw .writeFailed(pa: pa)
            }
            done += chunk
        }
    }

    /// `write` for an array (its closure-based byte access cannot throw a typed error).
    func write<M: PhysicalMemory>(_ va: UInt32, array: [UInt8], in memory: inout M) throws(BuildError) {
        var failure: BuildError? = nil
        array.withUnsafeBytes { bytes in
            do throws(BuildError) { try write(va, bytes, in: &memory) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func zero<M: PhysicalMemory>(_ va: UInt32, count: UInt32, in memory: inout M) throws(BuildError) {
        if framesAreZero { return }
        var done: UInt32 = 0
        while done < count {
            let at = va + done
            let chunk = min(count - done, 4096 - (at & 0xFFF))
            let pa = machineAddress(at)
            guard memory.zero(pa, count: UInt64(chunk)) else { throw .writeFailed(pa: pa) }
            done += chunk
        }
    }
}
