// DeviceSpec.swift: one entry of a configuration's `vif = [...]` or `disk = [...]` list, in xl's
// spelling: a vif is `key=value` pairs (mac, bridge); a disk is `target,format,vdev,access`. Parsing
// only: it never touches the store; DomainStoreLayout turns these into frontend and backend nodes.

/// A network interface: `mac=00:16:3e:xx:xx:xx` (optional), `bridge=NAME` (optional).
public struct VifSpec: Equatable, Sendable {
    /// Six bytes, or nil to let the toolstack choose one from the domain id and the index.
    public var mac: [UInt8]?
    public var bridge: [UInt8]

    public init(mac: [UInt8]? = nil, bridge: [UInt8] = Array("xenbr0".utf8)) {
        self.mac = mac
        self.bridge = bridge
    }

    /// The MAC the vif has: its own, or one made up under Xen's 00:16:3e prefix from the domain id
    /// and the vif's index (unique among the domains running).
    public func address(domain: UInt16, index: Int) -> [UInt8] {
        mac ?? [0x00, 0x16, 0x3E, UInt8(truncatingIfNeeded: domain >> 8), UInt8(truncatingIfNeeded: domain), UInt8(truncatingIfNeeded: index)]
    }

    /// Parses `mac=..,bridge=..`; nil for an unknown key, a bad mac or an empty pair.
    public init?(_ text: [UInt8]) {
        self.init()
        if text.isEmpty { return }
        for pair in split(text, 44) {   // ','
            guard let eq = pair.firstIndex(of: 61) else { return nil }   // '='
            let key = Array(pair[0..<eq])
            let value = Array(pair[(eq + 1)...])
            if key == Array("mac".utf8) {
                guard let m = VifSpec.parseMAC(value) else { return nil }
                mac = m
            } else if key == Array("bridge".utf8) {
                guard !value.isEmpty, value.allSatisfy(isWordByte) else { return nil }
                bridge = value
            } else {
                return nil
            }
        }
    }

    /// "aa:bb:cc:dd:ee:ff" (hex, either case) as six bytes.
    public static func parseMAC(_ text: [UInt8]) -> [UInt8]? {
        let parts = split(text, 58)   // ':'
        guard parts.count == 6 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard p.count == 2, let hi = hexValue(p[0]), let lo = hexValue(p[1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }

    /// The text form, lower case: "00:16:3e:00:01:00".
    public static func spell(mac: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, b) in mac.enumerated() {
            if i > 0 { out.append(58) }
            out.append(hexDigit(b >> 4))
            out.append(hexDigit(b & 15))
        }
        return out
    }
}

/// A block device: `target,format,vdev,access`, such as `disk.img,raw,hda,w`.
/// Where a disk's bytes come from, for blkback (issue #14).
public enum DiskBacking: Equatable, Sendable {
    /// Bytes [start, end) of dom0's virtio disk (`vdisk:START-END`, decimal or 0x hex, both
    /// multiples of 512, end > start).
    case virtioRange(start: UInt64, end: UInt64)
    /// A file of dom0's initrd, served read-only (`initrd:NAME`).
    case initrd([UInt8])
    /// A plain name: nothing in dom0 backs it (the frontend's nodes are written; no backend answers).
    case none
}

public struct DiskSpec: Equatable, Sendable {
    public var target: [UInt8]
    public var format: [UInt8]
    /// The name as written ("hda", "xvdb", "sda").
    public var vdev: [UInt8]
    /// Xen's virtual-device number for `vdev` (hda 768, hdb 832, sda 2048, xvda 51712...).
    public var number: UInt32
    public var writable: Bool

    public var backing: DiskBacking

