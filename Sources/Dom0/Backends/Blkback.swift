// Blkback.swift: dom0's block backend for one domU disk (Xen's blkif over a one-page ring the frontend
// grants, as Linux's xen-blkback serves it): the xenbus handshake (XenbusBackend decides, this file
// writes the nodes and maps the ring), then each request copied out of the ring once, decoded and
// checked (BlockRequest), its data moved with grant copies between the frontend's pages and dom0's
// staging page, and answered. It must never touch a sector outside its disk, never read a request
// twice from the shared page, and never let one frontend's garbage stop dom0: a bad request gets an
// error response, a garbage ring index disconnects that ring alone.

import ApusCore
import GuestKit
import PVABI

final class BlockBackend: SplitBackend {
    let domain: UInt16
    let spec: DiskSpec
    let nodes: BackendNodes
    let store: BlockStore
    let disk: BlockDisk
    var handshake = XenbusBackend()
    /// The frontend's `state` value as last read (nil: not read yet or absent).
    var frontState: [UInt8]? = nil
    var ring: GrantMapping? = nil
    var port: UInt32 = 0
    var indexes = BackendRing(size: SharedRingLayout.entries(entryBytes: BlkifLayout.entryBytes))!
    /// One request, copied out of the ring before it is decoded.
    var entry = [UInt8](repeating: 0, count: BlkifLayout.requestBytes)

    var reads: UInt64 = 0, writes: UInt64 = 0, flushes: UInt64 = 0, refused: UInt64 = 0
    var sectorsRead: UInt64 = 0, sectorsWritten: UInt64 = 0
    var shownFirst = false, shownLast = false

    static let maxRefusalsShown: UInt64 = 16
    /// Requests served per call before dom0 looks at its other work.
    static let budget = 32

    init(domain: UInt16, spec: DiskSpec, store: BlockStore) {
        self.domain = domain
        self.spec = spec
        self.store = store
        disk = BlockDisk(sectors: store.sectors, writable: spec.writable && store.writable, flushes: true)
        nodes = BackendNodes(kind: "vbd", domain: domain, device: spec.number)
    }

    /// "blkback: dN vbd DEV " for every line.
    func prefix() -> LogLine {
        var line = LogLine("blkback: d")
        line.append(decimal: UInt64(domain))
        line.append(" vbd ")
        line.append(decimal: UInt64(spec.number))
        line.append(" ")
        return line
    }

    // MARK: the handshake

    /// The backend for `spec` of `domain`, probed (features and InitWait written); nil when dom0 has
    /// nothing to serve it with (said why; a disk that names a backing dom0 lacks is closed).
    static func probe(_ domain: UInt16, _ spec: DiskSpec) -> BlockBackend? {
        switch BlockStore.open(spec) {
        case .failure(let problem):
            var line = LogLine("blkback: d")
            line.append(decimal: UInt64(domain))
            line.append(" vbd ")
            line.append(decimal: UInt64(spec.number))
            line.append(" not served: ")
            line.append(problem.reason)
            console.print(line)
            return nil
        case .success(let store):
            let b = BlockBackend(domain: domain, spec: spec, store: store)
            b.write("feature-flush-cache", [0x31])
            // Write barriers are not offered: flush-diskcache orders and persists writes.
            b.write("feature-barrier", [0x30])
            var line = b.prefix()
            line.append("(")
            for c in spec.vdev { line.append(byte: c) }
            line.append("): ")
            line.append(decimal: b.disk.sectors)
            line.append(" sectors of 512 bytes, ")
            line.append(b.disk.writable ? StaticString("read-write") : StaticString("read-only"))
            line.append(", ")
            store.describe(into: &line)
            console.print(line)
            b.apply(b.handshake.handle(.probe))
            return b
        }
    }

    func write(_ node: StaticString, _ value: [UInt8]) { nodes.write(node, value) }

