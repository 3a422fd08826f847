// Where and how the builder loads a kernel's symbol table after its image when it asks (XEN_ELFNOTE_BSD_SYMTAB), as Xen's libelf does.
// Plans and builds the small header only: it must never write guest memory (the builder copies the tables) or read outside the image.

import PVABI

/// The layout Xen uses (addresses in the guest, all 4-byte aligned), from `start`, the
/// image end rounded up to 4:
///
///     start + 0     UInt32: bytes from start + 4 to the end of the string table
///     start + 4     an ELF header: the kernel's, with e_shoff 64, e_shnum 3, e_shentsize 40,
///                   e_ehsize 52, e_version 1, and no program headers or name table
///     start + 68    section header 0 (zero), 1 (the SYMTAB, sh_link 2), 2 (its STRTAB),
///                   40 bytes each, sh_offset counted from start + 4
///     start + 260   the symbol table (Xen reserves 64 bytes per header whatever the class)
///     aligned to 4  the string table; its end, aligned to 4, is the image's new end
///
/// Xen's size estimate (elf_parse_bsdsyms) counts 40-byte headers and so comes out 72
/// bytes short of what its loader writes; Apus reserves what is written.
public struct BsdSymbolTable: Equatable, Sendable {
    static let headerBytes: UInt32 = 260
    static let elfHeaderAt = 4
    static let sectionHeadersAt = 68

    public let start: UInt32
    public let symtab: ElfSection
    public let strtab: ElfSection

    public var symtabAt: UInt32 { start + BsdSymbolTable.headerBytes }
    public var strtabAt: UInt32 { BsdSymbolTable.align4(symtabAt + symtab.size) }
    /// One past the last byte, 4-byte aligned.
    public var end: UInt32 { BsdSymbolTable.align4(strtabAt + strtab.size) }

    /// The first SHT_SYMTAB whose sh_link names an SHT_STRTAB (as Xen's elf_init picks it),
    /// placed after `imageEnd`. Refuses an image without one, and a table that would
    /// reach the hypervisor's addresses.
    public static func plan(_ image: ElfImage, after imageEnd: UInt32) throws(BuildError) -> BsdSymbolTable {
        let sections = try ElfSections.read(image)
        for symtab in sections where symtab.type == ElfSections.shtSymtab {
            let link = Int(symtab.link)
            guard link >= 1, link < sections.count, sections[link].type == ElfSections.shtStrtab else { continue }
            let strtab = sections[link]
            let start = align4(UInt64(imageEnd))
            let strtabAt = align4(start + UInt64(headerBytes) + UInt64(symtab.size))
            let end = align4(strtabAt + UInt64(strtab.size))
            guard end <= UInt64(XenLayout.hypervisorVirtStart) else { throw .mappingReachesHypervisor(end: end) }
            return BsdSymbolTable(start: UInt32(start), symtab: symtab, strtab: strtab)
        }
        throw .bsdSymtabMissing
    }

    /// The first `headerBytes` bytes to write at `start`.
    public func header(_ image: ElfImage) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: Int(BsdSymbolTable.headerBytes))
        let base = start + UInt32(BsdSymbolTable.elfHeaderAt)
        DomainBuilder.put32(&page, 0, strtabAt + strtab.size - base)
        let e = BsdSymbolTable.elfHeaderAt
        for k in 0..<ElfImage.headerSize { page[e + k] = image.bytes[k] }
        DomainBuilder.put32(&page, e + 20, 1)  // e_version
        DomainBuilder.put32(&page, e + 28, 0)  // e_phoff
        DomainBuilder.put32(&page, e + 32, UInt32(BsdSymbolTable.sectionHeadersAt - e))  // e_shoff
        put16(&page, e + 40, UInt16(ElfImage.headerSize))  // e_ehsize
        put16(&page, e + 42, 0)  // e_phentsize
        put16(&page, e + 44, 0)  // e_phnum
        put16(&page, e + 46, UInt16(ElfSections.sectionHeaderSize))  // e_shentsize
        put16(&page, e + 48, 3)  // e_shnum
        put16(&page, e + 50, 0)  // e_shstrndx
        let size = ElfSections.sectionHeaderSize
        let symAt = BsdSymbolTable.sectionHeadersAt + size
        let strAt = symAt + size
        for k in 0..<size {
            page[symAt + k] = image.bytes[symtab.headerOffset + k]
            page[strAt + k] = image.bytes[strtab.headerOffset + k]
        }
        DomainBuilder.put32(&page, symAt + 16, symtabAt - base)  // sh_offset
        DomainBuilder.put32(&page, symAt + 24, 2)  // sh_link
        DomainBuilder.put32(&page, strAt + 16, strtabAt - base)
        return page
    }

    func put16(_ page: inout [UInt8], _ at: Int, _ value: UInt16) {
        page[at] = UInt8(truncatingIfNeeded: value)
        page[at + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }

    static func align4(_ value: UInt64) -> UInt64 { (value + 3) & ~3 }
    static func align4(_ value: UInt32) -> UInt32 { (value + 3) & ~3 }
}
