// HttpEvents.swift: the HTTP API's requests that outlive their turn: GET /v1/events (the connection
// becomes a text/event-stream of Lifecycle's events, with keep-alive comments; at most
// SubscriberPolicy.maxSubscribers at once; one that stops reading is dropped) and POST
// /v1/domains/{id}/shutdown or /reboot that wait (ShutdownWait: the request is parked on its
// connection and answered from Lifecycle's event, 200 with the stopped domain, or from the
// connection's 1 s poll once its timeout passed, 202 with the domain as it is). Nothing here waits
// or loops on time: lwIP's callbacks and Lifecycle's looks drive it. It never forces a domain down.

import ApusCore
import GuestKit
import PVABI

enum HttpEvents {
    struct Parked {
        var id: UInt16
        var reboot: Bool
        var seconds: UInt32
        var since: UInt64
        var deadline: UInt64
        var keepAlive: Bool
        var head: Bool
        /// The request as the log shows it ("POST /v1/domains/3/shutdown").
        var line: LogLine
    }

    struct Subscriber {
        var lastWrite: UInt64
        /// out's length as it should be if lwIP took nothing since the last look.
        var expected: Int = 0
        var stalledSince: UInt64? = nil
        var dropping = false
    }

    enum Held {
        case parked(Parked)
        case subscriber(Subscriber)
    }

    static var held: [Held?] = Array(repeating: nil, count: HttpServer.slots)
    static var dropped: UInt32 = 0

    /// Whether the connection in `slot` is a stream or a parked request (it serves no further requests).
    static func holds(_ slot: Int) -> Bool { held[slot] != nil }

    static func isSubscriber(_ slot: Int) -> Bool {
        if case .subscriber = held[slot] { return true }
        return false
    }

    static var subscribers: Int { held.count { if case .subscriber = $0 { return true } else { return false } } }

    /// The answer to `r` on `slot`, or nil when the connection now holds it (a stream or a parked
    /// wait: HttpEvents writes and logs its answer itself). Other requests go to HttpApi.respond.
    static func respond(_ slot: Int, _ r: HttpRequest, token: [UInt8]) -> (UInt16, [UInt8])? {
        let route = ApiRoute.decide(r, token: token)
        switch route {
        case .events:
            return subscribe(slot, r)
        case .shutdownDomain(let ref), .rebootDomain(let ref):
            var reboot = false
            if case .rebootDomain = route { reboot = true }
            switch ShutdownWait.parse(r.target) {
            case .failure(let e): return error(e, r)
            case .success(.immediate): return HttpApi.respond(r, token: token)
            case .success(.wait(let seconds)): return park(slot, r, ref, reboot: reboot, seconds: seconds)
            }
        default:
            return HttpApi.respond(r, token: token)
        }
    }

    static func error(_ e: HttpError, _ r: HttpRequest) -> (UInt16, [UInt8]) {
        (e.status, HttpResponse.write(status: e.status, body: HttpResponse.errorBody(e.reason), keepAlive: r.keepAlive, headOnly: r.method == .head))
    }

    // MARK: the event stream

    static func subscribe(_ slot: Int, _ r: HttpRequest) -> (UInt16, [UInt8])? {
        guard subscribers < SubscriberPolicy.maxSubscribers else {
            return error(HttpError(503, "too many event streams; at most 4 at once"), r)
        }
        var out = ServerSentEvents.head()
        // A reconnecting client names the last event it saw: the kept ones after it come first.
        if let last = ServerSentEvents.lastEventID(r.header("last-event-id")) {
            for e in Lifecycle.ring.after(last) { out += ServerSentEvents.event(sequence: e.sequence, e.event, timeMs: e.timeMs) }
        }
        HttpServer.connections[slot]!.out += out
        held[slot] = .subscriber(Subscriber(lastWrite: GuestTime.now(), expected: HttpServer.connections[slot]!.out.count))
        HttpServer.log(slot, HttpServer.requestLine(r), status: 200)
        console.print("http: event stream opened (\(subscribers) of \(SubscriberPolicy.maxSubscribers))")
        return nil
    }

    /// Sends `e` to every stream; how many took it.
    static func publish(_ sequence: UInt64, _ e: LifecycleEvent, timeMs: UInt64) -> Int {
        var count = 0
        let bytes = ServerSentEvents.event(sequence: sequence, e, timeMs: timeMs)
        for slot in 0..<held.count {
            guard case .subscriber(var s) = held[slot], !s.dropping, HttpServer.connections[slot] != nil else { continue }
            HttpServer.connections[slot]!.out += bytes
            s.expected += bytes.count
            s.lastWrite = GuestTime.now()
            if HttpServer.connections[slot]!.out.count > SubscriberPolicy.maxOwed { s.dropping = true }
            held[slot] = .subscriber(s)
            if !s.dropping {
                count += 1
                _ = HttpServer.flush(slot)
            }
        }
        return count
    }

    // MARK: waiting shutdowns

