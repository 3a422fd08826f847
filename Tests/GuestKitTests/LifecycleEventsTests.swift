// LifecycleEventsTests.swift: the pure pieces behind GET /v1/events and the waiting shutdown: the
// diff of two domain snapshots (every transition, the order, id reuse, flicker that is no event, and a
// property test against a model that replays random histories), the event-stream bytes, the ring a
// Last-Event-ID is replayed from, the rule that drops a subscriber that stopped reading, and the
// ?timeout= / ?wait= parsing with each refusal.

import XCTest
import PVABI
@testable import GuestKit

final class LifecycleEventsTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    func str(_ a: [UInt8]) -> String { String(decoding: a, as: UTF8.self) }

    let running = DomainInfoFlags.running
    let blocked = DomainInfoFlags.blocked
    let paused = DomainInfoFlags.paused
    func stopped(_ r: ShutdownReason) -> UInt32 { DomainInfoFlags.shutdown | r.rawValue << DomainInfoFlags.shutdownShift }
    func d(_ id: UInt16, _ name: String, _ flags: UInt32) -> DomainSnapshot { DomainSnapshot(id: id, name: b(name), flags: flags) }
    func kinds(_ e: [LifecycleEvent]) -> [String] { e.map { "\(str(HttpBytes.bytes($0.kind.name))) d\($0.id)" } }

    func testEachTransition() {
        let dom0 = d(0, "Domain-0", running)
        XCTAssertEqual(LifecycleDiff.events(from: [dom0], to: [dom0]), [])
        // running <-> blocked is no event.
        XCTAssertEqual(LifecycleDiff.events(from: [dom0, d(1, "a", running)], to: [dom0, d(1, "a", blocked)]), [])
        let created = LifecycleDiff.events(from: [dom0], to: [dom0, d(1, "a", blocked)])
        XCTAssertEqual(created, [LifecycleEvent(.created, id: 1, name: b("a"), state: .blocked)])
        XCTAssertEqual(LifecycleDiff.events(from: [d(1, "a", running)], to: [d(1, "a", paused)]),
                       [LifecycleEvent(.paused, id: 1, name: b("a"), state: .paused)])
        XCTAssertEqual(LifecycleDiff.events(from: [d(1, "a", paused)], to: [d(1, "a", 0)]),
                       [LifecycleEvent(.unpaused, id: 1, name: b("a"), state: .runnable)])
        let off = LifecycleDiff.events(from: [d(1, "a", blocked)], to: [d(1, "a", stopped(.poweroff))])
        XCTAssertEqual(off, [LifecycleEvent(.shutdown, id: 1, name: b("a"), state: .shutdown, reason: 0)])
        XCTAssertEqual(off[0].reasonName.map { str(HttpBytes.bytes($0)) }, "poweroff")
        for r in [ShutdownReason.reboot, .suspend, .watchdog, .softReset] {
            let e = LifecycleDiff.events(from: [d(1, "a", running)], to: [d(1, "a", stopped(r))])
            XCTAssertEqual(e.map(\.kind), [.shutdown])
            XCTAssertEqual(e[0].reason, r.rawValue)
            XCTAssertEqual(e[0].reasonName.map { str(HttpBytes.bytes($0)) }, str(HttpBytes.bytes(r.name)))
        }
        let crash = LifecycleDiff.events(from: [d(1, "a", running)], to: [d(1, "a", stopped(.crash))])
        XCTAssertEqual(crash, [LifecycleEvent(.crashed, id: 1, name: b("a"), state: .shutdown, reason: 3)])
        // A code Xen does not define keeps its number and is named "unknown".
        let odd = LifecycleDiff.events(from: [d(1, "a", running)], to: [d(1, "a", DomainInfoFlags.shutdown | 77 << 16)])
        XCTAssertEqual(odd[0].reason, 77)
        XCTAssertEqual(odd[0].reasonName.map { str(HttpBytes.bytes($0)) }, "unknown")
        XCTAssertEqual(LifecycleDiff.events(from: [dom0, d(1, "a", stopped(.poweroff))], to: [dom0]),
                       [LifecycleEvent(.destroyed, id: 1, name: b("a"), state: .destroyed)])
        // Still stopped: nothing new; a paused flag changing on a stopped domain is no event either.
        XCTAssertEqual(LifecycleDiff.events(from: [d(1, "a", stopped(.crash))], to: [d(1, "a", stopped(.crash) | paused)]), [])
    }

    func testOrderAndCombinations() {
        // Several domains: ascending id, each domain's events in the order they happened.
        let before = [d(0, "Domain-0", running), d(2, "b", running), d(3, "c", paused), d(5, "e", running)]
        let after = [d(0, "Domain-0", running), d(1, "new", paused), d(3, "c", stopped(.poweroff)), d(4, "f", stopped(.crash)), d(5, "e", paused)]
        XCTAssertEqual(kinds(LifecycleDiff.events(from: before, to: after)),
                       ["created d1", "destroyed d2", "unpaused d3", "shutdown d3", "created d4", "crashed d4", "paused d5"])
        // Unsorted input gives the same.
        XCTAssertEqual(LifecycleDiff.events(from: before.reversed(), to: after.reversed()), LifecycleDiff.events(from: before, to: after))
        // Paused then stopped between two looks.
        XCTAssertEqual(kinds(LifecycleDiff.events(from: [d(1, "a", running)], to: [d(1, "a", paused | stopped(.reboot))])),
                       ["paused d1", "shutdown d1"])
        // An id reused by another domain (the old one destroyed, a new one created in between).
        let reused = LifecycleDiff.events(from: [d(1, "old", running)], to: [d(1, "new", running)])
        XCTAssertEqual(reused, [LifecycleEvent(.destroyed, id: 1, name: b("old"), state: .destroyed),
                                LifecycleEvent(.created, id: 1, name: b("new"), state: .running)])
        // Everything gone, from nothing.
        XCTAssertEqual(kinds(LifecycleDiff.events(from: [], to: [d(0, "Domain-0", running)])), ["created d0"])
        XCTAssertEqual(kinds(LifecycleDiff.events(from: [d(7, "x", 0), d(9, "y", 0)], to: [])), ["destroyed d7", "destroyed d9"])
    }

    /// A model: replays random histories of single actions (create, pause, unpause, stop, destroy,
    /// flicker) on up to 6 ids, looking after every k-th action; the diff's events, applied to the
    /// model's view, must give exactly the next snapshot, and with a look after every action the events
    /// must be exactly the actions that were not flicker.
    func testRandomHistoriesAgainstModel() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        let reasons: [ShutdownReason] = [.poweroff, .reboot, .suspend, .crash, .watchdog, .softReset]
        for round in 0..<400 {
            let every = 1 + round % 3
            var world: [UInt16: DomainSnapshot] = [0: d(0, "Domain-0", running)]
            var view = world
            var actions: [String] = []
            var generation = 0
            for step in 1...40 {
                let id = UInt16(1 + next(6))
                if var s = world[id] {
                    switch next(5) {
                    case 0:
                        world[id] = nil
                        actions.append("destroyed d\(id)")
                    case 1 where !s.isShutdown:
                        let r = reasons[next(reasons.count)]
                        s.flags = (s.flags & paused) | stopped(r)
                        world[id] = s
                        actions.append("\(r == .crash ? "crashed" : "shutdown") d\(id)")
                    case 2 where !s.isShutdown:
                        s.flags ^= paused
                        world[id] = s
                        actions.append("\(s.isPaused ? "paused" : "unpaused") d\(id)")
                    default:
                        s.flags ^= s.isShutdown ? 0 : (running | blocked)
                        world[id] = s
                    }
                } else {
                    generation += 1
                    world[id] = d(id, "g\(generation)", [running, blocked, paused, 0][next(4)])
                    actions.append("created d\(id)")
                }
                guard step % every == 0 else { continue }
                let events = LifecycleDiff.events(from: Array(view.values), to: Array(world.values))
                if every == 1 { XCTAssertEqual(kinds(events), actions, "round \(round) step \(step)") }
                // Applying the events to the view gives the world, apart from running/blocked.
                for e in events {
                    switch e.kind {
                    case .created: view[e.id] = world[e.id]
                    case .destroyed: view[e.id] = nil
                    default: view[e.id]?.flags = world[e.id]!.flags
                    }
                    if e.kind != .destroyed { XCTAssertEqual(e.name, world[e.id]?.name) }
                }
                for (id, s) in world {
                    XCTAssertEqual(view[id]?.name, s.name, "round \(round)")
                    XCTAssertEqual(view[id]?.isPaused == s.isPaused || s.isShutdown, true, "round \(round)")
                    XCTAssertEqual(view[id]?.isShutdown, s.isShutdown, "round \(round)")
                }
                XCTAssertEqual(view.count, world.count)
                view = world
                actions = []
            }
        }
    }

    func testStreamBytes() {
        let head = str(ServerSentEvents.head())
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        XCTAssertTrue(head.contains("\r\nContent-Type: text/event-stream\r\n"))
        XCTAssertTrue(head.contains("\r\nCache-Control: no-cache\r\n"))
        XCTAssertFalse(head.lowercased().contains("content-length"))
        XCTAssertTrue(head.hasSuffix("\r\n\r\nretry: 2000\n\n"))
        let e = LifecycleEvent(.shutdown, id: 3, name: b("web-1"), state: .shutdown, reason: 0)
        XCTAssertEqual(str(ServerSentEvents.event(sequence: 12, e, timeMs: 4567)),
                       "id: 12\nevent: shutdown\ndata: {\"id\":3,\"name\":\"web-1\",\"state\":\"shutdown\",\"time\":4567,\"reason\":\"poweroff\"}\n\n")
        let c = LifecycleEvent(.created, id: 4, name: b("a"), state: .blocked)
        XCTAssertEqual(str(ServerSentEvents.event(sequence: 1, c, timeMs: 0)),
                       "id: 1\nevent: created\ndata: {\"id\":4,\"name\":\"a\",\"state\":\"blocked\",\"time\":0}\n\n")
        // A name with line breaks cannot end the data line or forge a field.
        let forged = LifecycleEvent(.destroyed, id: 5, name: b("x\n\nevent: crashed\r\ndata: {}"), state: .destroyed)
        let text = str(ServerSentEvents.event(sequence: 2, forged, timeMs: 1))
        XCTAssertEqual(text.components(separatedBy: "\n").count, 5, text)
        XCTAssertTrue(text.hasSuffix("\n\n"))
        XCTAssertEqual(str(ServerSentEvents.keepAlive), ": keep-alive\n\n")
        XCTAssertEqual(ServerSentEvents.lastEventID(b("42")), 42)
        XCTAssertEqual(ServerSentEvents.lastEventID(b("0")), 0)
        XCTAssertEqual(ServerSentEvents.lastEventID(b("9999999999999999999")), 9_999_999_999_999_999_999)
        for bad in ["", "-1", "4 2", "x", "1.5", "99999999999999999999"] { XCTAssertNil(ServerSentEvents.lastEventID(b(bad)), bad) }
        XCTAssertNil(ServerSentEvents.lastEventID(nil))
    }

    func testRing() {
        var ring = EventRing()
        XCTAssertEqual(ring.after(0).count, 0)
        for i in 1...40 { XCTAssertEqual(ring.append(LifecycleEvent(.created, id: UInt16(i), name: [], state: .running), timeMs: UInt64(i)), UInt64(i)) }
        XCTAssertEqual(ring.entries.count, EventRing.capacity)
        XCTAssertEqual(ring.entries.first?.sequence, 9)
        XCTAssertEqual(ring.after(38).map(\.sequence), [39, 40])
        XCTAssertEqual(ring.after(40).count, 0)
        XCTAssertEqual(ring.after(0).count, 32)
        // A number this dom0 never gave (it restarted): every kept event.
        XCTAssertEqual(ring.after(1000).count, 32)
        XCTAssertEqual(ring.after(20).first?.event.id, 21)
    }

    func testSubscriberPolicy() {
        let s: UInt64 = 1_000_000_000
        // Nothing owed: kept, not stalled.
        XCTAssertTrue(SubscriberPolicy.check(owed: 0, progressed: false, stalledSince: 5 * s, now: 100 * s) == (.keep, nil))
        // Owing starts: the clock starts.
        XCTAssertTrue(SubscriberPolicy.check(owed: 100, progressed: false, stalledSince: nil, now: 10 * s) == (.keep, 10 * s))
        // Still owing, nothing taken: kept until the limit, then dropped.
        XCTAssertTrue(SubscriberPolicy.check(owed: 100, progressed: false, stalledSince: 10 * s, now: 40 * s) == (.keep, 10 * s))
        XCTAssertTrue(SubscriberPolicy.check(owed: 100, progressed: false, stalledSince: 10 * s, now: 41 * s) == (.drop, 10 * s))
        // Some taken: the clock starts again.
        XCTAssertTrue(SubscriberPolicy.check(owed: 100, progressed: true, stalledSince: 10 * s, now: 41 * s) == (.keep, 41 * s))
        // Too much owed: dropped at once, however recent.
        XCTAssertTrue(SubscriberPolicy.check(owed: SubscriberPolicy.maxOwed + 1, progressed: true, stalledSince: nil, now: 1) == (.drop, nil))
        XCTAssertTrue(SubscriberPolicy.check(owed: SubscriberPolicy.maxOwed, progressed: true, stalledSince: nil, now: 1).0 == .keep)
        // A clock that went backwards does not underflow.
        XCTAssertTrue(SubscriberPolicy.check(owed: 1, progressed: false, stalledSince: 50 * s, now: 10 * s) == (.keep, 50 * s))
    }

    func testShutdownWait() {
        func parse(_ t: String) -> Result<ShutdownWait, HttpError> { ShutdownWait.parse(b(t)) }
        XCTAssertEqual(try parse("/v1/domains/3/shutdown").get(), .wait(seconds: 30))
        XCTAssertEqual(try parse("/v1/domains/3/shutdown?").get(), .wait(seconds: 30))
        XCTAssertEqual(try parse("/x?timeout=5").get(), .wait(seconds: 5))
        XCTAssertEqual(try parse("/x?timeout=300").get(), .wait(seconds: 300))
        XCTAssertEqual(try parse("/x?timeout=0").get(), .immediate)
        XCTAssertEqual(try parse("/x?timeout=007").get(), .wait(seconds: 7))
        XCTAssertEqual(try parse("/x?wait=false").get(), .immediate)
        XCTAssertEqual(try parse("/x?wait=0").get(), .immediate)
        XCTAssertEqual(try parse("/x?wait=false&timeout=0").get(), .immediate)
        XCTAssertEqual(try parse("/x?wait=true").get(), .wait(seconds: 30))
        XCTAssertEqual(try parse("/x?wait=1&timeout=12").get(), .wait(seconds: 12))
        XCTAssertEqual(try parse("/x?timeout=12&&wait=true").get(), .wait(seconds: 12))
        for bad in ["/x?timeout=301", "/x?timeout=-1", "/x?timeout=", "/x?timeout=1.5", "/x?timeout=9999999", "/x?timeout=5&timeout=6",
                    "/x?wait=no", "/x?wait=", "/x?wait=true&wait=false", "/x?wait=false&timeout=5", "/x?colour=red", "/x?timeout",
                    "/x?Timeout=5", "/x?timeout=5s", "/x?timeout=%35"] {
            guard case .failure(let e) = parse(bad) else { XCTFail(bad); continue }
            XCTAssertEqual(e.status, 400, bad)
        }
    }

    func testEventsRoute() {
        func req(_ method: HttpMethod, _ target: String, auth: String? = "Bearer tok") -> HttpRequest {
            HttpRequest(method: method, target: b(target), minorVersion: 1,
                        headers: auth.map { [HttpHeader(name: b("authorization"), value: b($0))] } ?? [], body: [], keepAlive: true)
        }
        XCTAssertEqual(ApiRoute.decide(req(.get, "/v1/events"), token: b("tok")), .events)
        XCTAssertEqual(ApiRoute.decide(req(.get, "/v1/events/"), token: b("tok")), .events)
        XCTAssertEqual(ApiRoute.decide(req(.get, "/v1/events?x=1"), token: b("tok")), .events)
        XCTAssertEqual(ApiRoute.decide(req(.post, "/v1/events"), token: b("tok")), .refused(HttpError(405, "method not allowed on /v1/events; use GET")))
        XCTAssertEqual(ApiRoute.decide(req(.head, "/v1/events"), token: b("tok")), .refused(HttpError(405, "method not allowed on /v1/events; use GET")))
        XCTAssertEqual(ApiRoute.decide(req(.get, "/v1/events", auth: nil), token: b("tok")), .refused(HttpError(401, "missing or wrong bearer token")))
        // The query does not change the route of a shutdown; ShutdownWait reads it.
        XCTAssertEqual(ApiRoute.decide(req(.post, "/v1/domains/3/shutdown?timeout=5"), token: b("tok")), .shutdownDomain(.id(3)))
    }
}
