// HttpFuzz.swift: libFuzzer cases for what dom0's HTTP API server takes from a TCP client: the request
// parser fed the image in pieces of fuzzed sizes (the requests it hands over must be the same however
// the bytes are split, and within its limits), the routes it decides for them and the console endpoint's query, and the strict JSON
// reader (what it accepts must be a consistent tree; a string it decodes must survive the writer and
// the reader again), and the body of POST /v1/domains turned into a DomainConfig; kernel uploads' larger
// body limit, the /v1/kernels routes and the query reader; a shutdown's ?timeout=/?wait= and a
// Last-Event-ID. A trap, a request past a limit or a split-dependent answer is a finding.

import GuestKit

enum HttpFuzz {
    static func run(_ a1: UInt32, _ a2: UInt32, _ image: UnsafeRawBufferPointer) {
        switch a1 % 2 {
        case 0:
            // Half the runs admit kernel uploads (POST /v1/kernels with the token "ab") with a larger body.
            let upload = a2 >> 23 & 1 == 1 ? Int(a2 >> 13 & 1023) + Int(a2 >> 24) * 8 : 0
            let limits = HttpLimits(maxHeadBytes: 64 + Int(a2 % 512), maxHeaders: 1 + Int(a2 >> 9 & 15), maxBodyBytes: Int(a2 >> 13 & 1023),
                                    maxUploadBytes: upload, uploadToken: [0x61, 0x62])
            let whole = parse(image, limits: limits, pieces: { _ in image.count })
            var seed = a2 | 1
            let split = parse(image, limits: limits, pieces: { _ in
                seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5
                return 1 + Int(seed % 37)
            })
            precondition(whole == split, "the answer depends on how the bytes were split")
            for case .request(let r) in whole {
                precondition(r.body.count <= limits.maxBodyBytes || (KernelRoute.isUpload(r) && r.body.count <= limits.maxUploadBytes),
                             "a body past the limit")
                if case .kernels(.show(let n)) = ApiRoute.decide(r, token: [0x61, 0x62]) { precondition(KernelName.isValid(n), "a route to a bad kernel name") }
                if case .success(let v?) = HttpQuery.value(r.target, "name") { precondition(v.count <= r.target.count, "a decoded value longer than its text") }
                if case .success(let q) = ConsoleQuery.decode(r.target) {
                    precondition(q.lines >= 0 && q.lines <= ConsoleQuery.maxLines, "a console query past its line limit")
                }
                // The waiting shutdown's query and an event stream's Last-Event-ID.
                if case .success(.wait(let seconds)) = ShutdownWait.parse(r.target) {
                    precondition(seconds >= 1 && seconds <= ShutdownWait.maxSeconds, "a wait past its bounds")
                }
                _ = ServerSentEvents.lastEventID(r.header("last-event-id"))
            }
        default:
            let source = Array(image)
            if case .success(let c) = DomainConfigJson.decode(source) {
                precondition(!c.name.isEmpty && !c.kernel.isEmpty && c.memoryMiB >= 1 && c.cap <= 100 && c.vifs.count <= 4 && c.disks.count <= 4,
                             "a create body past the .cfg rules")
            }
            if case .success(let p) = DomainPatchJson.decode(source) {
                precondition(!p.isEmpty && (p.weight ?? 1) >= 1 && (p.cap ?? 0) <= 100 && (p.memoryTargetKiB ?? 1) >= 1, "a PATCH body past its rules")
            }
            let limits = JsonLimits(maxBytes: 4096, maxDepth: 1 + Int(a2 % 20), maxNodes: 1 + Int(a2 >> 5 % 512))
            guard case .success(let d) = JsonDocument.parse(source, limits: limits) else { return }
            precondition(!d.nodes.isEmpty && d.nodes.count <= limits.maxNodes, "node count")
            for (i, n) in d.nodes.enumerated() {
                precondition(n.next > i && n.next <= d.nodes.count && n.start <= n.end && n.end <= source.count, "node bounds")
                if n.kind == .string, let s = d.string(i) {
                    var w = JsonWriter()
                    w.string(s)
                    guard case .success(let again) = JsonDocument.parse(w.bytes) else { preconditionFailure("the writer wrote what the reader refuses") }
                    precondition(again.string(0) == s, "a string changed through the writer")
                }
                _ = d.integer(i)
                _ = d.members(i)
                _ = d.elements(i)
            }
        }
    }

    static func parse(_ image: UnsafeRawBufferPointer, limits: HttpLimits, pieces: (Int) -> Int) -> [HttpParseResult] {
        var p = HttpParser(limits: limits)
        var out: [HttpParseResult] = []
        var at = 0
        while at < image.count {
            let n = min(pieces(at), image.count - at)
            p.feed(UnsafeRawBufferPointer(rebasing: image[at..<(at + n)]))
            at += n
            while true {
                let r = p.next()
                if case .needMore = r { break }
                out.append(r)
                if case .error = r { return out }
            }
            precondition(p.buffered <= limits.maxHeadBytes + 3 * limits.maxBodyBytes + 300 + n, "the parser holds too many bytes")
        }
        return out
    }
}