    static func park(_ slot: Int, _ r: HttpRequest, _ ref: DomainReference, reboot: Bool, seconds: UInt32) -> (UInt16, [UInt8])? {
        guard let id = Shell.resolve(ref), Toolstack.info(id) != nil else { return error(HttpError(404, "no such domain"), r) }
        guard id != 0 else { return error(HttpError(409, "dom0 cannot shut itself down through the API"), r) }
        // A domain already stopped is answered at once.
        if let i = Toolstack.info(id), i.isShutdown { return (200, domainResponse(i, status: 200, keepAlive: r.keepAlive, head: r.method == .head)) }
        guard ShellPower.ask(id, reboot: reboot) else { return error(HttpError(500, "writing control/shutdown failed"), r) }
        let now = GuestTime.now()
        held[slot] = .parked(Parked(id: id, reboot: reboot, seconds: seconds, since: now, deadline: now + UInt64(seconds) * 1_000_000_000,
                                    keepAlive: r.keepAlive, head: r.method == .head, line: HttpServer.requestLine(r)))
        console.print("http: waiting up to \(seconds) s for d\(id) to stop")
        // The guest may have stopped already (its event is then on the way): look now.
        Lifecycle.observe()
        return nil
    }

    /// Answers the parked requests `e` settles: a stop answers 200 with the stopped domain; a domain
    /// destroyed before it stopped, 409.
    static func settle(_ e: LifecycleEvent, info: DomainInfo?) {
        guard e.kind == .shutdown || e.kind == .crashed || e.kind == .destroyed else { return }
        for slot in 0..<held.count {
            guard case .parked(let p) = held[slot], p.id == e.id else { continue }
            let waited = (GuestTime.now() - min(p.since, GuestTime.now())) / 1_000_000
            if e.kind != .destroyed, let info {
                console.print("http: d\(p.id) stopped (\(e.reasonName ?? "unknown")) after \(waited) ms; answering the waiting request")
                answer(slot, p, status: 200, domainResponse(info, status: 200, keepAlive: p.keepAlive, head: p.head))
            } else {
                console.print("http: d\(p.id) was destroyed before it stopped; answering the waiting request")
                let body = HttpResponse.errorBody("the domain was destroyed before it shut down")
                answer(slot, p, status: 409, HttpResponse.write(status: 409, body: body, keepAlive: p.keepAlive, headOnly: p.head))
            }
        }
    }

    static func answer(_ slot: Int, _ p: Parked, status: UInt16, _ response: [UInt8]) {
        held[slot] = nil
        guard HttpServer.connections[slot] != nil else { return }
        HttpServer.log(slot, p.line, status: status)
        HttpServer.connections[slot]!.out += response
        HttpServer.connections[slot]!.lastActivity = GuestTime.now()
        HttpServer.answered &+= 1
        if !p.keepAlive { HttpServer.connections[slot]!.closing = true }
        _ = HttpServer.flush(slot)
    }

    static func domainResponse(_ i: DomainInfo, status: UInt16, keepAlive: Bool, head: Bool) -> [UInt8] {
        var w = JsonWriter()
        HttpApi.domain(i, &w)
        return HttpResponse.write(status: status, body: w.bytes, keepAlive: keepAlive, headOnly: head)
    }

    // MARK: the connection's poll (1 s) and its end

    /// The poll of a held connection: a parked request past its deadline is answered 202, a quiet
    /// stream gets a keep-alive, a stream that stopped reading is dropped (false: abort it).
    static func tick(_ slot: Int, _ now: UInt64) -> Bool {
        guard let h = held[slot], HttpServer.connections[slot] != nil else { return true }
        switch h {
        case .parked(let p):
            guard now >= p.deadline else { return true }
            console.print("http: d\(p.id) did not stop within \(p.seconds) s; answering 202")
            if let i = Toolstack.info(p.id) {
                answer(slot, p, status: 202, domainResponse(i, status: 202, keepAlive: p.keepAlive, head: p.head))
            } else {
                answer(slot, p, status: 404, HttpResponse.write(status: 404, body: HttpResponse.errorBody("no such domain"), keepAlive: p.keepAlive, headOnly: p.head))
            }
            return true
        case .subscriber(var s):
            if s.dropping { return drop(slot) }
            if now - min(s.lastWrite, now) >= SubscriberPolicy.keepAliveInterval {
                let k = ServerSentEvents.keepAlive
                HttpServer.connections[slot]!.out += k
                s.expected += k.count
                s.lastWrite = now
            }
            let owed = HttpServer.connections[slot]!.out.count
            let (verdict, stalled) = SubscriberPolicy.check(owed: owed, progressed: owed < s.expected, stalledSince: s.stalledSince, now: now)
            s.stalledSince = stalled
            s.expected = owed
            held[slot] = .subscriber(s)
            return verdict == .keep ? true : drop(slot)
        }
    }

    static func drop(_ slot: Int) -> Bool {
        dropped &+= 1
        console.print("http: dropped an event stream that stopped reading (\(HttpServer.connections[slot]?.out.count ?? 0) bytes owed)")
        held[slot] = nil
        return false
    }

    /// The connection is gone (closed, reset or aborted): whatever it held goes with it.
    static func forget(_ slot: Int) {
        guard slot >= 0 && slot < held.count, let h = held[slot] else { return }
        held[slot] = nil
        if case .parked(let p) = h { console.print("http: the client waiting for d\(p.id) went away") }
        else { console.print("http: event stream closed (\(subscribers) left)") }
    }
}
