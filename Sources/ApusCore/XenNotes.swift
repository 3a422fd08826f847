// Reads the Xen ELF notes of a PV kernel as Xen does (PT_NOTE segments, else SHT_NOTE sections, else `__xen_guest`) and checks them.
// Every note size is checked against its segment or section; it must never read outside the image or accept a kernel needing a missing feature.

import PVABI

/// Where the loader found a kernel's Xen notes (Xen's order of preference).
public enum XenNoteSource: Equatable, Sendable {
    /// PT_NOTE program headers (current kernels).
    case segments
    /// SHT_NOTE sections, no PT_NOTE carrying Xen notes (Mini-OS).
    case sections
    /// The legacy `__xen_guest` section: "NAME=VALUE,..." (old kernels).
    case guestInfo
}

/// What a kernel's Xen notes say about it. Strings are the note's bytes up to the first NUL.
public struct XenGuestNotes: Equatable, Sendable {
    public var source: XenNoteSource = .segments
    /// XEN_ELFNOTE_ENTRY; nil when absent (the ELF e_entry applies).
    public var entry: UInt32? = nil
    /// XEN_ELFNOTE_HYPERCALL_PAGE; nil when the kernel wants none.
    public var hypercallPage: UInt32? = nil
    /// XEN_ELFNOTE_VIRT_BASE (0 when absent, as in Xen).
    public var virtBase: UInt32 = 0
    /// XEN_ELFNOTE_PADDR_OFFSET. When absent: 0 for notes, virt_base for `__xen_guest`
    /// (Xen's compatibility rule for old kernels whose p_paddr holds the virtual address).
    public var paddrOffset: UInt32 = 0
    /// Whether VIRT_BASE / PADDR_OFFSET were stated (Xen refuses PADDR_OFFSET without VIRT_BASE).
    public var virtBaseGiven: Bool = false
    public var paddrOffsetGiven: Bool = false
    public var xenVersion: [UInt8] = []
    public var guestOS: [UInt8] = []
    public var guestVersion: [UInt8] = []
    public var loader: [UInt8] = []
    /// XEN_ELFNOTE_PAE_MODE; nil when absent.
    public var paeMode: [UInt8]? = nil
    /// Every feature the FEATURES note lists, without any "!".
    public var supportedFeatures: [[UInt8]] = []
    /// The features listed with a leading "!": the kernel cannot run without them.
    public var requiredFeatures: [[UInt8]] = []
    /// XEN_ELFNOTE_BSD_SYMTAB is "yes" (`BSD_SYMTAB` in `__xen_guest`): the builder loads
    /// the symbol table after the image (`BsdSymbolTable`).
    public var bsdSymtab: Bool = false
    /// MOD_START_PFN: the kernel takes its initrd's start_info.mod_start as a PFN (SIF_MOD_START_PFN).
    public var modStartPFN: Bool = false
    /// How many notes owned by "Xen" were seen.
    public var count: Int = 0

    public init() {}
}

public enum XenNotes {
    /// The features a pv32pae kernel may require on Apus. Anything else it requires
    /// (auto_translated_physmap, supervisor_mode_kernel, hvm_callback_vector, dom0, ...) is missing.
    public static let providedFeatures: [StaticString] = [
        "writable_page_tables",
        "writable_descriptor_tables",
        "pae_pgdir_above_4gb",
    ]

