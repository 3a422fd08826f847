// Synthesizes small ELF32 i386 images in memory (chosen segments, Xen notes, broken headers) for the builder's tests.
// Test-only: it must never be used to judge an image; it writes what it is told, right or wrong.

import PVABI

struct ElfTestImage {
    struct Segment {
        var type: UInt32 = 1
        var vaddr: UInt32
        /// Nil: the same as vaddr.
        var paddr: UInt32? = nil
        /// PF_X 1, PF_W 2, PF_R 4.
        var flags: UInt32
        var data: [UInt8]
        /// Nil: data.count.
        var memSize: UInt32? = nil
    }

    struct Note {
        var name: [UInt8] = [0x58, 0x65, 0x6E, 0]  // "Xen\0"
        var type: UInt32
        var desc: [UInt8]
    }

    /// A section: header index = its position in `sections` + 1 (0 is the null section).
    struct Section {
        var name: String
        var type: UInt32
        var data: [UInt8]
        var link: UInt32 = 0
    }

    var elfClass: UInt8 = 1
    var dataEncoding: UInt8 = 1
    var type: UInt16 = 2
    var machine: UInt16 = 3
    var entry: UInt32
    /// Program headers 0..<segments.count, in this order.
    var segments: [Segment]
    /// All in one PT_NOTE, the last program header; none when empty.
    var notes: [Note]
    /// Sections after the null one; when this or `sectionNotes` is not empty the image gets
    /// a section header table (at the end of the file) and a ".shstrtab" as its last section.
    var sections: [Section] = []
    /// All in one SHT_NOTE section ".note", after `sections`; none when empty.
    var sectionNotes: [Note] = []

    static let headerSize = 52
    static let phdrSize = 32

    /// Offset of program header `index` in the file.
    static func phdrOffset(_ index: Int) -> Int { headerSize + index * phdrSize }

    var phdrCount: Int { segments.count + (notes.isEmpty ? 0 : 1) }

    func bytes() -> [UInt8] {
        var noteBytes: [UInt8] = []
        for note in notes { noteBytes += ElfTestImage.encode(note) }
        var out = [UInt8](repeating: 0, count: ElfTestImage.headerSize + phdrCount * ElfTestImage.phdrSize)
        out[0] = 0x7F; out[1] = 0x45; out[2] = 0x4C; out[3] = 0x46
        out[4] = elfClass; out[5] = dataEncoding; out[6] = 1
        put16(&out, 16, type)
        put16(&out, 18, machine)
        put32(&out, 20, 1)
        put32(&out, 24, entry)
        put32(&out, 28, UInt32(ElfTestImage.headerSize))
        put16(&out, 40, UInt16(ElfTestImage.headerSize))
        put16(&out, 42, UInt16(ElfTestImage.phdrSize))
        put16(&out, 44, UInt16(phdrCount))

        func append(_ data: [UInt8]) -> UInt32 {
            while out.count % 16 != 0 { out.append(0) }
            let offset = UInt32(out.count)
            out += data
            return offset
        }
        for (k, segment) in segments.enumerated() {
            let offset = append(segment.data)
            let at = ElfTestImage.phdrOffset(k)
            put32(&out, at, segment.type)
            put32(&out, at + 4, offset)
            put32(&out, at + 8, segment.vaddr)
            put32(&out, at + 12, segment.paddr ?? segment.vaddr)
            put32(&out, at + 16, UInt32(segment.data.count))
            put32(&out, at + 20, segment.memSize ?? UInt32(segment.data.count))
            put32(&out, at + 24, segment.flags)
            put32(&out, at + 28, 0x1000)
        }
        if !notes.isEmpty {
            let offset = append(noteBytes)
            let at = ElfTestImage.phdrOffset(segments.count)
            put32(&out, at, 4)
            put32(&out, at + 4, offset)
            put32(&out, at + 16, UInt32(noteBytes.count))
            put32(&out, at + 24, 4)
            put32(&out, at + 28, 4)
        }
        var all = sections
        if !sectionNotes.isEmpty {
            var data: [UInt8] = []
            for note in sectionNotes { data += ElfTestImage.encode(note) }
            all.append(Section(name: ".note", type: 7, data: data))
        }
        guard !all.isEmpty else { return out }
        all.append(Section(name: ".shstrtab", type: 3, data: []))
        var names: [UInt8] = [0]
        var nameOffsets: [UInt32] = []
        for section in all {
            nameOffsets.append(UInt32(names.count))
            names += Array(section.name.utf8) + [0]
        }
        all[all.count - 1].data = names
        var offsets: [UInt32] = []
        for section in all { offsets.append(append(section.data)) }
        let shoff = append([])
        out += [UInt8](repeating: 0, count: 40 * (all.count + 1))
        for (k, section) in all.enumerated() {
            let at = Int(shoff) + 40 * (k + 1)
            put32(&out, at, nameOffsets[k])
            put32(&out, at + 4, section.type)
            put32(&out, at + 16, offsets[k])
            put32(&out, at + 20, UInt32(section.data.count))
            put32(&out, at + 24, section.link)
            put32(&out, at + 32, 4)
        }
        put32(&out, 32, shoff)
        put16(&out, 46, 40)
        put16(&out, 48, UInt16(all.count + 1))
        put16(&out, 50, UInt16(all.count))
        return out
    }

