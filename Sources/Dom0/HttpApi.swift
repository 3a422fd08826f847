// HttpApi.swift: the endpoints of dom0's HTTP API (docs/openapi.json): GET /v1/host, GET and POST
// /v1/domains, GET, PATCH and DELETE /v1/domains/{id|name}, POST /v1/domains/{id|name}/pause, /unpause,
// /shutdown and /reboot (these two ask through control/shutdown as the shell does; here they answer
// 202 at once, for ?wait=false: HttpEvents parks the waiting kind; they never force a domain down),
// GET and POST /v1/domains/{id|name}/console (HttpConsole), and /v1/kernels (HttpKernels).
// It reads what the shell's list and info read (Toolstack's domain info, physinfo, xen_version) and
// destroys through Toolstack.destroy as the shell does; the route and the token check are decided
// first, in pure code (GuestKit ApiRoute). It never acts on a request that was not authorized.

import ApusCore
import GuestKit
import PVABI

enum HttpApi {
    /// The status and the complete response for `r`.
    static func respond(_ r: HttpRequest, token: [UInt8]) -> (UInt16, [UInt8]) {
        let head = r.method == .head
        func ok(_ w: JsonWriter) -> (UInt16, [UInt8]) {
            (200, HttpResponse.write(status: 200, body: w.bytes, keepAlive: r.keepAlive, headOnly: head))
        }
        func refuse(_ e: HttpError) -> (UInt16, [UInt8]) {
            let extra: [[UInt8]] = e.status == 401 ? [HttpBytes.bytes("WWW-Authenticate: Bearer realm=\"apus\"")] : []
            return (e.status, HttpResponse.write(status: e.status, body: HttpResponse.errorBody(e.reason), keepAlive: r.keepAlive, extra: extra, headOnly: head))
        }
        func setPaused(_ ref: DomainReference, _ pausing: Bool) -> (UInt16, [UInt8]) {
            guard let id = Shell.resolve(ref), Toolstack.info(id) != nil else { return refuse(HttpError(404, "no such domain")) }
            guard id != 0 else { return refuse(HttpError(409, "dom0 cannot pause or unpause itself")) }
            let rc = pausing ? Toolstack.pause(id) : Toolstack.unpause(id)
            guard rc == 0, let i = Toolstack.info(id) else { return refuse(HttpError(500, "the hypervisor refused the domctl")) }
            console.print(pausing ? "paused d\(id) (HTTP API)" : "unpaused d\(id) (HTTP API)")
            var w = JsonWriter()
            domain(i, &w)
            return ok(w)
        }
        func badBody(_ e: DomainConfigJsonError) -> (UInt16, [UInt8]) {
            var w = JsonWriter()
            w.beginObject(); w.key("error"); w.string(e.message); w.endObject()
            return (e.status, HttpResponse.write(status: e.status, body: w.bytes, keepAlive: r.keepAlive, headOnly: head))
        }
        func askToStop(_ ref: DomainReference, reboot: Bool) -> (UInt16, [UInt8]) {
            guard let id = Shell.resolve(ref), Toolstack.info(id) != nil else { return refuse(HttpError(404, "no such domain")) }
            guard id != 0 else { return refuse(HttpError(409, "dom0 cannot shut itself down through the API")) }
            guard ShellPower.ask(id, reboot: reboot), let i = Toolstack.info(id) else { return refuse(HttpError(500, "writing control/shutdown failed")) }
            var w = JsonWriter()
            domain(i, &w)
            return (202, HttpResponse.write(status: 202, body: w.bytes, keepAlive: r.keepAlive, headOnly: head))
        }
        switch ApiRoute.decide(r, token: token) {
        case .refused(let e):
            return refuse(e)
        case .kernels(let k):
            return HttpKernels.respond(k, r)
        case .host:
            return ok(host())
        case .domains:
            var w = JsonWriter()
            w.beginArray()
            for i in Toolstack.all() { domain(i, &w) }
            w.endArray()
            return ok(w)
        case .domain(let ref):
            guard let id = Shell.resolve(ref), let i = Toolstack.info(id) else { return refuse(HttpError(404, "no such domain")) }
            var w = JsonWriter()
            domain(i, &w)
            return ok(w)
        case .pauseDomain(let ref): return setPaused(ref, true)
        case .unpauseDomain(let ref): return setPaused(ref, false)
        case .shutdownDomain(let ref): return askToStop(ref, reboot: false)
        case .rebootDomain(let ref): return askToStop(ref, reboot: true)
        case .console(let ref): return HttpConsole.respond(r, ref, input: false)
        case .consoleInput(let ref): return HttpConsole.respond(r, ref, input: true)
        case .updateDomain(let ref):
            guard let id = Shell.resolve(ref), let before = Toolstack.info(id) else { return refuse(HttpError(404, "no such domain")) }
            let patch: DomainPatch
            switch DomainPatchJson.decode(r.body) {
            case .success(let p): patch = p
            case .failure(let e): return badBody(e)
            }
            if patch.weight != nil || patch.cap != nil {
                let weight = patch.weight ?? before.weight, cap = patch.cap ?? before.cap
                let rc = Toolstack.setScheduling(id, weight: weight, cap: cap)
                guard rc == 0 else { return refuse(HttpError(500, "the hypervisor refused scheduler_op")) }
                console.print("d\(id): weight \(weight), cap \(cap) (HTTP API)")
            }
            if let kib = patch.memoryTargetKiB {
                guard id != 0 else { return refuse(HttpError(409, "dom0's memory target is not set through the API")) }
                var value: [UInt8] = []
                HttpResponse.appendDecimal(&value, UInt64(kib))
                let path = StorePath.domainPath(id) + Array("/memory/target".utf8)
                if case .failure = DomainIO.write(path, value) { return refuse(HttpError(500, "writing memory/target failed")) }
                console.print("d\(id): memory/target = \(kib) KiB (HTTP API)")
            }
            guard let i = Toolstack.info(id) else { return refuse(HttpError(404, "no such domain")) }
            var w = JsonWriter()
            domain(i, &w)
            return ok(w)
        case .createDomain:
            let config: DomainConfig
            switch DomainConfigJson.decode(r.body) {
            case .success(let c): config = c
            case .failure(let e):
                var w = JsonWriter()
                w.beginObject(); w.key("error"); w.string(e.message); w.endObject()
                return (e.status, HttpResponse.write(status: e.status, body: w.bytes, keepAlive: r.keepAlive, headOnly: head))
            }
            guard Kernels.exists(config.kernel) else { return refuse(HttpError(404, "kernel is not a file in dom0's initrd nor an uploaded kernel")) }
            guard !Toolstack.all().contains(where: { $0.name == config.name }) else { return refuse(HttpError(409, "a domain with that name exists")) }
            let id = Shell.start(config)
            guard id > 0, let i = Toolstack.info(UInt16(id)) else { return refuse(HttpError(500, "the hypervisor could not create the domain")) }
            var w = JsonWriter()
            domain(i, &w)
            var location = HttpBytes.bytes("Location: /v1/domains/")
            HttpResponse.appendDecimal(&location, UInt64(id))
            return (201, HttpResponse.write(status: 201, body: w.bytes, keepAlive: r.keepAlive, extra: [location], headOnly: head))
        case .events:
            // The stream is the connection's (HttpEvents answers GET /v1/events before this).
            return refuse(HttpError(500, "the event stream is served by the connection"))
        case .destroyDomain(let ref):
            guard let id = Shell.resolve(ref) else { return refuse(HttpError(404, "no such domain")) }
            guard id != 0 else { return refuse(HttpError(409, "dom0 cannot destroy itself")) }
            let rc = Toolstack.destroy(id)
            guard rc == 0 else { return refuse(HttpError(500, "destroydomain failed")) }
            Shell.configs.removeAll { $0.id == id }
            console.print("destroyed d\(id) (HTTP API)")
            var w = JsonWriter()
            w.beginObject()
            w.key("destroyed"); w.integer(UInt64(id))
            w.endObject()
            return ok(w)
        }
    }