    /// Reads every Xen note of `image` as Xen's libelf does: the notes of every PT_NOTE
    /// segment (one at file offset 0 is skipped, a binutils quirk Xen ignores too); when
    /// they hold no Xen note, those of every SHT_NOTE section; when neither does, the
    /// `__xen_guest` section. Throws `.noXenNotes` when all three are empty,
    /// `.malformedNote` when a note runs past its segment or section or a numeric note is
    /// not 4 or 8 bytes or does not fit 32 bits, `.malformedGuestInfo` for a `__xen_guest`
    /// number past 32 bits, `.badSectionHeaders`/`.sectionOutsideFile` when the section
    /// table is needed and broken, `.paddrOffsetWithoutVirtBase` as Xen does.
    public static func parse(_ image: ElfImage) throws(BuildError) -> XenGuestNotes {
        var notes = XenGuestNotes()
        for segment in image.noteSegments where segment.offset != 0 {
            try parse(segment: image.fileBytes(of: segment), index: segment.index, into: &notes)
        }
        if notes.count == 0 {
            let sections = try ElfSections.read(image)
            notes = XenGuestNotes()
            notes.source = .sections
            for section in sections.dropFirst() where section.type == ElfSections.shtNote {
                try parse(segment: ElfSections.fileBytes(of: section, in: image), index: section.index, into: &notes)
            }
            if notes.count == 0, let guest = ElfSections.named("__xen_guest", in: sections, image: image) {
                notes = XenGuestNotes()
                try XenGuestInfo.parse(ElfSections.fileBytes(of: guest, in: image), into: &notes)
            }
        }
        guard notes.count > 0 else { throw .noXenNotes }
        guard !notes.paddrOffsetGiven || notes.virtBaseGiven else { throw .paddrOffsetWithoutVirtBase }
        if !notes.paddrOffsetGiven && notes.source == .guestInfo { notes.paddrOffset = notes.virtBase }
        return notes
    }

    /// Walks the notes of one PT_NOTE segment or SHT_NOTE section: namesz, descsz, type (32 bits each), then the
    /// name and the description, each padded to 4 bytes. Notes of other owners are skipped.
    static func parse(segment bytes: UnsafeRawBufferPointer, index: Int, into notes: inout XenGuestNotes) throws(BuildError) {
        let size = UInt64(bytes.count)
        var at: UInt64 = 0
        // Fewer than 12 bytes left is padding, not a note.
        while at + 12 <= size {
            let nameSize = UInt64(ElfImage.read32(bytes, Int(at)))
            let descSize = UInt64(ElfImage.read32(bytes, Int(at) + 4))
            let type = ElfImage.read32(bytes, Int(at) + 8)
            let nameAt = at + 12
            let descAt = nameAt + align4(nameSize)
            let next = descAt + align4(descSize)
            guard descAt + descSize <= size else { throw .malformedNote(segment: index) }
            let name = UnsafeRawBufferPointer(rebasing: bytes[Int(nameAt)..<Int(nameAt + nameSize)])
            let desc = UnsafeRawBufferPointer(rebasing: bytes[Int(descAt)..<Int(descAt + descSize)])
            if isXen(name) {
                notes.count += 1
                try apply(type: type, desc: desc, segment: index, to: &notes)
            }
            at = next
        }
    }

    /// The owner name is "Xen", with or without its NUL counted.
    static func isXen(_ name: UnsafeRawBufferPointer) -> Bool {
        guard name.count == 3 || name.count == 4 else { return false }
        guard name[0] == 0x58, name[1] == 0x65, name[2] == 0x6E else { return false }
        return name.count == 3 || name[3] == 0
    }

    static func apply(type: UInt32, desc: UnsafeRawBufferPointer, segment: Int, to notes: inout XenGuestNotes) throws(BuildError) {
        guard let kind = XenElfNote(rawValue: type) else { return }
        switch kind {
        case .entry: notes.entry = try numeric(desc, segment: segment)
        case .hypercallPage: notes.hypercallPage = try numeric(desc, segment: segment)
        case .virtBase:
            notes.virtBase = try numeric(desc, segment: segment)
            notes.virtBaseGiven = true
        case .paddrOffset:
            notes.paddrOffset = try numeric(desc, segment: segment)
            notes.paddrOffsetGiven = true
        case .xenVersion: notes.xenVersion = string(desc)
        case .guestOS: notes.guestOS = string(desc)
        case .guestVersion: notes.guestVersion = string(desc)
        case .loader: notes.loader = string(desc)
        case .paeMode: notes.paeMode = string(desc)
        case .features: parseFeatures(string(desc), into: &notes)
        case .bsdSymtab: notes.bsdSymtab = string(desc) == [0x79, 0x65, 0x73]
        case .modStartPFN: notes.modStartPFN = try numeric(desc, segment: segment) != 0
        default: break
        }
    }

