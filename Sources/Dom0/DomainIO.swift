// DomainIO.swift: dom0's backends for every domU's two rings, as xenstored and xenconsoled serve
// them in Xen: on create, the store and console pages are mapped through the reserved grants, the
// domain's ports bound, the domain INTRODUCEd and its tree written; on each event every ring is
// serviced; on destroy the console's last lines and a summary are printed, the pages unmapped, the
// ports closed and the domain RELEASEd. The event upcall only counts: all work happens here, in
// dom0's main loop, and a guest's ring can cost dom0 at most one ring's worth of work per event.

import ApusCore
import GuestKit
import PVABI

/// One domain's connection to dom0's backends.
struct DomainLink {
    var id: UInt16
    var storePage: GrantMapping?
    var storePort: UInt32 = 0
    var consolePage: GrantMapping?
    var consolePort: UInt32 = 0
    var lines = ConsoleLines()
    /// The recent output of its ring, for GET /v1/domains/{id}/console; it goes with the link.
    var history = ConsoleHistory()
    /// The domain has notified its console channel: from then on its ring is its console (what it
    /// wrote before was printed by the hypervisor from console_io, and is skipped).
    var consoleStarted = false
    /// Set once the guest's indexes were garbage: its ring is no longer read.
    var storeBroken = false
    var consoleGarbage: UInt32 = 0
}

enum DomainIO {
    /// The store fits dom0's heap (Makefile: dom0's HEAP_SIZE), with room for transaction copies.
    static var store: XenStore = {
        var limits = StoreLimits()
        limits.treeBytes = 256 * 1024
        limits.outputBacklog = 32 * 1024
        var s = XenStore(limits: limits)
        // What xen-init-dom0 writes for dom0 itself.
        _ = s.privilegedWrite(Array("/local/domain/0/name".utf8), Array("Domain-0".utf8))
        _ = s.privilegedWrite(Array("/local/domain/0/domid".utf8), [0x30])
        return s
    }()
    static var links: [DomainLink] = []
    /// Bumped by the event upcall for every port dom0 does not handle elsewhere.
    static var signals: UInt32 = 0
    /// `signals` as of the last service: events that arrive while dom0 is busy elsewhere are not lost.
    static var handled: UInt32 = 0
    static var isSignalled: Bool { signals != handled }

    /// Services the rings if an event came since the last time.
    static func serviceIfSignalled() {
        guard isSignalled else { return }
        handled = signals
        service()
    }
    /// The domain whose console the shell is attached to.
    static var attached: UInt16? = nil
    /// A test's awaited piece of console text, and whether a relayed line held it.
    static var awaited: [UInt8] = []
    static var awaitedSeen = false
    /// The TSC when a relayed line first held `awaited` (make bench's Linux row).
    static var awaitedTSC: UInt64 = 0
    /// A test's reader of every relayed line.
    static var observer: (UInt16, [UInt8]) -> Void = { _, _ in }

    // MARK: create and destroy

    /// Connects a new (paused) domain: its rings when the hypervisor gave them, and its store tree.
    static func connect(_ created: CreatedDomain, _ config: DomainConfig) {
        let id = UInt16(truncatingIfNeeded: created.id)
        var link = DomainLink(id: id)
        if created.storePort != 0 {
            link.storePage = GrantWindow.map(domain: id, ref: GrantReservedRef.xenstore)
            link.storePort = bind(id, created.storePort, "store")
        }
        if created.consolePort != 0 {
            link.consolePage = GrantWindow.map(domain: id, ref: GrantReservedRef.console)
            link.consolePort = bind(id, created.consolePort, "console")
        }
        links.append(link)
        if case .failure(let e) = store.introduceDomain(id, frame: created.storeMFN, port: created.storePort) {
            _ = e.name.withUnsafeBufferPointer { console.print("xenstored: introducing d\(id) failed: \(text: $0)") }
        }
        let facts = DomainStoreFacts(id: id, name: config.name, memoryKiB: config.memoryMiB << 10,
                                     storePort: created.storePort, storeMFN: created.storeMFN,
                                     consolePort: created.consolePort, consoleMFN: created.consoleMFN,
                                     vifs: config.vifs, disks: config.disks)
        if case .failure(let e) = store.apply(DomainStoreLayout.settings(facts)) {
            _ = e.name.withUnsafeBufferPointer { console.print("xenstored: writing d\(id)'s tree failed: \(text: $0)") }
        }
        Backends.attach(id, config)
        service()
    }