    /// Parses the positional fields, `target,format,vdev,access` or `target,vdev,access` (format raw);
    /// nil when a field is missing, the vdev is not one of hd[a-b], sd[a-p], xvd[a-p], the access is
    /// not r, ro, w or rw, a `vdisk:` range is malformed, or an `initrd:` disk is writable.
    public init?(_ text: [UInt8]) {
        var fields = split(text, 44)
        if fields.count == 3 { fields.insert([114, 97, 119], at: 1) }      // "raw"
        guard fields.count == 4, !fields[0].isEmpty, fields[0].allSatisfy(isPathByte),
              !fields[1].isEmpty, fields[1].allSatisfy(isWordByte),
              let number = DiskSpec.deviceNumber(fields[2]) else { return nil }
        switch fields[3] {
        case [114], [114, 111]: writable = false          // r, ro
        case [119], [114, 119]: writable = true           // w, rw
        default: return nil
        }
        target = fields[0]
        format = fields[1]
        vdev = fields[2]
        self.number = number
        guard let b = DiskSpec.backing(fields[0], writable: writable) else { return nil }
        backing = b
    }

    static func backing(_ target: [UInt8], writable: Bool) -> DiskBacking? {
        let vdisk: [UInt8] = Array("vdisk:".utf8), initrd: [UInt8] = Array("initrd:".utf8)
        if target.starts(with: vdisk) {
            let range = split(Array(target.dropFirst(vdisk.count)), 45)            // '-'
            guard range.count == 2, let start = number(range[0]), let end = number(range[1]),
                  start % 512 == 0, end % 512 == 0, end > start else { return nil }
            return .virtioRange(start: start, end: end)
        }
        if target.starts(with: initrd) {
            let name = Array(target.dropFirst(initrd.count))
            guard !name.isEmpty, !name.contains(47), !writable else { return nil }   // no '/', read-only
            return .initrd(name)
        }
        return target.contains(58) ? nil : DiskBacking.none                     // ':' names a backing we do not know
    }

    /// Decimal, or hexadecimal after 0x; at most 15 digits.
    static func number(_ text: [UInt8]) -> UInt64? {
        var digits = text[...]
        var base: UInt64 = 10
        if digits.count > 2 && digits.first == 48 && (digits[digits.startIndex + 1] | 0x20) == 120 { digits = digits.dropFirst(2); base = 16 }
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        var v: UInt64 = 0
        for b in digits {
            guard let d = hexValue(b), UInt64(d) < base else { return nil }
            v = v * base + UInt64(d)
        }
        return v
    }

    /// Xen's numbering of PV disk names (docs/misc/vbd-interface): IDE hda/hdb on major 3 (64 minors
    /// per disk), SCSI sdX on major 8 and xvdX on major 202 (16 minors per disk).
    public static func deviceNumber(_ name: [UInt8]) -> UInt32? {
        func letter(_ b: UInt8, max: UInt8) -> UInt32? { b >= 97 && b <= max ? UInt32(b - 97) : nil }
        if name.count == 3, name[0] == 104, name[1] == 100, let i = letter(name[2], max: 98) { return 3 << 8 | i * 64 }
        if name.count == 3, name[0] == 115, name[1] == 100, let i = letter(name[2], max: 112) { return 8 << 8 | i * 16 }
        if name.count == 4, name[0] == 120, name[1] == 118, name[2] == 100, let i = letter(name[3], max: 112) {
            return 202 << 8 | i * 16
        }
        return nil
    }
}

private func split(_ text: [UInt8], _ separator: UInt8) -> [[UInt8]] {
    var parts: [[UInt8]] = []
    var current: [UInt8] = []
    for b in text {
        if b == separator { parts.append(current); current = [] } else { current.append(b) }
    }
    parts.append(current)
    return parts
}

private func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 48...57: return b - 48
    case 97...102: return b - 87
    case 65...70: return b - 55
    default: return nil
    }
}

private func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

private func isWordByte(_ b: UInt8) -> Bool {
    (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 || b == 45 || b == 46
}

/// A target may also hold '/' (a path in dom0) and ':' (vdisk:, initrd:).
private func isPathByte(_ b: UInt8) -> Bool { isWordByte(b) || b == 47 || b == 58 }   // '/', ':'
