// KernelStore.swift: the rules for kernels uploaded to dom0 over its HTTP API (POST /v1/kernels) and
// kept in its memory: a name (given or generated) unique across the uploads and the initrd's files,
// an image the domain builder would load (DomainBuilder.checkKernel), and limits on how many and how
// many bytes are kept; deleting frees one. Pure: the initrd is asked through a function, and nothing
// here logs or builds a domain. It never keeps an image it has not checked.

import ApusCore

/// What the builder's image checks found in a kernel, as the API reports it.
public struct KernelInfo: Equatable, Sendable {
    public var size: Int
    public var entry: UInt32
    public var virtBase: UInt32
    public var hypercallPage: UInt32?
    public var imageStart: UInt32
    public var imageEnd: UInt32
    public var notes: XenGuestNotes

    /// The kernel in `bytes` as the domain builder's image checks see it, or their refusal.
    public static func inspect(_ bytes: UnsafeRawBufferPointer) -> Result<KernelInfo, BuildError> {
        do throws(BuildError) {
            let k = try DomainBuilder.checkKernel(bytes)
            return .success(KernelInfo(size: bytes.count, entry: k.entry, virtBase: k.notes.virtBase, hypercallPage: k.notes.hypercallPage,
                                       imageStart: k.imageStart, imageEnd: k.imageEnd, notes: k.notes))
        } catch {
            return .failure(error)
        }
    }

    public static func inspect(_ bytes: [UInt8]) -> Result<KernelInfo, BuildError> {
        bytes.withUnsafeBytes { inspect($0) }
    }
}

/// An uploaded kernel: its name, its image and what the checks found.
public struct StoredKernel: Sendable {
    public let name: [UInt8]
    public let bytes: [UInt8]
    public let info: KernelInfo
}

/// Why the store refused an upload or a delete, with the HTTP status it gets.
public enum KernelRefusal: Error, Equatable, Sendable {
    /// The name breaks KernelName's rule (400).
    case badName
    /// An upload or an initrd file has that name (409).
    case nameTaken
    /// The body is not a kernel the builder would load (422), with the builder's reason.
    case notKernel(BuildError)
    /// `maxKernels` are kept already (507).
    case tooMany
    /// Keeping it would pass `maxTotalBytes` (507).
    case tooLarge
    /// No upload and no initrd kernel has that name (404).
    case noSuchKernel
    /// The name is an initrd file: only uploads can be deleted (409).
    case inInitrd

    public var status: UInt16 {
        switch self {
        case .badName: return 400
        case .nameTaken, .inInitrd: return 409
        case .notKernel: return 422
        case .tooMany, .tooLarge: return 507
        case .noSuchKernel: return 404
        }
    }

    /// The sentence for the `error` member.
    public var message: [UInt8] {
        func text(_ s: StaticString) -> [UInt8] { HttpBytes.bytes(s) }
        switch self {
        case .badName: return text("a kernel name is 1-64 of A-Z a-z 0-9 . _ - and does not start with '.'")
        case .nameTaken: return text("a kernel with that name exists (uploaded, or a file in dom0's initrd)")
        case .notKernel(let e): return text("the body is not a loadable 32-bit PAE PV kernel: ") + text(e.reason)
        case .tooMany: return text("dom0 keeps at most 4 uploaded kernels: delete one first")
        case .tooLarge: return text("dom0 keeps at most 2 MiB of uploaded kernels: delete one first")
        case .noSuchKernel: return text("no such kernel")
        case .inInitrd: return text("the kernel is a file in dom0's initrd; only uploaded kernels can be deleted")
        }
    }
}

public struct KernelStore: Sendable {
    public static let maxKernels = 4
    public static let maxTotalBytes = 2 * 1024 * 1024

    /// In upload order.
    public private(set) var kernels: [StoredKernel] = []
    /// The last number a generated name (kernel-N) used.
    var generated: UInt32 = 0

    public init() {}

    public var totalBytes: Int { kernels.reduce(0) { $0 + $1.bytes.count } }

    public func kernel(named name: [UInt8]) -> StoredKernel? {
        kernels.first { $0.name == name }
    }

    /// Keeps `bytes` as an upload named `name` (nil: the next free kernel-N). Checked in this order:
    /// the name's rule (400), the name free among uploads and initrd files (409), the image (422), then
    /// room (507). `inInitrd` says whether the initrd holds a file of a name.
    public mutating func add(_ bytes: [UInt8], name: [UInt8]?, inInitrd: ([UInt8]) -> Bool) -> Result<StoredKernel, KernelRefusal> {
        let chosen: [UInt8]
        if let name {
            guard KernelName.isValid(name) else { return .failure(.badName) }
            guard kernel(named: name) == nil, !inInitrd(name) else { return .failure(.nameTaken) }
            chosen = name
        } else {
            var n = generated
            var candidate: [UInt8]
            repeat {
                n &+= 1
                candidate = HttpBytes.bytes("kernel-")
                HttpResponse.appendDecimal(&candidate, UInt64(n))
            } while kernel(named: candidate) != nil || inInitrd(candidate)
            generated = n
            chosen = candidate
        }
        let info: KernelInfo
        switch KernelInfo.inspect(bytes) {
        case .success(let i): info = i
        case .failure(let e): return .failure(.notKernel(e))
        }
        guard kernels.count < Self.maxKernels else { return .failure(.tooMany) }
        guard bytes.count <= Self.maxTotalBytes - totalBytes else { return .failure(.tooLarge) }
        let k = StoredKernel(name: chosen, bytes: bytes, info: info)
        kernels.append(k)
        return .success(k)
    }

    /// Forgets the upload named `name` (its bytes are freed once no one holds them): 404 when there is
    /// none, 409 when the name is an initrd file.
    public mutating func remove(named name: [UInt8], inInitrd: ([UInt8]) -> Bool) -> Result<StoredKernel, KernelRefusal> {
        guard let i = kernels.firstIndex(where: { $0.name == name }) else {
            return .failure(inInitrd(name) ? .inInitrd : .noSuchKernel)
        }
        return .success(kernels.remove(at: i))
    }
}
