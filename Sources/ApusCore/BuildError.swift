// Why the domain builder refused a kernel image or its parameters, one case per refusal, each with a sentence for the log.
// Reasons only: nothing here may inspect an image or touch memory. A refusal before `writeFailed` means nothing was written.

/// A refusal of the domain builder (ELF loader, Xen-note reader and layout).
/// Payloads name the offending program header (its index in the table), address or note.
public enum BuildError: Error, Equatable, Sendable {
    // The ELF header.
    case notElf
    case notElf32
    case notLittleEndian
    case notI386
    case notExecutable
    /// The program header table lies outside the image, has entries smaller than 32 bytes, or uses extended numbering.
    case badProgramHeaders
    // Segments.
    case noLoadableSegment
    /// Program header `index` names file bytes past the end of the image.
    case segmentOutsideFile(index: Int)
    /// PT_LOAD `index` has more file bytes than memory bytes.
    case segmentFileLargerThanMemory(index: Int)
    /// PT_LOAD `second` overlaps PT_LOAD `first` where they are loaded.
    case segmentsOverlap(first: Int, second: Int)
    /// PT_LOAD `index` is loaded below virt_base.
    case segmentBelowVirtBase(index: Int)
    /// PT_LOAD `index` reaches HYPERVISOR_VIRT_START (or wraps past 4 GiB).
    case segmentReachesHypervisor(index: Int)
    /// The section header table lies outside the file, has entries smaller than 40 bytes, or overlaps the ELF or program headers.
    case badSectionHeaders
    /// Section header `index` names file bytes past the end of the image.
    case sectionOutsideFile(index: Int)
    // Xen notes.
    case noXenNotes
    /// A note in PT_NOTE segment (or SHT_NOTE section) `segment` runs past it, or a numeric Xen note has a bad size or value.
    case malformedNote(segment: Int)
    /// A number in the `__xen_guest` string (VIRT_BASE, ELF_PADDR_OFFSET, VIRT_ENTRY, HYPERCALL_PAGE) does not fit 32 bits.
    case malformedGuestInfo
    /// ELF_PADDR_OFFSET is given without VIRT_BASE (Xen refuses it too).
    case paddrOffsetWithoutVirtBase
    /// BSD_SYMTAB asks for the symbol table, and the image has no SHT_SYMTAB linked to an SHT_STRTAB.
    case bsdSymtabMissing
    /// Neither LOADER starts with "generic" nor GUEST_OS with "linux" (Xen's rule).
    case loaderUnsupported
    /// XEN_VERSION does not start with "xen-3.0" (the value, without NUL).
    case xenVersionUnsupported([UInt8])
    case paeModeMissing
    /// The PAE_MODE note holds something other than yes/bimodal (the value, without NUL).
    case paeModeUnsupported([UInt8])
    /// The kernel requires a feature Apus lacks (the name, without the "!").
    case requiredFeatureMissing([UInt8])
    case virtBaseUnaligned(UInt32)
    case entryOutsideImage(UInt32)
    case hypercallPageUnaligned(UInt32)
    case hypercallPageOutsideImage(UInt32)
    // Layout and parameters.
    /// The initial mapping would end at `end`, at or above HYPERVISOR_VIRT_START.
    case mappingReachesHypervisor(end: UInt64)
    /// The initial mapping needs `needed` pages; the domain has `available`.
    case notEnoughMemory(needed: UInt64, available: UInt64)
    /// The hypervisor's slot-3 L2 entries were not exactly 84 (indices 428-511).
    case badHypervisorEntries(count: Int)
    /// The shared_info machine frame does not fit the 32-bit machine address start_info holds.
    case sharedInfoNotAddressable(UInt32)
    // Acting.
    /// A write to guest memory at machine address `pa` failed; the domain is half built and must be destroyed.
    case writeFailed(pa: UInt64)

    /// One sentence for the log.
    public var reason: StaticString {
        switch self {
        case .notElf: return "the kernel image is not an ELF file: its first bytes are not 0x7F 'E' 'L' 'F'."
        case .notElf32: return "the kernel image is not a 32-bit ELF file (ELFCLASS32)."
        case .notLittleEndian: return "the kernel image is not a little-endian ELF file."
        case .notI386: return "the kernel image is not built for i386 (EM_386)."
        case .notExecutable: return "the kernel image is not an ELF executable (ET_EXEC)."
        case .badProgramHeaders: return "the kernel image's program header table lies outside the file or is malformed."
        case .noLoadableSegment: return "the kernel image has no loadable segment."
        case .segmentOutsideFile: return "a segment of the kernel image names file bytes past the end of the image."
        case .segmentFileLargerThanMemory: return "a loadable segment of the kernel image has more file bytes than memory bytes."
        case .segmentsOverlap: return "two loadable segments of the kernel image overlap."
        case .segmentBelowVirtBase: return "a loadable segment of the kernel image lies below the virtual base its Xen notes declare."
        case .segmentReachesHypervisor: return "a loadable segment of the kernel image reaches the hypervisor's address range at 0xF5800000."
        case .badSectionHeaders: return "the kernel image's section header table lies outside the file, overlaps its headers, or is malformed."
        case .sectionOutsideFile: return "a section of the kernel image names file bytes past the end of the image."
        case .noXenNotes: return "the kernel image has no Xen ELF notes (no PT_NOTE, SHT_NOTE or __xen_guest), so it is not a Xen PV kernel."
        case .malformedNote: return "a note of the kernel image runs past its segment or section or holds a value of the wrong size."
        case .malformedGuestInfo: return "a number in the kernel's __xen_guest section does not fit 32 bits."
        case .paddrOffsetWithoutVirtBase: return "the kernel's notes give ELF_PADDR_OFFSET without VIRT_BASE."
        case .bsdSymtabMissing: return "the kernel asks for its BSD symbol table to be loaded and has no symbol table linked to a string table."
        case .loaderUnsupported: return "the kernel's notes name neither the generic loader nor a Linux guest, the only kinds Xen loads."
        case .xenVersionUnsupported: return "the kernel was not built for Xen 3.0's interface (its XEN_VERSION note is not xen-3.0)."
        case .paeModeMissing: return "the kernel image has no PAE_MODE note: a non-PAE kernel cannot run on this PAE hypervisor."
        case .paeModeUnsupported: return "the kernel image's PAE_MODE is not yes or bimodal: a non-PAE kernel cannot run on this PAE hypervisor."
        case .requiredFeatureMissing: return "the kernel requires a Xen feature this hypervisor does not provide."
        case .virtBaseUnaligned: return "the kernel image's virtual base is not page aligned."
        case .entryOutsideImage: return "the kernel's entry point lies outside its loaded image."
        case .hypercallPageUnaligned: return "the kernel's hypercall page is not page aligned."
        case .hypercallPageOutsideImage: return "the kernel's hypercall page lies outside the loaded image."
        case .mappingReachesHypervisor: return "the initial mapping (image, initrd, P2M, start_info, page tables, stack) would reach the hypervisor's address range."
        case .notEnoughMemory: return "the domain has fewer pages than its initial mapping needs."
        case .badHypervisorEntries: return "the hypervisor must give exactly 84 L2 entries for slots 428 to 511."
        case .sharedInfoNotAddressable: return "the shared_info frame lies above 4 GiB, where start_info cannot name it."
        case .writeFailed: return "a write to the new domain's memory failed; the domain is half built and must be destroyed."
        }
    }
}