    /// Maps the ring the frontend published and binds its event channel; false with the reason said.
    func connect() -> Bool {
        guard let ref = nodes.frontNumber("ring-ref") else {
            return cannotConnect("no ring-ref (multi-page rings are not offered)")
        }
        guard let remote = nodes.frontNumber("event-channel") else {
            return cannotConnect("no event-channel")
        }
        if let proto = nodes.readFront("protocol"), !proto.isEmpty, proto != Array("x86_32-abi".utf8) {
            return cannotConnect("its protocol is not x86_32-abi (this backend speaks the 32-bit layout only)")
        }
        guard let mapped = GrantWindow.map(domain: domain, ref: ref) else { return cannotConnect("its ring grant could not be mapped") }
        let p = GuestEvents.bindInterdomain(remote: domain, port: remote)
        guard p > 0 else {
            GrantWindow.unmap(mapped)
            return cannotConnect("its event channel could not be bound")
        }
        GuestEvents.clearPending(UInt32(p))
        _ = Dom0Events.take(UInt32(p))
        ring = mapped
        port = UInt32(p)
        indexes = BackendRing(size: SharedRingLayout.entries(entryBytes: BlkifLayout.entryBytes))!
        write("sectors", Self.decimal(disk.sectors))
        write("sector-size", Array("512".utf8))
        // VDISK_READONLY (4) for a read-only disk.
        write("info", disk.writable ? [0x30] : [0x34])
        var line = prefix()
        line.append("connected: ring grant ")
        line.append(decimal: UInt64(ref))
        line.append(", event channel ")
        line.append(decimal: UInt64(remote))
        line.append(" -> dom0 port ")
        line.append(decimal: UInt64(port))
        line.append(", protocol x86_32-abi, ")
        line.append(decimal: disk.sectors)
        line.append(" sectors")
        console.print(line)
        return true
    }

    /// Unmaps the ring and closes the port; prints what was served.
    func disconnect() {
        if let r = ring { GrantWindow.unmap(r) }
        if port != 0 { _ = GuestEvents.close(port) }
        ring = nil
        port = 0
        var line = prefix()
        line.append("disconnected: ")
        line.append(decimal: reads)
        line.append(" reads (")
        line.append(decimal: sectorsRead)
        line.append(" sectors), ")
        line.append(decimal: writes)
        line.append(" writes (")
        line.append(decimal: sectorsWritten)
        line.append(" sectors), ")
        line.append(decimal: flushes)
        line.append(" flushes, ")
        line.append(decimal: refused)
        line.append(" refused")
        console.print(line)
    }

    static func decimal(_ v: UInt64) -> [UInt8] {
        var digits: [UInt8] = []
        var rest = v
        repeat { digits.insert(UInt8(rest % 10) + 0x30, at: 0); rest /= 10 } while rest > 0
        return digits
    }


    // MARK: the ring

    /// Serves up to `budget` requests; true when requests remain (the caller comes back).
    func service() -> Bool {
        guard let page = ring?.bytes else { return false }
        let shared = RingPage(page: page)
        var served = 0
        let oldResponses = indexes.responseProducer
        loop: while served < Self.budget {
            switch shared.look(indexes) {
            case .garbage(let producer):
                var line = prefix()
                line.append("the frontend's request producer is garbage (")
                line.append(decimal: UInt64(producer))
                line.append(", ")
                line.append(decimal: UInt64(indexes.requestConsumer))
                line.append(" taken); its ring is disconnected")
                console.print(line)
                shared.publish(since: oldResponses, now: indexes.responseProducer, port: port)
                apply(handshake.handle(.fault))
                return false
            case .idle:
                break loop
            case .waiting:
                take(page)
                served += 1
            }
        }
        shared.publish(since: oldResponses, now: indexes.responseProducer, port: port)
        return served == Self.budget
    }

    /// Takes one request: copied out, decoded, done, answered.
    func take(_ page: UnsafeMutableRawBufferPointer) {
        let slot = indexes.takeRequest()
        let at = SharedRingLayout.entriesOffset + Int(slot) * BlkifLayout.entryBytes
        entry.withUnsafeMutableBytes { dom0_copy_bytes(UInt32(UInt(bitPattern: $0.baseAddress)), ring!.address + UInt32(at), UInt32(BlkifLayout.requestBytes)) }
        let (id, operation, status) = entry.withUnsafeBytes { bytes -> (UInt64, UInt8, BlkifStatus) in
            let header = BlockRequest.header(bytes)
            switch BlockRequest.decode(bytes, disk: disk) {
            case .failure(let why):
                refuse(header.id, why.reason)
                return (header.id, header.operation, why.status)
            case .success(let request):
                return (header.id, header.operation, perform(request))
            }
        }
        guard let responseSlot = indexes.nextResponseSlot() else { return }
        let response = BlockRequest.response(id: id, operation: operation, status: status)
        let to = SharedRingLayout.entriesOffset + Int(responseSlot) * BlkifLayout.entryBytes
        for i in 0..<BlkifLayout.responseBytes { page.storeBytes(of: response[i], toByteOffset: to + i, as: UInt8.self) }
    }

