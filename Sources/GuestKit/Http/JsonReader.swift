// JsonReader.swift: a strict JSON (RFC 8259) reader for request bodies of dom0's API: the whole text
// must be one value, with no trailing bytes, no comments, no leading zeros, no unescaped control
// characters, well-formed UTF-8 and escapes, and within limits on size, depth and number of values.
// The result is a flat list of nodes over the source bytes. It parses untrusted bytes: it never traps,
// never recurses deeper than its depth limit, and never acts on what it read.

public struct JsonLimits: Equatable, Sendable {
    public var maxBytes: Int
    public var maxDepth: Int
    public var maxNodes: Int
    public init(maxBytes: Int = 64 * 1024, maxDepth: Int = 16, maxNodes: Int = 4096) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }
}

public struct JsonDocument: Sendable {
    public enum Kind: Equatable, Sendable { case object, array, string, number, bool, null }
    public struct Node: Equatable, Sendable {
        public var kind: Kind
        /// The value's bytes in the source (a string's without its quotes).
        public var start: Int
        public var end: Int
        /// The index of the node after this value's subtree.
        public var next: Int
    }

    public let source: [UInt8]
    public private(set) var nodes: [Node] = []

    /// Parses `source`; the error names what was wrong and where it is never echoed.
    public static func parse(_ source: [UInt8], limits: JsonLimits = JsonLimits()) -> Result<JsonDocument, HttpError> {
        guard source.count <= limits.maxBytes else { return .failure(HttpError(413, "JSON body too large")) }
        var p = JsonParser(s: source, limits: limits)
        p.space()
        if let e = p.value(depth: 0) { return .failure(e) }
        p.space()
        guard p.i == source.count else { return .failure(HttpError(400, "trailing bytes after the JSON value")) }
        var d = JsonDocument(source: source)
        d.nodes = p.nodes
        return .success(d)
    }

    init(source: [UInt8]) { self.source = source }

    /// The members' (key, value) node indexes of the object at `node`.
    public func members(_ node: Int) -> [(key: Int, value: Int)] {
        guard node < nodes.count, nodes[node].kind == .object else { return [] }
        var out: [(key: Int, value: Int)] = []
        var k = node + 1
        while k < nodes[node].next {
            let v = k + 1
            out.append((k, v))
            k = nodes[v].next
        }
        return out
    }

    /// The elements' node indexes of the array at `node`.
    public func elements(_ node: Int) -> [Int] {
        guard node < nodes.count, nodes[node].kind == .array else { return [] }
        var out: [Int] = []
        var k = node + 1
        while k < nodes[node].next { out.append(k); k = nodes[k].next }
        return out
    }

    /// The value of member `key` of the object at `node` (the last one if repeated).
    public func member(_ node: Int, _ key: StaticString) -> Int? {
        var found: Int? = nil
        for m in members(node) where string(m.key).map({ HttpBytes.equal($0[...], key) }) == true { found = m.value }
        return found
    }

    /// The decoded bytes (UTF-8) of the string at `node`.
    public func string(_ node: Int) -> [UInt8]? {
        guard node < nodes.count, nodes[node].kind == .string else { return nil }
        var out: [UInt8] = []
        var i = nodes[node].start
        let end = nodes[node].end
        while i < end {
            let c = source[i]
            if c != 92 { out.append(c); i += 1; continue }
            let e = source[i + 1]
            i += 2
            switch e {
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 117:
                var u = JsonParser.hex4(source, i)!
                i += 4
                if u >= 0xD800 && u < 0xDC00 {
                    let low = JsonParser.hex4(source, i + 2)!
                    u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                JsonParser.encode(u, &out)
            default: out.append(e)
            }
        }
        return out
    }

    /// The integer at `node`, if it is a number without fraction or exponent that fits Int64.
    public func integer(_ node: Int) -> Int64? {
        guard node < nodes.count, nodes[node].kind == .number else { return nil }
        var i = nodes[node].start
        let negative = source[i] == 45
        if negative { i += 1 }
        var v: Int64 = 0
        while i < nodes[node].end {
            let c = source[i]
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(c - 48)) : m.addingReportingOverflow(Int64(c - 48))
            guard !o1 && !o2 else { return nil }
            v = a
            i += 1
        }
        return v
    }

    public func bool(_ node: Int) -> Bool? {
        guard node < nodes.count, nodes[node].kind == .bool else { return nil }
        return source[nodes[node].start] == 116
    }
}

struct JsonParser {
    let s: [UInt8]
    let limits: JsonLimits
    var i = 0
    var nodes: [JsonDocument.Node] = []

    init(s: [UInt8], limits: JsonLimits) { self.s = s; self.limits = limits }

    mutating func space() {
        while i < s.count && (s[i] == 32 || s[i] == 9 || s[i] == 10 || s[i] == 13) { i += 1 }
    }

    mutating func add(_ kind: JsonDocument.Kind, _ start: Int) -> Int? {
        guard nodes.count < limits.maxNodes else { return nil }
        nodes.append(JsonDocument.Node(kind: kind, start: start, end: start, next: nodes.count + 1))
        return nodes.count - 1
    }

