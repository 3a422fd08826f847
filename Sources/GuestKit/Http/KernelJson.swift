// KernelJson.swift: the Kernel object of dom0's HTTP API (docs/openapi.json): a kernel's name, size,
// where it is kept (initrd or upload) and what its ELF header and Xen notes say. Writing only.

import ApusCore

public enum KernelSource: Equatable, Sendable {
    case initrd, upload
}

public enum KernelJson {
    public static func write(name: [UInt8], source: KernelSource, info: KernelInfo, into w: inout JsonWriter) {
        w.beginObject()
        w.key("name"); w.string(name)
        w.key("size"); w.integer(UInt64(info.size))
        w.key("source"); w.string(source == .initrd ? "initrd" : "upload")
        w.key("entry"); w.integer(UInt64(info.entry))
        w.key("virt_base"); w.integer(UInt64(info.virtBase))
        w.key("image_start"); w.integer(UInt64(info.imageStart))
        w.key("image_end"); w.integer(UInt64(info.imageEnd))
        if let page = info.hypercallPage { w.key("hypercall_page"); w.integer(UInt64(page)) }
        w.key("xen_notes"); w.beginObject()
        w.key("found_in")
        switch info.notes.source {
        case .segments: w.string("segments")
        case .sections: w.string("sections")
        case .guestInfo: w.string("__xen_guest")
        }
        w.key("guest_os"); w.string(info.notes.guestOS)
        w.key("guest_version"); w.string(info.notes.guestVersion)
        w.key("xen_version"); w.string(info.notes.xenVersion)
        w.key("loader"); w.string(info.notes.loader)
        w.key("pae_mode"); w.string(info.notes.paeMode ?? [])
        w.key("features"); w.beginArray()
        for f in info.notes.supportedFeatures {
            let required = info.notes.requiredFeatures.contains(f)
            w.string(required ? [33] + f : f)
        }
        w.endArray()
        w.endObject()
        w.endObject()
    }
}