    func refuse(_ id: UInt64, _ why: StaticString) {
        refused &+= 1
        guard refused <= Self.maxRefusalsShown else { return }
        var line = prefix()
        line.append("request ")
        line.append(hex: id, digits: 1)
        line.append(" refused: ")
        line.append(why)
        if refused == Self.maxRefusalsShown { line.append(" (further refusals only counted)") }
        console.print(line)
    }

    /// Does a decoded request; its status.
    func perform(_ request: BlockRequest) -> BlkifStatus {
        switch request.operation {
        case .flushDiskCache:
            flushes &+= 1
            return store.flush() ? .okay : .error
        case .read, .write:
            let reading = request.operation == .read
            let frame = UInt32(truncatingIfNeeded: store.page.machine >> 12)
            var sector = request.sector
            for segment in request.segments {
                let n = Int(segment.sectors)
                let span = GrantCopySpan(domain: domain, ref: segment.grant, grantOffset: UInt16(segment.first) * 512,
                                         ownFrame: frame, ownOffset: 0, length: UInt16(n * 512), intoGrant: reading)
                if reading {
                    guard store.read(sector, n) else { refuse(request.id, "the backing store failed the read"); return .error }
                    show(sector, n)
                    if let status = move(span, segment) { return copyFailed(request.id, status) }
                    sectorsRead &+= UInt64(n)
                } else {
                    if let status = move(span, segment) { return copyFailed(request.id, status) }
                    guard store.write(sector, n) else { refuse(request.id, "the backing store failed the write"); return .error }
                    sectorsWritten &+= UInt64(n)
                }
                sector += UInt64(n)
            }
            if reading { reads &+= 1 } else { writes &+= 1 }
            return .okay
        default:
            return .notSupported
        }
    }

    /// Moves one segment's data between the frontend's grant and the staging page: a grant copy (what
    /// blkback does), or, when make bench compares the two, a grant map, a copy and an unmap. Counts the
    /// instructions either takes. nil when it worked, else the GNTST status.
    func move(_ span: GrantCopySpan, _ segment: BlockSegment) -> Int16? {
        let start = guest_rdtsc()
        defer {
            Self.moveInstructions &+= guest_rdtsc() &- start
            Self.movedSectors &+= segment.sectors
        }
        guard Self.viaMaps else { return GrantCopy.run([span])?.status }
        guard let m = GrantWindow.map(domain: domain, ref: segment.grant) else { return GrantStatus.generalError.rawValue }
        let inGrant = m.address + UInt32(span.grantOffset)
        let own = store.page.address + UInt32(span.ownOffset)
        if span.intoGrant { dom0_copy_bytes(inGrant, own, UInt32(span.length)) } else { dom0_copy_bytes(own, inGrant, UInt32(span.length)) }
        return GrantWindow.unmap(m) ? nil : GrantStatus.generalError.rawValue
    }

    /// make bench's comparison: segments moved by grant maps instead of copies, and what moving cost.
    static var viaMaps = false
    static var moveInstructions: UInt64 = 0
    static var movedSectors: UInt64 = 0

    func copyFailed(_ id: UInt64, _ status: Int16) -> BlkifStatus {
        refused &+= 1
        guard refused <= Self.maxRefusalsShown else { return .error }
        var line = prefix()
        line.append("request ")
        line.append(hex: id, digits: 1)
        line.append(" refused: a segment's grant could not be copied (GNTST ")
        if status < 0 { line.append("-") }
        line.append(decimal: UInt64(status.magnitude))
        line.append(")")
        console.print(line)
        return .error
    }

    /// The first bytes of sector 0 and of the last sector, the first time each is read.
    func show(_ sector: UInt64, _ count: Int) {
        let last = disk.sectors - 1
        if !shownFirst && sector == 0 {
            shownFirst = true
            printSector(0, at: 0, "read sector 0: '")
        }
        if !shownLast && sector <= last && last < sector + UInt64(count) {
            shownLast = true
            printSector(last, at: Int(last - sector) * 512, "read the last sector: '")
        }
    }

    func printSector(_ sector: UInt64, at offset: Int, _ what: StaticString) {
        var line = prefix()
        line.append(what)
        let base = store.page.bytes
        for i in 0..<48 {
            let b = base.load(fromByteOffset: offset + i, as: UInt8.self)
            if b == 0 { break }
            line.append(byte: b >= 0x20 && b < 0x7F && b != 0x27 ? b : 0x2E)
        }
        line.append("' (sector ")
        line.append(decimal: sector)
        line.append(")")
        console.print(line)
    }
}
