// BlockStore.swift: what a blkback disk's sectors live in: a byte range of dom0's virtio disk (read and
// written through the driver's data page) or a file of dom0's initrd (read-only, staged a page at a
// time, its last sector zero-padded). Every sector a store touches was checked against its size by
// the request's decode first; a store never reaches outside its range of the disk.

import ApusCore
import GuestKit
import PVABI

enum BlockStore {
    /// Sectors [first, first + sectors) of the virtio disk.
    case virtio(VirtioBlockDevice, first: UInt64, sectors: UInt64)
    /// A file of the initrd, padded to whole sectors.
    case image(UnsafeBufferPointer<UInt8>, staging: DMAPage)

    /// The page a transfer goes through: dom0's own, so grant copies name its frame.
    var page: DMAPage {
        switch self {
        case .virtio(let d, _, _): return d.data
        case .image(_, let staging): return staging
        }
    }

    var sectors: UInt64 {
        switch self {
        case .virtio(_, _, let n): return n
        case .image(let bytes, _): return (UInt64(bytes.count) + 511) / 512
        }
    }

    var writable: Bool {
        if case .virtio = self { return true }
        return false
    }

    /// One staging page for every initrd disk: dom0 serves one request at a time.
    static var sharedStaging: DMAPage? = nil

    /// The store `spec` names, or why there is none.
    static func open(_ spec: DiskSpec) -> Result<BlockStore, BlockStoreProblem> {
        switch spec.backing {
        case .none:
            return .failure(.noBacking)
        case .virtioRange(let start, let end):
            guard let d = Devices.disk else { return .failure(.noVirtioDisk) }
            guard end / 512 <= d.capacity else { return .failure(.pastVirtioDisk(d.capacity)) }
            return .success(.virtio(d, first: start / 512, sectors: (end - start) / 512))
        case .initrd(let name):
            guard let file = Toolstack.initrd.entry(named: name) else { return .failure(.noInitrdFile) }
            guard file.data.count > 0 else { return .failure(.emptyInitrdFile) }
            if sharedStaging == nil { sharedStaging = DMAPages.take() }
            guard let staging = sharedStaging else { return .failure(.noStagingPage) }
            return .success(.image(file.data, staging: staging))
        }
    }

    /// Reads `count` (1 to 8) sectors from `sector` into the page's first bytes; false on a device error.
    func read(_ sector: UInt64, _ count: Int) -> Bool {
        switch self {
        case .virtio(let d, let first, _):
            return d.transfer(VirtioBlock.read, sector: first + sector, sectors: count) == .ok
        case .image(let bytes, let staging):
            dom0_zero_page(staging.address)
            let from = Int(sector) * 512
            let n = min(count * 512, bytes.count - from)
            guard n > 0, let base = bytes.baseAddress else { return false }
            dom0_copy_bytes(staging.address, UInt32(UInt(bitPattern: base)) + UInt32(from), UInt32(n))
            return true
        }
    }

    /// Writes `count` sectors at `sector` from the page's first bytes; false when refused or failed.
    func write(_ sector: UInt64, _ count: Int) -> Bool {
        guard case .virtio(let d, let first, _) = self else { return false }
        return d.transfer(VirtioBlock.write, sector: first + sector, sectors: count) == .ok
    }

    /// Makes written sectors durable: the device's flush when it offers one (else it writes through).
    func flush() -> Bool {
        guard case .virtio(let d, _, _) = self else { return true }
        guard d.features & VirtioBlock.featureFlush != 0 else { return true }
        return d.transfer(VirtioBlock.flush, sector: 0, sectors: 0) == .ok
    }

    /// What it is, for the log.
    func describe(into line: inout LogLine) {
        switch self {
        case .virtio(_, let first, let n):
            line.append("bytes ")
            line.append(decimal: first * 512)
            line.append("-")
            line.append(decimal: (first + n) * 512)
            line.append(" of dom0's virtio disk")
        case .image(let bytes, _):
            line.append("an initrd file of ")
            line.append(decimal: UInt64(bytes.count))
            line.append(" bytes")
        }
    }
}

enum BlockStoreProblem: Error {
    case noBacking, noVirtioDisk, pastVirtioDisk(UInt64), noInitrdFile, emptyInitrdFile, noStagingPage

    var reason: StaticString {
        switch self {
        case .noBacking: return "its target names no backing dom0 has (use vdisk:START-END or initrd:NAME)"
        case .noVirtioDisk: return "dom0 has no virtio disk for a vdisk: range"
        case .pastVirtioDisk: return "the vdisk: range ends past the end of dom0's virtio disk"
        case .noInitrdFile: return "no such file in dom0's initrd"
        case .emptyInitrdFile: return "the initrd file is empty"
        case .noStagingPage: return "no DMA page left to stage the image"
        }
    }
}
