// Reads a 32-bit little-endian i386 ELF executable from a byte buffer: its header and its PT_LOAD and PT_NOTE segments.
// Every header field is checked against the buffer before use; it must never read outside the buffer or copy the image.

/// One program header the builder cares about. Addresses and sizes are the file's, unchecked
/// against any address space: the builder decides where they go.
public struct ElfSegment: Equatable, Sendable {
    /// Position of the header in the program header table (for error messages).
    public let index: Int
    /// p_type: `ElfImage.ptLoad` or `ElfImage.ptNote`.
    public let type: UInt32
    public let vaddr: UInt32
    public let paddr: UInt32
    /// Where the segment's bytes start in the file.
    public let offset: UInt32
    public let fileSize: UInt32
    /// Size in memory; the bytes past `fileSize` are zero (bss).
    public let memSize: UInt32
    /// p_flags: PF_X 1, PF_W 2, PF_R 4.
    public let flags: UInt32

    public var isExecutable: Bool { flags & ElfImage.pfExecute != 0 }
}

/// A parsed ELF32 image. It borrows `bytes`: the buffer must outlive it.
public struct ElfImage {
    public static let ptLoad: UInt32 = 1
    public static let ptNote: UInt32 = 4
    public static let pfExecute: UInt32 = 1
    static let headerSize = 52
    static let programHeaderSize = 32
    static let emI386: UInt16 = 3
    static let etExec: UInt16 = 2
    /// e_phnum value meaning "the real count is elsewhere" (extended numbering), refused.
    static let pnXNum: UInt16 = 0xFFFF

    public let bytes: UnsafeRawBufferPointer
    /// e_entry.
    public let entry: UInt32
    /// PT_LOAD headers with a nonzero memory size, in table order.
    public let loadSegments: [ElfSegment]
    /// PT_NOTE headers, in table order.
    public let noteSegments: [ElfSegment]

    /// Parses and checks `bytes`: the identification, type and machine, the program
    /// header table, and that each PT_LOAD/PT_NOTE's file bytes lie inside the buffer and
    /// no PT_LOAD has more file bytes than memory bytes.
    public init(_ bytes: UnsafeRawBufferPointer) throws(BuildError) {
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw .notElf
        }
        guard bytes.count >= ElfImage.headerSize else { throw .notElf }
        guard bytes[4] == 1 else { throw .notElf32 }
        guard bytes[5] == 1 else { throw .notLittleEndian }
        guard ElfImage.read16(bytes, 18) == ElfImage.emI386 else { throw .notI386 }
        guard ElfImage.read16(bytes, 16) == ElfImage.etExec else { throw .notExecutable }

        let phoff = UInt64(ElfImage.read32(bytes, 28))
        let phentsize = UInt64(ElfImage.read16(bytes, 42))
        let phnum = ElfImage.read16(bytes, 44)
        guard phnum != ElfImage.pnXNum else { throw .badProgramHeaders }
        if phnum > 0 {
            guard phentsize >= UInt64(ElfImage.programHeaderSize),
                  phoff + phentsize * UInt64(phnum) <= UInt64(bytes.count) else { throw .badProgramHeaders }
        }

        var loads: [ElfSegment] = []
        var notes: [ElfSegment] = []
        for index in 0..<Int(phnum) {
            let at = Int(phoff + phentsize * UInt64(index))
            let type = ElfImage.read32(bytes, at)
            guard type == ElfImage.ptLoad || type == ElfImage.ptNote else { continue }
            let segment = ElfSegment(
                index: index, type: type,
                vaddr: ElfImage.read32(bytes, at + 8), paddr: ElfImage.read32(bytes, at + 12),
                offset: ElfImage.read32(bytes, at + 4), fileSize: ElfImage.read32(bytes, at + 16),
                memSize: ElfImage.read32(bytes, at + 20), flags: ElfImage.read32(bytes, at + 24))
            guard UInt64(segment.offset) + UInt64(segment.fileSize) <= UInt64(bytes.count) else {
                throw .segmentOutsideFile(index: index)
            }
            if type == ElfImage.ptLoad {
                guard segment.fileSize <= segment.memSize else { throw .segmentFileLargerThanMemory(index: index) }
                if segment.memSize > 0 { loads.append(segment) }
            } else {
                notes.append(segment)
            }
        }

        self.bytes = bytes
        entry = ElfImage.read32(bytes, 24)
        loadSegments = loads
        noteSegments = notes
    }

    /// The file bytes of a segment this image produced (already checked to lie inside the buffer).
    public func fileBytes(of segment: ElfSegment) -> UnsafeRawBufferPointer {
        let start = Int(segment.offset)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + Int(segment.fileSize)])
    }

    /// Little-endian reads at offsets the caller has bounds-checked.
    static func read16(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    static func read32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}
