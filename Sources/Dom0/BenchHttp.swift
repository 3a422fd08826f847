// BenchHttp.swift: make bench's HTTP API rows (issue #15), on their own boot (bench-http) with a
// virtio-net card whose port 80 QEMU forwards to the host, where Scripts/bench-http.py's client drives
// the API: GET /v1/domains from 1 keep-alive connection, then from 16 at once, then one POST
// /v1/domains. Dom0 prints each phase's plan and when it starts and ends timing (the client waits for
// those lines, so no phase's requests fall into another's count), and serves in an event-driven loop
// that wakes for the card or, at most, once a second for lwIP's timers.
// What it counts is its own CPU time (getdomaininfo's cpu_time, virtual ns: under -icount shift=0 one
// instruction each): the wall time between two requests is the host's, and under -icount sleep=off
// the idle CPU's virtual clock jumps from timer tick to timer tick while it waits, by as many as the
// host's speed allows, so elapsed virtual time would measure the host, not the server.
// It only serves and reports; it never answers a request itself (HttpServer and HttpApi do).

import ApusCore
import GuestKit
import PVABI

enum BenchHttp {
    /// The phases: concurrent keep-alive connections and GET /v1/domains requests timed over all of them.
    static let phases: [(clients: Int, requests: Int)] = [(1, 512), (16, 1024)]
    /// The name the client gives the domain it creates with POST /v1/domains.
    static let createdName: [UInt8] = Array("bench-api".utf8)
    /// TSC when the loop last woke, before it took the card's frames.
    static var wokeTSC: UInt64 = 0

    /// Serves the API until `condition` holds: false (and a line) after an hour of virtual time. The
    /// host's client gives up far sooner and stops QEMU; this bound only keeps the loop finite.
    static func serve(until condition: () -> Bool, _ what: StaticString) -> Bool {
        let deadline = GuestTime.now() + 3_600_000_000_000
        while !condition() {
            if GuestTime.now() >= deadline {
                console.print("bench-http: gave up waiting for \(what)")
                return false
            }
            _ = Dom0Events.wait(atMost: 1_000_000_000) { (NetStack.nic?.hasWork ?? false) || DomainIO.isSignalled }
            wokeTSC = guest_rdtsc()
            NetStack.poll()
            DomainIO.serviceIfSignalled()
        }
        return true
    }

    /// Dom0's CPU time so far (ns), its current run included: a yield charges it first.
    static func cpuTime() -> UInt64 {
        _ = xen.schedOp(.yield)
        return Toolstack.info(0)?.cpuTime ?? 0
    }

    static func run() -> Bool {
        Reaper.start()
        GuestEvents.enable()
        guard Devices.attachNetwork() != nil, HttpServer.listening else { return false }
        guard NetStack.run(atMost: 30_000_000_000, until: { NetStack.hasLease }) else {
            console.print("bench-http: dom0 got no DHCP lease")
            return false
        }
        console.print("bench-http: serving")
        for (index, phase) in phases.enumerated() {
            let k = index + 1
            // One request per connection opens them (TCP handshakes, first allocations), untimed.
            let warm = HttpServer.answered &+ UInt32(phase.clients)
            console.print("bench-http: phase \(k): \(phase.clients) clients, \(phase.requests) requests of GET /v1/domains after \(phase.clients) warm-up requests")
            guard serve(until: { HttpServer.answered >= warm }, "the warm-up requests") else { return false }
            guard HttpServer.answered == warm else {
                console.print("bench-http: phase \(k) answered more than its warm-up requests before timing")
                return false
            }
            let cpu0 = cpuTime(), t0 = GuestTime.now()
            let target = warm &+ UInt32(phase.requests)
            console.print("bench-http: phase \(k) timing")
            guard serve(until: { HttpServer.answered >= target }, "the timed requests") else { return false }
            let cpu1 = cpuTime(), t1 = GuestTime.now()
            guard HttpServer.answered == target, cpu1 > cpu0 else {
                console.print("bench-http: phase \(k) answered \(HttpServer.answered &- warm) requests, \(phase.requests) expected")
                return false
            }
            let spent = cpu1 - cpu0, n = UInt64(phase.requests)
            console.print("bench-http: phase \(k): \(n) requests in \(spent / 1000) us of dom0 CPU time (\((t1 - t0) / 1000) us of virtual time elapsed, mostly idle between the host's requests)")
            console.print("bench: guest http_get_domains_rps_\(phase.clients) \(n * 1_000_000_000 / spent)")
            console.print("bench: guest http_get_domains_ns_per_request_\(phase.clients) \(spent / n)")
            // Shown beside it, never compared: it counts the idle time between the host's requests too.
            console.print("bench: guest http_get_domains_elapsed_rps_\(phase.clients) \(n * 1_000_000_000 / max(t1 - t0, 1))")
            console.print("bench-http: phase \(k) done")
        }
        // POST /v1/domains: the stamp is the wake of the loop turn that took the request's frame and
        // made the domain; the spinner (stamp=1) prints the TSC of its first instruction.
        console.print("bench-http: create")
        var requestTSC: UInt64 = 0
        guard serve(until: {
            if Toolstack.all().contains(where: { $0.name == createdName }) { requestTSC = wokeTSC; return true }
            return false
        }, "POST /v1/domains") else { return false }
        console.print("bench: guest api_create_request_tsc \(requestTSC)")
        // The client deletes it through the API once it has seen the first instruction's stamp.
        guard serve(until: { !Toolstack.all().contains(where: { $0.name == createdName }) }, "DELETE of the created domain") else {
            return false
        }
        console.print("bench-http: done, \(HttpServer.answered) requests answered")
        return true
    }
}
