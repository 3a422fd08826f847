// BlockAttempts.swift: the hostile domain as a blkif frontend that lies to dom0's blkback: it connects
// its read-only disk (hostile.cfg: initrd:motd.txt as xvda) through the xenbus handshake, reads
// sector 0 as a well-behaved frontend would, then sends requests no frontend should: into grants it
// never made, made for another domain or read-only, a write to the read-only disk, sectors past the
// end, malformed segments, unknown operations, and last a garbage ring index. It prints the status
// each got; dom0 must answer each with an error response, or drop the ring, and carry on.

import ApusCore
import GuestKit
import PVABI

enum BlockAttempts {
    /// Its grant references: the ring, a writable data page, a read-only one, and the data page
    /// again, granted to another domain.
    static let ringRef: UInt32 = 10, dataRef: UInt32 = 11, readonlyRef: UInt32 = 12, elsewhereRef: UInt32 = 13
    static let node: [UInt8] = Array("device/vbd/51712".utf8)

    static var ring = UnsafeMutableRawPointer(bitPattern: 0x1000)!
    static var data = UnsafeMutableRawPointer(bitPattern: 0x1000)!
    static var port: UInt32 = 0
    /// Its grant table, mapped (nil until set up).
    static var entries: UnsafeMutablePointer<UInt32>? = nil
    static var produced: UInt32 = 0
    static var consumed: UInt32 = 0