    /// A numeric note: 4 or 8 bytes, little-endian, fitting 32 bits.
    static func numeric(_ desc: UnsafeRawBufferPointer, segment: Int) throws(BuildError) -> UInt32 {
        switch desc.count {
        case 4:
            return ElfImage.read32(desc, 0)
        case 8:
            guard ElfImage.read32(desc, 4) == 0 else { throw .malformedNote(segment: segment) }
            return ElfImage.read32(desc, 0)
        default:
            throw .malformedNote(segment: segment)
        }
    }

    /// The bytes up to the first NUL.
    static func string(_ desc: UnsafeRawBufferPointer) -> [UInt8] {
        var result: [UInt8] = []
        for byte in desc {
            if byte == 0 { break }
            result.append(byte)
        }
        return result
    }

    /// Splits "a|!b|c" into supported [a, b, c] and required [b]. Empty names are skipped.
    static func parseFeatures(_ text: [UInt8], into notes: inout XenGuestNotes) {
        var name: [UInt8] = []
        var required = false
        for k in 0...text.count {
            if k == text.count || text[k] == 0x7C {  // "|"
                if !name.isEmpty {
                    notes.supportedFeatures.append(name)
                    if required { notes.requiredFeatures.append(name) }
                }
                name = []
                required = false
            } else if text[k] == 0x21 && name.isEmpty && !required {  // leading "!"
                required = true
            } else {
                name.append(text[k])
            }
        }
    }

    /// Checks that Apus can run the kernel: Xen's own gate first (LOADER starting "generic"
    /// or GUEST_OS starting "linux", and XEN_VERSION starting "xen-3.0"), then PAE mode
    /// "yes", "yes[extended-cr3]" or "bimodal" (with or without "[extended-cr3]"), and every
    /// required feature provided.
    public static func check(_ notes: XenGuestNotes) throws(BuildError) {
        guard startsWith(notes.loader, "generic") || startsWith(notes.guestOS, "linux") else { throw .loaderUnsupported }
        guard startsWith(notes.xenVersion, "xen-3.0") else { throw .xenVersionUnsupported(notes.xenVersion) }
        guard let pae = notes.paeMode else { throw .paeModeMissing }
        guard isAcceptedPAEMode(pae) else { throw .paeModeUnsupported(pae) }
        for feature in notes.requiredFeatures where !isProvided(feature) {
            throw .requiredFeatureMissing(feature)
        }
    }

    static func isAcceptedPAEMode(_ mode: [UInt8]) -> Bool {
        for accepted: StaticString in ["yes", "yes[extended-cr3]", "bimodal", "bimodal[extended-cr3]"] where equals(mode, accepted) {
            return true
        }
        return false
    }

    public static func isProvided(_ feature: [UInt8]) -> Bool {
        for provided in providedFeatures where equals(feature, provided) {
            return true
        }
        return false
    }

    static func startsWith(_ bytes: [UInt8], _ text: StaticString) -> Bool {
        text.withUTF8Buffer { utf8 in
            guard utf8.count <= bytes.count else { return false }
            for k in 0..<utf8.count where bytes[k] != utf8[k] { return false }
            return true
        }
    }

    static func equals(_ bytes: [UInt8], _ text: StaticString) -> Bool {
        text.withUTF8Buffer { utf8 in
            guard utf8.count == bytes.count else { return false }
            for k in 0..<bytes.count where bytes[k] != utf8[k] { return false }
            return true
        }
    }

    static func align4(_ value: UInt64) -> UInt64 { (value + 3) & ~3 }
}
