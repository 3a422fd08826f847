// Reads the section header table of an ELF32 image: where notes, the symbol table and `__xen_guest` live when no PT_NOTE says so.
// Every field is checked against the buffer with 64-bit sums before use; it must never read outside the image or trap on any bytes.

/// One section header the loader cares about. Offsets and sizes are already checked to lie
/// inside the file for every type but SHT_NOBITS.
public struct ElfSection: Equatable, Sendable {
    /// Position in the section header table (for error messages and sh_link).
    public let index: Int
    /// sh_name: offset of the name in the section-name string table.
    public let nameOffset: UInt32
    /// sh_type: `ElfSections.shtNote`, `.shtSymtab`, `.shtStrtab`, ...
    public let type: UInt32
    public let offset: UInt32
    public let size: UInt32
    /// sh_link (for a symbol table: the index of its string table).
    public let link: UInt32
    /// Where this header's 40 bytes start in the file (the symbol-table loader copies them).
    public let headerOffset: Int
}

public enum ElfSections {
    public static let shtSymtab: UInt32 = 2
    public static let shtStrtab: UInt32 = 3
    public static let shtNote: UInt32 = 7
    public static let shtNobits: UInt32 = 8
    static let sectionHeaderSize = 40

    /// Every section header of `image`, in table order. No table (e_shnum 0, or e_shoff 0)
    /// is an empty list. Refuses a table that lies outside the file, has entries smaller than
    /// 40 bytes, or overlaps the ELF header or the program header table, and a section
    /// (other than SHT_NOBITS) whose bytes run past the end of the file.
    public static func read(_ image: ElfImage) throws(BuildError) -> [ElfSection] {
        let bytes = image.bytes
        let shoff = UInt64(ElfImage.read32(bytes, 32))
        let shentsize = UInt64(ElfImage.read16(bytes, 46))
        let shnum = UInt64(ElfImage.read16(bytes, 48))
        guard shnum > 0, shoff != 0 else { return [] }
        guard shentsize >= UInt64(sectionHeaderSize) else { throw .badSectionHeaders }
        let tableEnd = shoff + shentsize * shnum
        guard tableEnd <= UInt64(bytes.count) else { throw .badSectionHeaders }
        guard shoff >= UInt64(ElfImage.headerSize) else { throw .badSectionHeaders }
        let phoff = UInt64(ElfImage.read32(bytes, 28))
        let phEnd = phoff + UInt64(ElfImage.read16(bytes, 42)) * UInt64(ElfImage.read16(bytes, 44))
        if phEnd > phoff, shoff < phEnd, phoff < tableEnd { throw .badSectionHeaders }

        var sections: [ElfSection] = []
        for index in 0..<Int(shnum) {
            let at = Int(shoff + shentsize * UInt64(index))
            let section = ElfSection(
                index: index, nameOffset: ElfImage.read32(bytes, at), type: ElfImage.read32(bytes, at + 4),
                offset: ElfImage.read32(bytes, at + 16), size: ElfImage.read32(bytes, at + 20),
                link: ElfImage.read32(bytes, at + 24), headerOffset: at)
            if section.type != shtNobits && section.type != 0 {
                guard UInt64(section.offset) + UInt64(section.size) <= UInt64(bytes.count) else {
                    throw .sectionOutsideFile(index: index)
                }
            }
            sections.append(section)
        }
        return sections
    }

    /// The file bytes of a section `read` returned (not SHT_NOBITS: those have none).
    public static func fileBytes(of section: ElfSection, in image: ElfImage) -> UnsafeRawBufferPointer {
        guard section.type != shtNobits, section.type != 0 else { return UnsafeRawBufferPointer(rebasing: image.bytes[0..<0]) }
        let start = Int(section.offset)
        return UnsafeRawBufferPointer(rebasing: image.bytes[start..<start + Int(section.size)])
    }

    /// The first section called `name`, looked up in the string table e_shstrndx names.
    /// Nil when there is no such section or no usable string table.
    public static func named(_ name: StaticString, in sections: [ElfSection], image: ElfImage) -> ElfSection? {
        let index = Int(ElfImage.read16(image.bytes, 50))
        guard index > 0, index < sections.count, sections[index].type == shtStrtab else { return nil }
        let table = fileBytes(of: sections[index], in: image)
        for section in sections where matches(name, table: table, at: UInt64(section.nameOffset)) {
            return section
        }
        return nil
    }

    /// Whether the NUL-terminated string at `at` in `table` is exactly `name`.
    static func matches(_ name: StaticString, table: UnsafeRawBufferPointer, at: UInt64) -> Bool {
        name.withUTF8Buffer { utf8 in
            guard at + UInt64(utf8.count) < UInt64(table.count) else { return false }
            let start = Int(at)
            for k in 0..<utf8.count where table[start + k] != utf8[k] { return false }
            return table[start + utf8.count] == 0
        }
    }
}