    /// A zeroed page of its own memory, and its machine frame.
    static func page() -> (UnsafeMutableRawPointer, UInt32) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        for i in 0..<1024 { p.storeBytes(of: 0, toByteOffset: i * 4, as: UInt32.self) }
        let va = UInt32(UInt(bitPattern: p))
        return (p, StartOfDay.startInfo.machineFrame(ofPFN: va >> 12))
    }

    /// One store request and its reply's payload; nil on an error reply or none.
    static func store(_ type: StoreMessageType, _ payload: [UInt8]) -> [UInt8]? {
        guard StoreFlood.send(type, payload), let (t, p) = StoreFlood.reply(within: 500_000_000),
              t == type.rawValue else { return nil }
        return p
    }

    static func write(_ leaf: StaticString, _ value: [UInt8], under base: [UInt8] = node) -> Bool {
        var path = base
        path.append(47)
        leaf.withUTF8Buffer { path.append(contentsOf: $0) }
        return store(.write, path + [0] + value) != nil
    }

    static func decimal(_ v: UInt32) -> [UInt8] {
        var line = LogLine()
        line.append(decimal: UInt64(v))
        var out: [UInt8] = []
        line.withBytes { out.append(contentsOf: $0) }
        return out
    }

    static func number(_ bytes: [UInt8]) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 15 else { return nil }
        var v: UInt64 = 0
        for b in bytes where b != 0 {
            guard b >= 0x30, b <= 0x39 else { return nil }
            v = v * 10 + UInt64(b - 0x30)
        }
        return v
    }

    static func run(peer: UInt16) {
        let console = Hostile.console
        let si = StartOfDay.startInfo
        let m2p = UnsafePointer<UInt32>(bitPattern: UInt(XenLayout.mach2physVirtStart))!
        guard si.storeMFN != 0 else { return }
        StoreFlood.page = UnsafeMutableRawPointer(bitPattern: UInt(m2p[Int(si.storeMFN)]) << 12)!
        StoreFlood.port = si.storeEvtchn

        // Its grant table's first frame, mapped over a page of its own (as any PV guest maps it).
        var setup = HypercallRecord(stride: GrantSetupTableLayout.size)
        var frames = HypercallRecord(stride: 4)
        setup.set(SpecialDomainID.selfID, at: GrantSetupTableLayout.domOffset)
        setup.set(UInt32(1), at: GrantSetupTableLayout.nrFramesOffset)
        let rc = frames.withAddress { list in
            setup.set(list, at: GrantSetupTableLayout.frameListOffset)
            return setup.withAddress { xen.grantTableOp(.setupTable, $0, count: 1) }
        }
        let (table, _) = page()
        let mapped = xen.updateVAMapping(UInt32(UInt(bitPattern: table)), UInt64(frames.get(UInt32.self, at: 0)) << 12 | 0x63,
                                         flags: UpdateVAFlags.invalidatePage)
        guard rc == 0, mapped == 0 else {
            console.print("hostile: blkif: its grant table could not be set up (\(rc), \(mapped)); no block attempts")
            return
        }
        entries = table.assumingMemoryBound(to: UInt32.self)
        let (r, ringFrame) = page()
        let (d, dataFrame) = page()
        let (_, readonlyFrame) = page()
        ring = r
        data = d
        // SHARED_RING_INIT: no requests, no responses, an event wanted for the first of each.
        ring.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.requestEventOffset, as: UInt32.self)
        ring.storeBytes(of: UInt32(1), toByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
        grant(ringRef, ringFrame, to: 0, readonly: false)
        grant(dataRef, dataFrame, to: 0, readonly: false)
        grant(readonlyRef, readonlyFrame, to: 0, readonly: true)
        grant(elsewhereRef, dataFrame, to: peer, readonly: false)
        let p = GuestEvents.allocUnbound(remote: 0)
        guard p > 0 else { console.print("hostile: blkif: no event channel for dom0 (\(p))"); return }
        port = UInt32(p)

        // The handshake as Mini-OS's blkfront does it: the ring details, then Connected.
        guard write("ring-ref", decimal(ringRef)), write("event-channel", decimal(port)),
              write("protocol", Array("x86_32-abi".utf8)), write("state", [0x34]),
              let backend = store(.read, node + Array("/backend".utf8) + [0]) else {
            console.print("hostile: blkif: writing its frontend nodes failed; no block attempts")
            return
        }
        guard waitForBackend(backend, atLeast: 4) == 4,
              let sectors = store(.read, backend + Array("/sectors".utf8) + [0]).flatMap(number) else {
            console.print("hostile: blkif: dom0's blkback did not connect; no block attempts")
            return
        }
        let info = store(.read, backend + Array("/info".utf8) + [0]).flatMap(number) ?? 0
        console.print("hostile: blkif: connected to dom0's blkback: \(sectors) sectors, info \(info)")

        // A frontend's first read, allowed: the disk's first bytes arrive in its page.
        let status = request(op: BlkifOperation.read.rawValue, id: 0x100, sector: 0, segments: [(dataRef, 0, 0)])
        var line = LogLine("hostile: read sector 0 of its read-only disk through dom0's blkback: ")
        line.append(status == 0 ? StaticString("allowed, it reads '") : StaticString("FAILED ('"))
        for i in 0..<24 {
            let b = data.load(fromByteOffset: i, as: UInt8.self)
            if b == 0 || b == 10 { break }
            line.append(byte: b >= 0x20 && b < 0x7F ? b : 0x2E)
        }
        line.append("')")
        console.print(line)

        let read = BlkifOperation.read.rawValue
        expect("blkif read into a grant reference it never made", request(op: read, id: 0x101, sector: 0, segments: [(200, 0, 0)]), .error)
        expect("blkif read into its page granted to another domain", request(op: read, id: 0x102, sector: 0, segments: [(elsewhereRef, 0, 0)]), .error)
        expect("blkif read into a read-only grant", request(op: read, id: 0x103, sector: 0, segments: [(readonlyRef, 0, 0)]), .error)
        expect("blkif write to its read-only disk", request(op: BlkifOperation.write.rawValue, id: 0x104, sector: 0, segments: [(dataRef, 0, 0)]), .error)
        expect("blkif read of the sector past the end", request(op: read, id: 0x105, sector: sectors, segments: [(dataRef, 0, 0)]), .error)
        expect("blkif read of sectors that wrap around 2^64", request(op: read, id: 0x106, sector: UInt64.max, segments: [(dataRef, 0, 7)]), .error)
        expect("blkif segment whose last sector comes before its first", request(op: read, id: 0x107, sector: 0, segments: [(dataRef, 5, 2)]), .error)
        expect("blkif segment past the end of its page (sector 8)", request(op: read, id: 0x108, sector: 0, segments: [(dataRef, 0, 8)]), .error)
        expect("blkif read with 12 segments (11 at most)", request(op: read, id: 0x109, sector: 0, segments: Array(repeating: (dataRef, 0, 0), count: 12)), .error)
        expect("blkif read with no segments", request(op: read, id: 0x10A, sector: 0, segments: []), .error)
        expect("blkif operation 9 (not in blkif)", request(op: 9, id: 0x10B, sector: 0, segments: [(dataRef, 0, 0)]), .notSupported)
        expect("blkif write barrier (not offered)", request(op: BlkifOperation.writeBarrier.rawValue, id: 0x10C, sector: 0, segments: []), .notSupported)

        // Last, a request producer a thousand requests ahead of what dom0 answered: garbage.
        Hostile.total += 1
        produced &+= 1000
        guest_compiler_barrier()
        ring.storeBytes(of: produced, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        _ = GuestEvents.send(port)
        let closed = waitForBackend(backend, atLeast: 5)
        if closed >= 5 { Hostile.refused += 1 }
        console.print("hostile: blkif request producer 1000 ahead of the responses: \(closed >= 5 ? "refused" : "NOT refused") (backend state \(closed))")
    }

    /// Grant `ref` gives `domain` access to `frame`.
    static func grant(_ ref: UInt32, _ frame: UInt32, to domain: UInt16, readonly: Bool) {
        guard let entries else { return }
        entries[Int(ref) * 2 + 1] = frame
        guest_compiler_barrier()
        entries[Int(ref) * 2] = UInt32(GrantEntryFlags.permitAccess | (readonly ? GrantEntryFlags.readonly : 0)) | UInt32(domain) << 16
    }

    static func expect(_ what: StaticString, _ got: Int16?, _ wanted: BlkifStatus) {
        Hostile.total += 1
        let ok = got == wanted.rawValue
        if ok { Hostile.refused += 1 }
        if let got {
            Hostile.console.print("hostile: \(what): \(ok ? "refused" : "NOT refused") (status \(Int32(got)))")
        } else {
            Hostile.console.print("hostile: \(what): NOT refused (no response)")
        }
    }

    /// The backend's state once it reaches `atLeast` or 2 s passed (the last value read).
    static func waitForBackend(_ backend: [UInt8], atLeast: UInt64) -> UInt64 {
        let deadline = GuestTime.now() + 2_000_000_000
        var state: UInt64 = 0
        while GuestTime.now() < deadline {
            state = store(.read, backend + Array("/state".utf8) + [0]).flatMap(number) ?? 0
            if state >= atLeast { break }
            _ = xen.schedOp(.yield)
        }
        return state
    }

    /// Puts one request on the ring, notifies, and waits up to 1 s for its response's status.
    static func request(op: UInt8, id: UInt64, sector: UInt64, segments: [(UInt32, UInt8, UInt8)]) -> Int16? {
        let at = SharedRingLayout.entriesOffset + Int(produced & 31) * BlkifLayout.entryBytes
        for i in 0..<(BlkifLayout.requestBytes / 4) { ring.storeBytes(of: 0, toByteOffset: at + i * 4, as: UInt32.self) }
        ring.storeBytes(of: op, toByteOffset: at + BlkifLayout.operationOffset, as: UInt8.self)
        ring.storeBytes(of: UInt8(truncatingIfNeeded: segments.count), toByteOffset: at + BlkifLayout.segmentCountOffset, as: UInt8.self)
        ring.storeBytes(of: UInt16(51712), toByteOffset: at + BlkifLayout.handleOffset, as: UInt16.self)
        ring.storeBytes(of: id, toByteOffset: at + BlkifLayout.idOffset, as: UInt64.self)
        ring.storeBytes(of: sector, toByteOffset: at + BlkifLayout.sectorOffset, as: UInt64.self)
        for (i, s) in segments.prefix(BlkifLayout.maxSegments).enumerated() {
            let seg = at + BlkifLayout.segmentsOffset + i * BlkifLayout.segmentBytes
            ring.storeBytes(of: s.0, toByteOffset: seg + BlkifLayout.segmentGrantOffset, as: UInt32.self)
            ring.storeBytes(of: s.1, toByteOffset: seg + BlkifLayout.segmentFirstOffset, as: UInt8.self)
            ring.storeBytes(of: s.2, toByteOffset: seg + BlkifLayout.segmentLastOffset, as: UInt8.self)
        }
        produced &+= 1
        guest_compiler_barrier()
        ring.storeBytes(of: produced, toByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
        _ = GuestEvents.send(port)
        let deadline = GuestTime.now() + 1_000_000_000
        while GuestTime.now() < deadline {
            guest_compiler_barrier()
            if ring.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) != consumed { break }
            _ = xen.schedOp(.yield)
        }
        guard ring.load(fromByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self) != consumed else { return nil }
        let rsp = SharedRingLayout.entriesOffset + Int(consumed & 31) * BlkifLayout.entryBytes
        consumed &+= 1
        guard ring.loadUnaligned(fromByteOffset: rsp + BlkifLayout.responseIDOffset, as: UInt64.self) == id else { return nil }
        return ring.load(fromByteOffset: rsp + BlkifLayout.responseStatusOffset, as: Int16.self)
    }
}
