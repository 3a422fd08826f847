// HttpConsole.swift: GET and POST /v1/domains/{id|name}/console of dom0's HTTP API (docs/openapi.json):
// a read answers the last lines dom0's console backend kept of the domain's ring output (DomainIO's
// ConsoleHistory); a write puts the body into the domain's console input ring through the same
// DomainIO.input the shell's `console` types with. The query, the limits and the JSON are decided in
// GuestKit's ConsoleQuery first. It never reads a guest's ring itself, and never acts on dom0's console.

import ApusCore
import GuestKit
import PVABI

enum HttpConsole {
    static func respond(_ r: HttpRequest, _ ref: DomainReference, input: Bool) -> (UInt16, [UInt8]) {
        let head = r.method == .head
        func refuse(_ e: HttpError) -> (UInt16, [UInt8]) {
            (e.status, HttpResponse.write(status: e.status, body: HttpResponse.errorBody(e.reason), keepAlive: r.keepAlive, headOnly: head))
        }
        func answer(_ status: UInt16, _ w: JsonWriter) -> (UInt16, [UInt8]) {
            (status, HttpResponse.write(status: status, body: w.bytes, keepAlive: r.keepAlive, headOnly: head))
        }
        guard let id = Shell.resolve(ref), Toolstack.info(id) != nil else { return refuse(HttpError(404, "no such domain")) }
        guard id != 0 else { return refuse(HttpError(409, "dom0's console is the hypervisor's serial console, not a ring")) }
        if input {
            if let e = ConsoleQuery.checkInput(r.body) { return refuse(e) }
            switch DomainIO.input(r.body, to: id) {
            case .noRing: return refuse(HttpError(409, "the domain has no console ring"))
            case .garbage: return refuse(HttpError(409, "the domain's console input ring indexes are garbage"))
            case .accepted(0): return refuse(HttpError(409, "the domain's console input ring is full"))
            case .accepted(let n):
                DomainIO.service()
                return answer(200, ConsoleQuery.written(domain: id, accepted: n, sent: r.body.count))
            }
        }
        let query: ConsoleQuery
        switch ConsoleQuery.decode(r.target) {
        case .success(let q): query = q
        case .failure(let e): return refuse(e)
        }
        // What the guest wrote since the last event is read first.
        DomainIO.service()
        guard let tail = DomainIO.consoleTail(id, lines: query.lines, since: query.since) else {
            return refuse(HttpError(409, "the domain has no console ring"))
        }
        return answer(200, ConsoleQuery.write(domain: id, tail))
    }
}
