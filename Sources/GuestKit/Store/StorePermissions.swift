// StorePermissions.swift: a node's access list as XenStore spells it ("n0", "r5", "b7"...): the
// first entry names the owner and what everyone else may do, later ones grant single domains.
// Parsing and checking only: it never changes a node, and dom0 (privileged) passes every check.

/// What a domain may do with a node.
public struct StoreAccess: OptionSet, Equatable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = StoreAccess(rawValue: 1)
    public static let write = StoreAccess(rawValue: 2)
    public static let none: StoreAccess = []
    public static let both: StoreAccess = [.read, .write]

    /// 'n', 'r', 'w' or 'b'.
    var letter: UInt8 {
        switch rawValue {
        case 1: return 0x72
        case 2: return 0x77
        case 3: return 0x62
        default: return 0x6E
        }
    }

    init?(letter: UInt8) {
        switch letter {
        case 0x6E: self = .none
        case 0x72: self = .read
        case 0x77: self = .write
        case 0x62: self = .both
        default: return nil
        }
    }
}

/// One entry of an access list.
public struct StorePermission: Equatable, Sendable {
    public var domain: UInt16
    public var access: StoreAccess
    public init(domain: UInt16, access: StoreAccess) { self.domain = domain; self.access = access }
}

/// A node's whole access list; never empty.
public struct StorePermissions: Equatable, Sendable {
    /// entries[0]: the owner, with the access everyone not listed gets.
    public private(set) var entries: [StorePermission]

    public init(owner: UInt16, others: StoreAccess = .none, grants: [StorePermission] = []) {
        entries = [StorePermission(domain: owner, access: others)] + grants
    }

    public var owner: UInt16 { entries[0].domain }

    /// The domain with full rights over every node.
    public static func isPrivileged(_ domain: UInt16) -> Bool { domain == 0 }

    /// What `domain` may do: everything for dom0 and the owner, else its own entry, else the default.
    public func access(for domain: UInt16) -> StoreAccess {
        if StorePermissions.isPrivileged(domain) || domain == owner { return .both }
        for e in entries.dropFirst() where e.domain == domain { return e.access }
        return entries[0].access
    }

    /// The same list owned by `domain` (how a node an unprivileged domain creates is owned).
    func owned(by domain: UInt16) -> StorePermissions {
        var copy = self
        copy.entries[0].domain = domain
        return copy
    }

    /// Parses SET_PERMS strings ("b0", "r3"...); nil when empty or any entry is malformed.
    public init?(strings: [[UInt8]]) {
        guard !strings.isEmpty else { return nil }
        var parsed: [StorePermission] = []
        for s in strings {
            guard s.count >= 2, let access = StoreAccess(letter: s[0]),
                  let id = StorePayload.decimal(Array(s[1...])), id <= UInt32(UInt16.max) else { return nil }
            parsed.append(StorePermission(domain: UInt16(id), access: access))
        }
        entries = parsed
    }

    /// GET_PERMS's payload: each entry then a NUL.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        for e in entries {
            out.append(e.access.letter)
            out += StorePayload.decimal(UInt32(e.domain))
            out.append(0)
        }
        return out
    }
}
