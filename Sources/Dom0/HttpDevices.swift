// HttpDevices.swift: the `devices` member of a domain in dom0's HTTP API: each disk and vif of the
// configuration the domain was created from (shell or POST /v1/domains, the same DomainConfig), with
// the state of dom0's backend for it: "connected" once the frontend's ring is mapped, "waiting" while
// the backend is probed but the frontend has not connected, "none" when dom0 has no backend for it (a
// disk naming nothing dom0 can serve). It only reads the toolstack's lists; it never changes a device.

import GuestKit

enum HttpDevices {
    static func write(_ id: UInt16, _ w: inout JsonWriter) {
        w.beginArray()
        if let config = Shell.configs.first(where: { $0.id == id })?.config {
            for disk in config.disks {
                let backend = Backends.blocks.first { $0.domain == id && $0.spec.number == disk.number }
                w.beginObject()
                w.key("type"); w.string("vbd")
                w.key("vdev"); w.string(disk.vdev)
                w.key("device"); w.integer(UInt64(disk.number))
                w.key("target"); w.string(disk.target)
                w.key("writable"); w.bool(disk.writable)
                w.key("backend"); w.string(backend == nil ? "none" : backend?.ring != nil ? "connected" : "waiting")
                w.endObject()
            }
            for (i, vif) in config.vifs.enumerated() {
                let backend = Backends.vifs.first { $0.domain == id && $0.index == UInt32(i) }
                w.beginObject()
                w.key("type"); w.string("vif")
                w.key("index"); w.integer(UInt64(i))
                w.key("mac"); w.string(VifSpec.spell(mac: vif.address(domain: id, index: i)))
                w.key("bridge"); w.string(vif.bridge)
                w.key("backend"); w.string(backend == nil ? "none" : backend?.txRing != nil ? "connected" : "waiting")
                w.endObject()
            }
        }
        w.endArray()
    }
}
