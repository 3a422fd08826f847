// StorePath.swift: XenStore path rules: which node names are valid, how a relative path becomes
// absolute under /local/domain/<id>, and the ancestor/descendant relation. Bytes in, bytes out:
// it never looks at the tree and never traps on any input.

public enum StorePath {
    /// XENSTORE_ABS_PATH_MAX and XENSTORE_REL_PATH_MAX.
    public static let absoluteMax = 3072
    public static let relativeMax = 2048

    static let slash: UInt8 = 0x2F

    /// "/local/domain/<id>", GET_DOMAIN_PATH's answer.
    public static func domainPath(_ domain: UInt16) -> [UInt8] {
        Array("/local/domain/".utf8) + StorePayload.decimal(UInt32(domain))
    }

    /// Bytes allowed in a node name: letters, digits, '-', '/', '_', '@'. One bit per byte from 32
    /// to 127, four words (a test checks it against the list).
    @inline(__always)
    static func allowed(_ b: UInt8) -> Bool {
        let word: UInt32
        switch b >> 5 {
        case 1: word = 0x03FF_A000     // '-' '/' '0'-'9'
        case 2: word = 0x87FF_FFFF     // '@' 'A'-'Z' '_'
        case 3: word = 0x07FF_FFFE     // 'a'-'z'
        default: word = 0
        }
        return (word >> UInt32(b & 31)) & 1 != 0
    }

    /// The same rule spelled as the list (the reference `allowed` is tested against).
    static func allowedByList(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == 0x2D || b == slash || b == 0x5F || b == 0x40
    }

    /// Whether `path` is a valid absolute node path: '/', or '/' then components with no
    /// empty one and no trailing '/'.
    public static func isValidAbsolute(_ path: [UInt8]) -> Bool {
        path.withUnsafeBufferPointer { p in
            guard !p.isEmpty, p[0] == slash, p.count <= absoluteMax else { return false }
            if p.count == 1 { return true }
            guard p[p.count - 1] != slash else { return false }
            var previous: UInt8 = 0
            for b in p {
                guard allowed(b) else { return false }
                if b == slash && previous == slash { return false }
                previous = b
            }
            return true
        }
    }

    /// The absolute path `raw` names for `domain`, or nil when it is not a valid path.
    public static func resolve(_ raw: [UInt8], for domain: UInt16) -> [UInt8]? {
        if raw.first == slash { return isValidAbsolute(raw) ? raw : nil }
        guard !raw.isEmpty, raw.count <= relativeMax else { return nil }
        let full = domainPath(domain) + [slash] + raw
        return isValidAbsolute(full) ? full : nil
    }

    /// The parent of an absolute path; nil for "/".
    public static func parent(_ path: [UInt8]) -> [UInt8]? {
        guard path.count > 1 else { return nil }
        var i = path.count - 1
        while i > 0 && path[i] != slash { i -= 1 }
        return i == 0 ? [slash] : Array(path[0..<i])
    }

    /// The last component of an absolute path ("" for "/").
    public static func lastComponent(_ path: [UInt8]) -> [UInt8] {
        var i = path.count
        while i > 0 && path[i - 1] != slash { i -= 1 }
        return Array(path[i..<path.count])
    }

    /// Whether `path` is `ancestor` itself or lies below it.
    public static func isSelfOrDescendant(_ path: [UInt8], of ancestor: [UInt8]) -> Bool {
        if ancestor == [slash] { return path.first == slash }
        guard path.count >= ancestor.count else { return false }
        for i in 0..<ancestor.count where path[i] != ancestor[i] { return false }
        return path.count == ancestor.count || path[ancestor.count] == slash
    }

    /// The prefix every strict descendant of `path` starts with.
    static func descendantPrefix(_ path: [UInt8]) -> [UInt8] {
        path == [slash] ? [slash] : path + [slash]
    }

    /// Byte-wise ordering, the order of the tree's node array.
    static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in less(pa, pb) } }
    }

    /// The same ordering over raw bytes (a prefix of a path compares without a new array).
    static func less(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = a.count < b.count ? a.count : b.count
        var i = 0
        while i < n {
            let x = a[i], y = b[i]
            if x != y { return x < y }
            i += 1
        }
        return a.count < b.count
    }

    /// Whether `a` sorts before `b`, and how long their common prefix is; their first `from` bytes
    /// must be known equal.
    static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>,
                        from: Int) -> (less: Bool, common: Int) {
        let n = a.count < b.count ? a.count : b.count
        var i = from < n ? from : n
        if i < n, let pa = a.baseAddress, let pb = b.baseAddress {
            i = equalWords(UnsafeRawPointer(pa), UnsafeRawPointer(pb), from: i, count: n)
        }
        while i < n {
            let x = a[i], y = b[i]
            if x != y { return (x < y, i) }
            i += 1
        }
        return (a.count < b.count, n)
    }

    /// Whether two byte runs are equal.
    static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        var i = equalWords(UnsafeRawPointer(pa), UnsafeRawPointer(pb), from: 0, count: a.count)
        while i < a.count {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// Where the first differing 4-byte word from `from` starts (or the last whole word ends):
    /// paths share long prefixes ("/local/domain/"), compared a word at a time.
    @inline(__always)
    static func equalWords(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, from: Int, count: Int) -> Int {
        var i = from
        while count - i >= 4 {
            if a.loadUnaligned(fromByteOffset: i, as: UInt32.self) != b.loadUnaligned(fromByteOffset: i, as: UInt32.self) {
                break
            }
            i += 4
        }
        return i
    }

    /// The length of an absolute path's parent (1 for a child of "/"); nil for "/".
    static func parentLength(_ path: UnsafeBufferPointer<UInt8>) -> Int? {
        guard path.count > 1 else { return nil }
        var i = path.count - 1
        while i > 0 && path[i] != slash { i -= 1 }
        return i == 0 ? 1 : i
    }
}
