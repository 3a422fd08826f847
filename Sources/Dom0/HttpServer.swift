// HttpServer.swift: dom0's HTTP API server, the connection side: lwIP's TCP events (httpglue.c) for
// up to 16 connections, each with its own incremental parser (GuestKit/Http), answered in the order
// the requests came (pipelining), with a bearer token checked on every request and an idle timeout
// that closes silent or slow clients; a connection holding an event stream or a waiting shutdown is
// HttpEvents' until that ends. It runs from lwIP's callbacks in dom0's main loop only and never
// waits. It never logs the token (it prints a generated one once, at start) or a request's headers.

import ApusCore
import GuestKit
import PVABI

@_extern(c, "apus_http_listen") func apus_http_listen(_ port: UInt16) -> Int32
@_extern(c, "apus_http_send") func apus_http_send(_ slot: Int32, _ data: UnsafeRawPointer?, _ length: UInt32) -> Int32

enum HttpServer {
    struct Connection {
        var parser = HttpParser()
        /// Response bytes lwIP has not taken yet.
        var out: [UInt8] = []
        /// The last response is queued: close once it is sent; later bytes are ignored.
        var closing = false
        var lastActivity: UInt64
        var peer: (address: UInt32, port: UInt16)
    }

    enum Action: Int32 { case keep = 0, close = 1, abort = 2 }

    static let slots = 16
    /// A connection with no bytes for this long is closed (408 when it left a request unfinished).
    static let idleTimeout: UInt64 = 10_000_000_000
    /// A connection owing more than this (a client pipelining without reading) is aborted.
    static let maxOwed = 256 * 1024
    static var connections: [Connection?] = Array(repeating: nil, count: 16)
    static var token: [UInt8] = []
    static var port: UInt16 = 80
    static var listening = false
    static var answered: UInt32 = 0
    static var timedOut: UInt32 = 0
    /// Connections reset at accept because all `slots` were taken.
    static var refused: UInt32 = 0