    /// Offset of section header `index` in `bytes()` (0 when the image has no table).
    static func shdrOffset(_ bytes: [UInt8], _ index: Int) -> Int {
        let shoff = Int(bytes[32]) | Int(bytes[33]) << 8 | Int(bytes[34]) << 16 | Int(bytes[35]) << 24
        return shoff + 40 * index
    }

    static func encode(_ note: Note) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 12)
        put32(&out, 0, UInt32(note.name.count))
        put32(&out, 4, UInt32(note.desc.count))
        put32(&out, 8, note.type)
        out += note.name
        while out.count % 4 != 0 { out.append(0) }
        out += note.desc
        while out.count % 4 != 0 { out.append(0) }
        return out
    }

    static func string(_ type: XenElfNote, _ text: String) -> Note {
        Note(type: type.rawValue, desc: Array(text.utf8) + [0])
    }

    static func numeric(_ type: XenElfNote, _ value: UInt32) -> Note {
        var desc = [UInt8](repeating: 0, count: 4)
        put32(&desc, 0, value)
        return Note(type: type.rawValue, desc: desc)
    }

    static func numeric64(_ type: XenElfNote, _ value: UInt64) -> Note {
        var desc = [UInt8](repeating: 0, count: 8)
        put32(&desc, 0, UInt32(truncatingIfNeeded: value))
        put32(&desc, 4, UInt32(truncatingIfNeeded: value >> 32))
        return Note(type: type.rawValue, desc: desc)
    }

    // A well-formed pv32pae kernel, as the builder tests use it:
    // text 0x100000-0x102000 (R+X; the hypercall page is its second page), data 0x102000
    // with 0x180 file bytes and 0x3000 in memory (bss to 0x105000).
    static let textStart: UInt32 = 0x10_0000
    static let hypercallPage: UInt32 = 0x10_1000
    static let dataStart: UInt32 = 0x10_2000
    static let dataFileSize = 0x180
    static let dataMemSize: UInt32 = 0x3000
    static let entryPoint: UInt32 = 0x10_0040

    /// Recognisable file bytes, different per segment.
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) | 1 }
    }

    static func standardNotes() -> [Note] {
        [
            string(.guestOS, "Apus-test"),
            string(.guestVersion, "0.1"),
            string(.xenVersion, "xen-3.0"),
            string(.loader, "generic"),
            numeric(.virtBase, 0),
            numeric(.paddrOffset, 0),
            numeric(.entry, entryPoint),
            numeric(.hypercallPage, hypercallPage),
            string(.paeMode, "yes"),
            string(.features, "!writable_page_tables|pae_pgdir_above_4gb"),
        ]
    }

    static func standard() -> ElfTestImage {
        ElfTestImage(
            entry: entryPoint,
            segments: [
                Segment(vaddr: textStart, flags: 5, data: pattern(0x2000, seed: 0x11)),
                Segment(vaddr: dataStart, flags: 6, data: pattern(dataFileSize, seed: 0x22), memSize: dataMemSize),
            ],
            notes: standardNotes())
    }

    /// The standard image with the note of `type` replaced by `note` (or removed when nil).
    static func standard(replacing type: XenElfNote, with note: Note?) -> ElfTestImage {
        var image = standard()
        image.notes.removeAll { $0.type == type.rawValue }
        if let note { image.notes.append(note) }
        return image
    }
}

func put16(_ bytes: inout [UInt8], _ at: Int, _ value: UInt16) {
    bytes[at] = UInt8(value & 0xFF)
    bytes[at + 1] = UInt8(value >> 8)
}

func put32(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
    for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
}