    static func host() -> JsonWriter {
        var w = JsonWriter()
        let (_, phys) = Toolstack.sysctl(.physInfo)
        func u32(_ o: Int) -> UInt64 { UInt64(phys[o]) | UInt64(phys[o + 1]) << 8 | UInt64(phys[o + 2]) << 16 | UInt64(phys[o + 3]) << 24 }
        let v = UInt32(bitPattern: xen.xenVersion(.version))
        var caps = [UInt8](repeating: 0, count: 1024)
        let rc = caps.withUnsafeMutableBufferPointer { xen.xenVersion(.capabilities, UInt32(UInt(bitPattern: $0.baseAddress))) }
        let capsEnd = rc == 0 ? (caps.firstIndex(of: 0) ?? 0) : 0
        let domains = Toolstack.all()
        w.beginObject()
        w.key("hypervisor"); w.string("Apus")
        w.key("version"); w.beginObject()
        w.key("major"); w.integer(UInt64(v >> 16))
        w.key("minor"); w.integer(UInt64(v & 0xFFFF))
        w.endObject()
        w.key("capabilities"); w.string(Array(caps[..<capsEnd]))
        w.key("memory"); w.beginObject()
        w.key("total_kib"); w.integer(u32(SysctlLayout.totalPagesOffset) * 4)
        w.key("free_kib"); w.integer(u32(SysctlLayout.freePagesOffset) * 4)
        w.key("scrub_kib"); w.integer(u32(SysctlLayout.scrubPagesOffset) * 4)
        w.endObject()
        w.key("domains"); w.integer(UInt64(domains.count))
        w.key("uptime_ms"); w.integer(GuestTime.now() / 1_000_000)
        w.key("http"); w.beginObject()
        w.key("port"); w.integer(UInt64(HttpServer.port))
        w.key("connections"); w.integer(UInt64(HttpServer.connections.count { $0 != nil }))
        w.key("answered"); w.integer(UInt64(HttpServer.answered))
        w.key("timed_out"); w.integer(UInt64(HttpServer.timedOut))
        w.key("refused"); w.integer(UInt64(HttpServer.refused))
        w.endObject()
        w.key("counters"); HostCounters.read().write(&w)
        w.endObject()
        return w
    }