    static func bind(_ id: UInt16, _ remotePort: UInt32, _ what: StaticString) -> UInt32 {
        let p = GuestEvents.bindInterdomain(remote: id, port: remotePort)
        guard p > 0 else {
            console.print("dom0: binding d\(id)'s \(what) port \(remotePort) failed with \(p)")
            return 0
        }
        // Binding raises an event on the new port; it is not the domain's notification.
        GuestEvents.clearPending(UInt32(p))
        _ = Dom0Events.take(UInt32(p))
        return UInt32(p)
    }

    /// Everything `connect` set up, undone; the console's last words and its summary printed first.
    static func disconnect(_ id: UInt16) {
        guard let i = links.firstIndex(where: { $0.id == id }) else { return }
        service()
        if attached == id {
            attached = nil
            console.print("d\(id)'s console closed; back to the shell")
        }
        var link = links.remove(at: i)
        if link.consolePage != nil {
            if let last = link.lines.flush() { relay(id, last) }
            console.print("console: d\(id) ring closed after \(link.lines.lines) lines (\(link.lines.bytes) bytes)")
        }
        for page in [link.storePage, link.consolePage] { if let page { GrantWindow.unmap(page) } }
        for port in [link.storePort, link.consolePort] where port != 0 { _ = GuestEvents.close(port) }
        link.storePage = nil
        link.consolePage = nil
        _ = store.releaseDomain(id)
    }

    // MARK: the rings

    /// Services every ring once: requests into xenstored, its replies and watch events out, console
    /// output to dom0's console. Notifies each domain whose ring moved.
    static func service() {
        for i in links.indices {
            serviceStore(&links[i])
            serviceConsole(&links[i])
        }
        // The backends: what the frontends wrote, then their rings; what the backends wrote goes out.
        for _ in 0..<4 {
            guard Backends.run() else { break }
            for i in links.indices { serviceStore(&links[i]) }
        }
        if Backends.storeActivity { signals &+= 1 }
    }

    static func serviceStore(_ link: inout DomainLink) {
        guard let page = link.storePage?.bytes, !link.storeBroken, store.state(of: link.id) == .open else { return }
        var moved = false
        // Requests: the producer first, then the data, then our consumer index.
        let reqCons = page.loadUnaligned(fromByteOffset: StoreRing.requestConsumerOffset, as: UInt32.self)
        let reqProd = page.loadUnaligned(fromByteOffset: StoreRing.requestProducerOffset, as: UInt32.self)
        dom0_compiler_barrier()
        let request = UnsafeBufferPointer(ring(page, StoreRing.requestOffset))
        guard let (bytes, newCons) = StoreRing.read(request, consumer: reqCons, producer: reqProd) else {
            breakStore(&link, reqCons, reqProd)
            return
        }
        if !bytes.isEmpty {
            dom0_compiler_barrier()
            page.storeBytes(of: newCons, toByteOffset: StoreRing.requestConsumerOffset, as: UInt32.self)
            Backends.storeActivity = true
            if let state = store.receive(from: link.id, bytes), state != StoreConnectionState.open {
                console.print("xenstored: d\(link.id)'s connection ended (bad message or undrained replies)")
            }
            moved = true
        }
        // Replies and events: the data first, then the producer index.
        let pending = store.unsent(for: link.id)
        if !pending.isEmpty {
            let rspCons = page.loadUnaligned(fromByteOffset: StoreRing.responseConsumerOffset, as: UInt32.self)
            let rspProd = page.loadUnaligned(fromByteOffset: StoreRing.responseProducerOffset, as: UInt32.self)
            dom0_compiler_barrier()
            let response = ring(page, StoreRing.responseOffset)
            guard let (written, newProd) = StoreRing.write(pending, into: response, consumer: rspCons, producer: rspProd) else {
                breakStore(&link, rspCons, rspProd)
                return
            }
            if written > 0 {
                dom0_compiler_barrier()
                page.storeBytes(of: newProd, toByteOffset: StoreRing.responseProducerOffset, as: UInt32.self)
                store.markSent(written, for: link.id)
                moved = true
            }
        }
        if moved { _ = GuestEvents.send(link.storePort) }
    }