    /// Reads `http=PORT` and `api_token=TOKEN` from dom0's command line, makes a token if none was
    /// given (printed once, here), and listens.
    static func start() {
        let line = Kernel.startInfo.commandLine
        var given: [UInt8] = []
        for word in line.split(separator: 32) {
            if word.count > 5 && BootOptions.equal(word.prefix(5), "http=") {
                var v: UInt32 = 0
                var ok = true
                for c in word.dropFirst(5) { if c < 48 || c > 57 || v > 65535 { ok = false; break }; v = v * 10 + UInt32(c - 48) }
                if ok && v > 0 && v <= 65535 { port = UInt16(v) } else { console.print("http: ignored a malformed http= port") }
            }
            if word.count > 10 && BootOptions.equal(word.prefix(10), "api_token=") { given = Array(word.dropFirst(10)) }
        }
        if given.isEmpty {
            var seed = UInt64(guest_rdtsc()) ^ UInt64(lwipRandom()) << 32
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            for _ in 0..<32 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                seed ^= UInt64(lwipRandom())
                token.append(hex[Int(seed >> 60)])
            }
            token.withUnsafeBufferPointer { console.print("http: API token \(text: $0) (generated; printed only now)") }
        } else {
            token = given
            console.print("http: API token from the command line (\(token.count) bytes)")
        }
        listening = apus_http_listen(port) == 0
        console.print("http: API \(listening ? StaticString("listening") : StaticString("could not listen")) on port \(port) (\(slots) connections, \(idleTimeout / 1_000_000_000) s idle timeout)")
        if listening { Lifecycle.start() }
    }

    static func event(_ kind: Int32, _ slot: Int, _ address: UInt32, _ port: UInt16, _ data: UnsafeRawPointer?, _ length: UInt32) -> Action {
        if kind == 6 {
            // Every slot is taken: httpglue.c resets this one; the first few are said, the rest counted.
            refused &+= 1
            if refused <= 4 || refused % 64 == 0 {
                var line = LogLine("http: ")
                NetStack.append(&line, address: address)
                line.append(":")
                line.append(decimal: UInt64(port))
                line.append(" refused: all 16 connections busy (")
                line.append(decimal: UInt64(refused))
                line.append(" refused so far)")
                console.print(line)
            }
            return .abort
        }
        guard slot >= 0 && slot < slots else { return .abort }
        let now = GuestTime.now()
        switch kind {
        case 1:
            HttpEvents.forget(slot)
            connections[slot] = Connection(parser: HttpParser(limits: HttpLimits(maxUploadBytes: Kernels.maxUploadBytes, uploadToken: token)),
                                           lastActivity: now, peer: (address, port))
            return .keep
        case 2:
            guard connections[slot] != nil else { return .abort }
            connections[slot]!.lastActivity = now
            guard let data else {
                // The client finished sending: answer what it asked, then close (a parked request
                // is answered first).
                connections[slot]!.closing = true
                if HttpEvents.holds(slot) && !HttpEvents.isSubscriber(slot) { return .keep }
                return flush(slot)
            }
            if connections[slot]!.closing || HttpEvents.isSubscriber(slot) { return flush(slot) }
            connections[slot]!.parser.feed(UnsafeRawBufferPointer(start: data, count: Int(length)))
            // One kernel upload's large body at a time (Kernels.maxUploadBytes), whichever connection.
            connections[slot]!.parser.uploadsAdmitted = !connections.indices.contains { $0 != slot && connections[$0]?.parser.receivingUpload == true }
            serve(slot)
            if connections[slot]!.out.count > maxOwed || connections[slot]!.parser.buffered > maxOwed { return .abort }
            return flush(slot)
        case 3:
            guard connections[slot] != nil else { return .abort }
            if !HttpEvents.holds(slot) && connections[slot]!.parser.buffered > 0 { serve(slot) }
            return flush(slot)
        case 4:
            guard let c = connections[slot] else { return .abort }
            if HttpEvents.holds(slot) {
                guard HttpEvents.tick(slot, now) else { return .abort }
                if !HttpEvents.holds(slot) && connections[slot]!.parser.buffered > 0 { serve(slot) }
                return flush(slot)
            }
            if now - c.lastActivity < idleTimeout { return flush(slot) }
            if now - c.lastActivity > 2 * idleTimeout { return .abort }
            if !c.closing {
                timedOut &+= 1
                note(slot, "(no complete request)", status: 408)
                if c.parser.buffered > 0 { connections[slot]!.out += HttpResponse.error(HttpError(408, "request not completed in time")) }
                connections[slot]!.closing = true
            }
            return flush(slot)
        default:
            HttpEvents.forget(slot)
            connections[slot] = nil
            return .keep
        }
    }

    /// Answers every complete request the connection's parser has, in order.
    static func serve(_ slot: Int) {
        while !connections[slot]!.closing && !HttpEvents.holds(slot) {
            switch connections[slot]!.parser.next() {
            case .needMore:
                return
            case .error(let e):
                note(slot, "(malformed request)", status: e.status)
                connections[slot]!.out += HttpResponse.error(e)
                connections[slot]!.closing = true
            case .request(let r):
                // nil: the connection now holds a stream or a waiting request (HttpEvents answers it).
                guard let (status, response) = HttpEvents.respond(slot, r, token: token) else { continue }
                log(slot, requestLine(r), status: status)
                connections[slot]!.out += response
                answered &+= 1
                if !r.keepAlive { connections[slot]!.closing = true }
            }
        }
    }

    /// Gives lwIP what it can take of the connection's owed bytes; closes once all is sent after the last response.
    static func flush(_ slot: Int) -> Action {
        guard var c = connections[slot] else { return .abort }
        connections[slot] = nil
        defer { connections[slot] = c }
        while !c.out.isEmpty {
            let n = c.out.withUnsafeBytes { apus_http_send(Int32(slot), $0.baseAddress, UInt32($0.count)) }
            if n < 0 { return .abort }
            if n == 0 { break }
            c.out.removeFirst(Int(n))
        }
        return c.closing && c.out.isEmpty ? .close : .keep
    }

    /// "METHOD /path" as the log shows a request (the path's first 64 bytes, the query left out).
    static func requestLine(_ r: HttpRequest) -> LogLine {
        var path = LogLine()
        HttpApi.appendMethod(&path, r.method)
        path.append(" ")
        for c in r.path.prefix(64) { path.append(byte: c > 32 && c < 127 ? c : 63) }
        return path
    }

    static func log(_ slot: Int, _ what: LogLine, status: UInt16) {
        guard let c = connections[slot] else { return }
        var line = LogLine("http: ")
        NetStack.append(&line, address: c.peer.address)
        line.append(":")
        line.append(decimal: UInt64(c.peer.port))
        line.append(" ")
        for i in 0..<what.count { line.append(byte: what.bytes[i]) }
        line.append(" -> ")
        line.append(decimal: UInt64(status))
        console.print(line)
    }

    static func note(_ slot: Int, _ what: StaticString, status: UInt16) {
        var l = LogLine()
        l.append(what)
        log(slot, l, status: status)
    }
}

@_cdecl("dom0_http_event")
func dom0HttpEvent(_ kind: Int32, _ slot: Int32, _ address: UInt32, _ port: UInt16, _ data: UnsafeRawPointer?, _ length: UInt32) -> Int32 {
    let action = HttpServer.event(kind, Int(slot), address, port, data, length)
    // Closed or aborted: lwIP forgets the slot without a further event, so Swift does too.
    if action != .keep && slot >= 0 && Int(slot) < HttpServer.slots {
        HttpEvents.forget(Int(slot))
        HttpServer.connections[Int(slot)] = nil
    }
    return action.rawValue
}