    static func domain(_ i: DomainInfo, _ w: inout JsonWriter) {
        w.beginObject()
        w.key("id"); w.integer(UInt64(i.id))
        w.key("name"); w.string(i.name)
        w.key("state"); w.string(Shell.state(i))
        w.key("memory_kib"); w.integer(UInt64(i.pages) * 4)
        w.key("weight"); w.integer(UInt64(i.weight))
        w.key("cap"); w.integer(UInt64(i.cap))
        w.key("cpu_time_ms"); w.integer(i.cpuTime / 1_000_000)
        w.key("events_sent"); w.integer(UInt64(i.eventsSent))
        w.key("events_received"); w.integer(UInt64(i.eventsReceived))
        w.key("flags"); w.integer(UInt64(i.flags))
        if i.isShutdown { w.key("shutdown_reason"); w.string(Reaper.reasonName(i.shutdownReason)) }
        w.key("devices"); HttpDevices.write(i.id, &w)
        w.endObject()
    }

    static func appendMethod(_ l: inout LogLine, _ m: HttpMethod) {
        switch m {
        case .get: l.append("GET")
        case .head: l.append("HEAD")
        case .post: l.append("POST")
        case .put: l.append("PUT")
        case .delete: l.append("DELETE")
        case .patch: l.append("PATCH")
        case .options: l.append("OPTIONS")
        case .other(let b): for c in b.prefix(16) { l.append(byte: c) }
        }
    }
}