    /// One of the store page's two 1024-byte rings.
    static func ring(_ page: UnsafeMutableRawBufferPointer, _ offset: Int) -> UnsafeMutableBufferPointer<UInt8> {
        UnsafeMutableBufferPointer(start: page.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self),
                                   count: Int(StoreRing.size))
    }

    static func breakStore(_ link: inout DomainLink, _ consumer: UInt32, _ producer: UInt32) {
        link.storeBroken = true
        console.print("xenstored: d\(link.id)'s ring indexes are garbage (consumer \(consumer), producer \(producer)); connection ended")
    }

    static func serviceConsole(_ link: inout DomainLink) {
        guard let page = link.consolePage?.bytes else { return }
        if !link.consoleStarted {
            guard Dom0Events.take(link.consolePort), let info = Toolstack.info(link.id) else { return }
            link.consoleStarted = true
            _ = ConsoleRing.skipOutput(page, upTo: info.consoleRingPrinted)
        }
        switch ConsoleRing.drainOutput(page) {
        case .bytes(let bytes):
            guard !bytes.isEmpty else { return }
            link.history.append(bytes)
            for line in link.lines.feed(bytes) { relay(link.id, line) }
            _ = GuestEvents.send(link.consolePort)
        case .corrupt(let consumer, let producer):
            link.consoleGarbage &+= 1
            if link.consoleGarbage == 1 {
                console.print("console: d\(link.id)'s ring indexes are garbage (consumer \(consumer), producer \(producer)); output dropped")
            }
        }
    }

    /// Prints one sanitised line as "(dN) text": the hypervisor shows it under dN's label.
    static func relay(_ id: UInt16, _ text: [UInt8]) {
        if !awaited.isEmpty && !awaitedSeen && contains(text, awaited) { awaitedSeen = true; awaitedTSC = guest_rdtsc() }
        observer(id, text)
        var line = LogLine("(d")
        line.append(decimal: UInt64(id))
        line.append(") ")
        for b in text { line.append(byte: b) }
        console.print(line)
    }

    /// What putting bytes into a domain's console input ring did.
    enum ConsoleInput: Equatable {
        /// This many went in (0 when the ring was full); the domain was notified when any did.
        case accepted(Int)
        /// The domain has no console ring dom0 serves.
        case noRing
        /// The guest's `in` indexes are garbage: nothing was written.
        case garbage
    }

    /// Bytes for a domain's `in` ring (the shell's `console`, the tests and POST .../console), then
    /// its console event: as many as fit, as Xen's xenconsoled writes them.
    static func input(_ bytes: [UInt8], to id: UInt16) -> ConsoleInput {
        guard let link = links.first(where: { $0.id == id }), let page = link.consolePage?.bytes else { return .noRing }
        guard let n = ConsoleRing.feedInput(page, bytes[...]) else { return .garbage }
        if n > 0 { _ = GuestEvents.send(link.consolePort) }
        return .accepted(n)
    }

    /// Typed bytes for the attached domain's `in` ring; false when it has no console ring.
    @discardableResult
    static func type(_ bytes: [UInt8], to id: UInt16) -> Bool {
        input(bytes, to: id) != .noRing
    }

    /// The last lines of a domain's console ring output; nil when dom0 serves no console ring for it.
    static func consoleTail(_ id: UInt16, lines: Int, since: UInt64?) -> ConsoleTail? {
        guard let link = links.first(where: { $0.id == id && $0.consolePage != nil }) else { return nil }
        return link.history.tail(lines: lines, since: since)
    }

    static func hasConsole(_ id: UInt16) -> Bool { links.contains { $0.id == id && $0.consolePage != nil } }
    static func hasStore(_ id: UInt16) -> Bool { links.contains { $0.id == id && $0.storePage != nil && $0.storePort != 0 } }
    static func linesRelayed(_ id: UInt16) -> UInt64 { links.first { $0.id == id }?.lines.lines ?? 0 }

    static func contains(_ text: [UInt8], _ piece: [UInt8]) -> Bool {
        guard piece.count <= text.count else { return false }
        for start in 0...(text.count - piece.count) where text[start..<(start + piece.count)].elementsEqual(piece) { return true }
        return false
    }

    // MARK: dom0's own store requests

    /// Writes as dom0 and pushes the watch events it fired out to the domains.
    static func write(_ path: [UInt8], _ value: [UInt8]) -> Result<Void, StoreError> {
        let r = store.localWrite(path, value)
        service()
        return r
    }

    static func remove(_ path: [UInt8]) -> Result<Void, StoreError> {
        let r = store.localRemove(path)
        service()
        return r
    }
}
