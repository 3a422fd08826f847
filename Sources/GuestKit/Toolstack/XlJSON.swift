// XlJSON.swift: `list -l` as xl prints it: a JSON array with one object per domain, {"domid": N,
// "config": {"c_info": ..., "b_info": ..., "disks": ..., "nics": ..., "on_crash": ...}} with libxl's
// names, four spaces per level, one line per key. Pure: a configuration in, lines out; strings are
// escaped so that no byte of a name or command line can break the JSON.

/// What `list -l` knows of one domain: its configuration when dom0 created it from one (dom0
/// itself and domains of other origins have none), and what the hypervisor reports.
public struct DomainDescription: Sendable {
    public var id: UInt16
    public var name: [UInt8]
    public var memoryKiB: UInt64
    public var vcpus: UInt32
    public var weight: UInt16
    public var cap: UInt16
    public var config: DomainConfig?

    public init(id: UInt16, name: [UInt8], memoryKiB: UInt64, vcpus: UInt32 = 1, weight: UInt16, cap: UInt16, config: DomainConfig? = nil) {
        self.id = id; self.name = name; self.memoryKiB = memoryKiB; self.vcpus = vcpus
        self.weight = weight; self.cap = cap; self.config = config
    }
}

public enum XlJSON {
    /// The whole `list -l` answer, one printed line per element.
    public static func list(_ domains: [DomainDescription]) -> [[UInt8]] {
        var w = Writer()
        w.line(0, "[")
        for (i, d) in domains.enumerated() {
            w.line(1, "{")
            w.field(2, "domid", number: UInt64(d.id), last: false)
            w.line(2, "\"config\": {")
            w.line(3, "\"c_info\": {")
            w.field(4, "type", string: bytes("pv"), last: false)
            w.field(4, "name", string: d.name, last: true)
            w.line(3, "},")
            w.line(3, "\"b_info\": {")
            w.field(4, "max_vcpus", number: UInt64(d.vcpus), last: false)
            w.field(4, "max_memkb", number: d.memoryKiB, last: false)
            w.field(4, "target_memkb", number: d.memoryKiB, last: false)
            w.line(4, "\"sched_params\": {")
            w.field(5, "weight", number: UInt64(d.weight), last: false)
            w.field(5, "cap", number: UInt64(d.cap), last: true)
            if let c = d.config {
                w.line(4, "},")
                w.line(4, "\"type.pv\": {")
                w.field(5, "kernel", string: c.kernel, last: false)
                w.field(5, "cmdline", string: c.extra, last: c.ramdisk.isEmpty)
                if !c.ramdisk.isEmpty { w.field(5, "ramdisk", string: c.ramdisk, last: true) }
                w.line(4, "}")
                w.line(3, "},")
                w.line(3, "\"disks\": [")
                for (j, disk) in c.disks.enumerated() {
                    w.line(4, "{")
                    w.field(5, "pdev_path", string: disk.target, last: false)
                    w.field(5, "vdev", string: disk.vdev, last: false)
                    w.field(5, "format", string: disk.format, last: false)
                    w.field(5, "readwrite", number: disk.writable ? 1 : 0, last: true)
                    w.line(4, j == c.disks.count - 1 ? "}" : "},")
                }
                w.line(3, "],")
                w.line(3, "\"nics\": [")
                for (j, vif) in c.vifs.enumerated() {
                    w.line(4, "{")
                    w.field(5, "devid", number: UInt64(j), last: false)
                    w.field(5, "mac", string: vif.address(domain: d.id, index: j), last: false)
                    w.field(5, "bridge", string: vif.bridge, last: true)
                    w.line(4, j == c.vifs.count - 1 ? "}" : "},")
                }
                w.line(3, "],")
                w.field(3, "on_crash", string: bytes(crashName(c.onCrash)), last: true)
            } else {
                w.line(4, "}")
                w.line(3, "}")
            }
            w.line(2, "}")
            w.line(1, i == domains.count - 1 ? "}" : "},")
        }
        w.line(0, "]")
        return w.lines
    }

    static func crashName(_ a: CrashAction) -> StaticString {
        switch a {
        case .destroy: return "destroy"
        case .preserve: return "preserve"
        case .restart: return "restart"
        }
    }

    /// A JSON string literal: quotes and backslashes escaped, control bytes and bytes past ASCII as \u00XX.
    public static func quoted(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [34]
        let hex = bytes("0123456789abcdef")
        for b in text {
            switch b {
            case 34, 92: out += [92, b]
            case 32..<127: out.append(b)
            default: out += bytes("\\u00") + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        out.append(34)
        return out
    }

    static func bytes(_ text: StaticString) -> [UInt8] {
        text.withUTF8Buffer { Array($0) }
    }

    struct Writer {
        var lines: [[UInt8]] = []
        mutating func line(_ depth: Int, _ text: StaticString) {
            lines.append([UInt8](repeating: 32, count: 4 * depth) + bytes(text))
        }
        mutating func field(_ depth: Int, _ key: StaticString, string: [UInt8], last: Bool) {
            lines.append([UInt8](repeating: 32, count: 4 * depth) + quoted(bytes(key)) + [58, 32] + quoted(string) + (last ? [] : [44]))
        }
        mutating func field(_ depth: Int, _ key: StaticString, number: UInt64, last: Bool) {
            lines.append([UInt8](repeating: 32, count: 4 * depth) + quoted(bytes(key)) + [58, 32] + XlFormat.decimal(number) + (last ? [] : [44]))
        }
    }
}
