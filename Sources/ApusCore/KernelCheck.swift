// KernelCheck.swift: whether an image is a pv32pae kernel the domain builder can load, decided from
// the image alone (no domain, no memory): its ELF header and segments, its Xen notes and Xen's gate on
// them, where its segments go and that its entry and hypercall page lie inside them. The builder's
// decode step runs it first; dom0 runs it on a kernel uploaded over its HTTP API before keeping it.
// It only reads the image (bounds-checked by ElfImage) and never writes anywhere.

/// A kernel image that passed the builder's image checks, with what they found.
public struct KernelCheck {
    public let image: ElfImage
    public let notes: XenGuestNotes
    /// PT_LOAD segments with their load addresses, sorted by address.
    public let loads: [(segment: ElfSegment, start: UInt32)]
    /// Where the kernel starts: XEN_ELFNOTE_ENTRY, else e_entry.
    public let entry: UInt32
    /// The loaded image, [imageStart, imageEnd), without a BSD symbol table.
    public let imageStart: UInt32
    public let imageEnd: UInt32
}

extension DomainBuilder {
    /// The checks of a kernel image that need no domain: throws the first refusal, in the order the
    /// builder has always made them.
    public static func checkKernel(_ bytes: UnsafeRawBufferPointer) throws(BuildError) -> KernelCheck {
        let image = try ElfImage(bytes)
        guard !image.loadSegments.isEmpty else { throw .noLoadableSegment }
        let notes = try XenNotes.parse(image)
        try XenNotes.check(notes)

        let virtBase = notes.virtBase
        guard virtBase & 0xFFF == 0 else { throw .virtBaseUnaligned(virtBase) }
        let loads = try placeSegments(image.loadSegments, notes: notes)
        let imageStart = loads[0].start
        var imageEnd: UInt32 = 0
        for load in loads { imageEnd = max(imageEnd, load.start + load.segment.memSize) }

        // Xen's rule (libelf's address check): the entry lies inside the loaded image, in any
        // segment. Linux's startup_xen is in .init.text, inside its RW segment without execute.
        let entry = notes.entry ?? image.entry
        guard entry >= imageStart && entry < imageEnd else { throw .entryOutsideImage(entry) }

        if let page = notes.hypercallPage {
            guard page & 0xFFF == 0 else { throw .hypercallPageUnaligned(page) }
            guard page >= imageStart, UInt64(page) + DomainLayout.pageSize <= UInt64(imageEnd) else {
                throw .hypercallPageOutsideImage(page)
            }
        }
        return KernelCheck(image: image, notes: notes, loads: loads, entry: entry, imageStart: imageStart, imageEnd: imageEnd)
    }
}
