// HttpKernels.swift: the /v1/kernels endpoints of dom0's HTTP API (docs/openapi.json): GET lists the
// initrd's kernels and the uploaded ones, POST keeps the body as an uploaded kernel once the domain
// builder's image checks pass (KernelStore decides; 201 with Location), GET /v1/kernels/{name} shows
// one, DELETE forgets an upload (an initrd file is refused). The route was decided and the token
// checked before this runs (ApiRoute); it never logs a kernel's bytes.

import ApusCore
import GuestKit

enum HttpKernels {
    static func respond(_ route: KernelRoute, _ r: HttpRequest) -> (UInt16, [UInt8]) {
        let head = r.method == .head
        func answer(_ status: UInt16, _ w: JsonWriter, extra: [[UInt8]] = []) -> (UInt16, [UInt8]) {
            (status, HttpResponse.write(status: status, body: w.bytes, keepAlive: r.keepAlive, extra: extra, headOnly: head))
        }
        func refuse(_ status: UInt16, _ message: [UInt8]) -> (UInt16, [UInt8]) {
            var w = JsonWriter()
            w.beginObject(); w.key("error"); w.string(message); w.endObject()
            return answer(status, w)
        }
        switch route {
        case .list:
            var w = JsonWriter()
            w.beginArray()
            for k in Kernels.initrdKernels() { KernelJson.write(name: k.name, source: .initrd, info: k.info, into: &w) }
            for k in Kernels.uploads.kernels { KernelJson.write(name: k.name, source: .upload, info: k.info, into: &w) }
            w.endArray()
            return answer(200, w)
        case .show(let name):
            var w = JsonWriter()
            if let k = Kernels.uploads.kernel(named: name) {
                KernelJson.write(name: k.name, source: .upload, info: k.info, into: &w)
            } else if let file = Toolstack.initrd.entry(named: name), case .success(let info) = KernelInfo.inspect(UnsafeRawBufferPointer(file.data)) {
                KernelJson.write(name: name, source: .initrd, info: info, into: &w)
            } else {
                return refuse(404, HttpBytes.bytes("no such kernel"))
            }
            return answer(200, w)
        case .upload:
            let name: [UInt8]?
            switch HttpQuery.value(r.target, "name") {
            case .success(let n): name = n
            case .failure(let e): return refuse(e.status, HttpBytes.bytes(e.reason))
            }
            switch Kernels.uploads.add(r.body, name: name, inInitrd: Kernels.inInitrd) {
            case .failure(let refusal):
                console.print("kernel upload refused (\(refusal.status)): \(r.body.count) bytes (HTTP API)")
                return refuse(refusal.status, refusal.message)
            case .success(let k):
                k.name.withUnsafeBufferPointer { n in
                    k.info.notes.guestOS.withUnsafeBufferPointer { os in
                        console.print("kernel '\(text: n)' uploaded: \(k.bytes.count) bytes, entry \(hex: k.info.entry), guest \(text: os), \(Kernels.uploads.kernels.count) kept (HTTP API)")
                    }
                }
                var w = JsonWriter()
                KernelJson.write(name: k.name, source: .upload, info: k.info, into: &w)
                return answer(201, w, extra: [HttpBytes.bytes("Location: /v1/kernels/") + k.name])
            }
        case .delete(let name):
            switch Kernels.uploads.remove(named: name, inInitrd: Kernels.inInitrd) {
            case .failure(let refusal):
                return refuse(refusal.status, refusal.message)
            case .success(let k):
                k.name.withUnsafeBufferPointer { console.print("kernel '\(text: $0)' deleted: \(k.bytes.count) bytes freed (HTTP API)") }
                var w = JsonWriter()
                w.beginObject(); w.key("deleted"); w.string(k.name); w.endObject()
                return answer(200, w)
            }
        }
    }
}
