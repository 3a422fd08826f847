// Kernels.swift: where a domain's kernel image comes from: an upload kept in dom0's memory (POST
// /v1/kernels, GuestKit's KernelStore decides what is kept) or a file in dom0's initrd. Names are one
// namespace (the store refuses an upload named like an initrd file), so a name finds at most one.
// It only looks images up; it never builds a domain and never changes the initrd.

import ApusCore
import GuestKit

enum Kernels {
    /// The uploaded kernels.
    static var uploads = KernelStore()
    /// The body limit of POST /v1/kernels (HttpServer's parsers); other requests keep 64 KiB.
    static let maxUploadBytes = 1024 * 1024

    static func inInitrd(_ name: [UInt8]) -> Bool { Toolstack.initrd.entry(named: name) != nil }

    static func exists(_ name: [UInt8]) -> Bool { uploads.kernel(named: name) != nil || inInitrd(name) }

    /// Runs `body` with the image named `name` (an upload, else an initrd file); nil when there is none.
    static func withImage<R>(named name: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        if let k = uploads.kernel(named: name) { return k.bytes.withUnsafeBufferPointer { body($0) } }
        guard let file = Toolstack.initrd.entry(named: name) else { return nil }
        return body(file.data)
    }

    /// The initrd's files that are kernels the builder would load, with what its checks found.
    static func initrdKernels() -> [(name: [UInt8], info: KernelInfo)] {
        var out: [(name: [UInt8], info: KernelInfo)] = []
        for e in Toolstack.initrd.entries() ?? [] where e.data.count >= 4 && e.data[0] == 0x7F && e.data[1] == 0x45 {
            if case .success(let info) = KernelInfo.inspect(UnsafeRawBufferPointer(e.data)) { out.append((Array(e.name), info)) }
        }
        return out
    }
}