    /// Parses one value at `i`: nil on success, else the error.
    mutating func value(depth: Int) -> HttpError? {
        guard depth < limits.maxDepth else { return HttpError(400, "JSON nested too deeply") }
        guard i < s.count else { return HttpError(400, "JSON ends early") }
        let start = i
        switch s[i] {
        case 123, 91:
            let isObject = s[i] == 123
            guard let n = add(isObject ? .object : .array, start) else { return HttpError(413, "JSON has too many values") }
            i += 1
            space()
            if i < s.count && s[i] == (isObject ? 125 : 93) { i += 1 }
            else {
                while true {
                    if isObject {
                        guard i < s.count && s[i] == 34 else { return HttpError(400, "JSON object key is not a string") }
                        if let e = string() { return e }
                        space()
                        guard i < s.count && s[i] == 58 else { return HttpError(400, "JSON object key without ':'") }
                        i += 1
                        space()
                    }
                    if let e = value(depth: depth + 1) { return e }
                    space()
                    guard i < s.count else { return HttpError(400, "JSON ends early") }
                    if s[i] == 44 { i += 1; space(); continue }
                    guard s[i] == (isObject ? 125 : 93) else { return HttpError(400, isObject ? "JSON object without ',' or '}'" : "JSON array without ',' or ']'") }
                    i += 1
                    break
                }
            }
            nodes[n].end = i
            nodes[n].next = nodes.count
            return nil
        case 34:
            return string()
        case 116: return literal("true", .bool)
        case 102: return literal("false", .bool)
        case 110: return literal("null", .null)
        case 45, 48...57: return number()
        default: return HttpError(400, "not a JSON value")
        }
    }

    mutating func literal(_ word: StaticString, _ kind: JsonDocument.Kind) -> HttpError? {
        let n = word.utf8CodeUnitCount
        guard i + n <= s.count, HttpBytes.equal(s[i..<(i + n)], word) else { return HttpError(400, "not a JSON value") }
        guard let k = add(kind, i) else { return HttpError(413, "JSON has too many values") }
        i += n
        nodes[k].end = i
        return nil
    }

    mutating func number() -> HttpError? {
        let start = i
        if s[i] == 45 { i += 1 }
        func digits(_ p: inout JsonParser) -> Int { let b = p.i; while p.i < p.s.count && p.s[p.i] >= 48 && p.s[p.i] <= 57 { p.i += 1 }; return p.i - b }
        let intStart = i
        let n = digits(&self)
        guard n > 0 else { return HttpError(400, "malformed JSON number") }
        guard !(n > 1 && s[intStart] == 48) else { return HttpError(400, "JSON number with a leading zero") }
        if i < s.count && s[i] == 46 { i += 1; guard digits(&self) > 0 else { return HttpError(400, "malformed JSON number") } }
        if i < s.count && (s[i] == 101 || s[i] == 69) {
            i += 1
            if i < s.count && (s[i] == 43 || s[i] == 45) { i += 1 }
            guard digits(&self) > 0 else { return HttpError(400, "malformed JSON number") }
        }
        guard let k = add(.number, start) else { return HttpError(413, "JSON has too many values") }
        nodes[k].end = i
        return nil
    }

    mutating func string() -> HttpError? {
        i += 1
        guard let k = add(.string, i) else { return HttpError(413, "JSON has too many values") }
        while true {
            guard i < s.count else { return HttpError(400, "unterminated JSON string") }
            let c = s[i]
            switch c {
            case 34:
                nodes[k].end = i
                i += 1
                return nil
            case 92:
                guard i + 1 < s.count else { return HttpError(400, "unterminated JSON string") }
                switch s[i + 1] {
                case 34, 92, 47, 98, 102, 110, 114, 116: i += 2
                case 117:
                    guard let u = Self.hex4(s, i + 2) else { return HttpError(400, "malformed JSON \\u escape") }
                    i += 6
                    if u >= 0xDC00 && u < 0xE000 { return HttpError(400, "unpaired surrogate in JSON string") }
                    if u >= 0xD800 && u < 0xDC00 {
                        guard i + 1 < s.count, s[i] == 92, s[i + 1] == 117, let low = Self.hex4(s, i + 2), low >= 0xDC00 && low < 0xE000 else {
                            return HttpError(400, "unpaired surrogate in JSON string")
                        }
                        i += 6
                    }
                default: return HttpError(400, "malformed JSON escape")
                }
            case 0..<32: return HttpError(400, "control character in JSON string")
            case 32..<128: i += 1
            default:
                let n = s.withUnsafeBufferPointer { JsonUTF8.sequenceLength($0, at: i) }
                guard n > 0 else { return HttpError(400, "invalid UTF-8 in JSON string") }
                i += n
            }
        }
    }

    static func hex4(_ s: [UInt8], _ at: Int) -> UInt32? {
        guard at >= 0, at + 4 <= s.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let d = HttpParser.hexDigit(s[at + k]) else { return nil }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    static func encode(_ u: UInt32, _ out: inout [UInt8]) {
        switch u {
        case 0..<0x80: out.append(UInt8(u))
        case 0x80..<0x800: out.append(UInt8(0xC0 | u >> 6)); out.append(UInt8(0x80 | u & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | u >> 12)); out.append(UInt8(0x80 | (u >> 6) & 0x3F)); out.append(UInt8(0x80 | u & 0x3F))
        default:
            out.append(UInt8(0xF0 | u >> 18)); out.append(UInt8(0x80 | (u >> 12) & 0x3F))
            out.append(UInt8(0x80 | (u >> 6) & 0x3F)); out.append(UInt8(0x80 | u & 0x3F))
        }
    }
}
