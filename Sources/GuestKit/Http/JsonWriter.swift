// JsonWriter.swift: writes JSON (RFC 8259) for dom0's API responses: objects, arrays, strings (escaped,
// invalid UTF-8 replaced by U+FFFD), integers and booleans, with the commas placed for the caller.
// Writing only; it never produces invalid JSON from any bytes given to `string`.

public struct JsonWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Per open container: whether it has a member yet (a comma is due before the next).
    var open: [Bool] = []
    var afterKey = false

    public init() {}

    mutating func separate() {
        if afterKey { afterKey = false; return }
        if let last = open.last {
            if last { bytes.append(44) }
            open[open.count - 1] = true
        }
    }

    public mutating func beginObject() { separate(); bytes.append(123); open.append(false) }
    public mutating func endObject() { bytes.append(125); _ = open.popLast() }
    public mutating func beginArray() { separate(); bytes.append(91); open.append(false) }
    public mutating func endArray() { bytes.append(93); _ = open.popLast() }

    public mutating func key(_ k: StaticString) {
        separate()
        k.withUTF8Buffer { quoted($0) }
        bytes.append(58)
        afterKey = true
    }

    public mutating func string(_ s: StaticString) { separate(); s.withUTF8Buffer { quoted($0) } }
    public mutating func string(_ s: [UInt8]) { separate(); s.withUnsafeBufferPointer { quoted($0) } }
    public mutating func bool(_ b: Bool) { separate(); HttpResponse.append(&bytes, b ? "true" : "false") }
    public mutating func null() { separate(); HttpResponse.append(&bytes, "null") }
    public mutating func integer(_ v: UInt64) { separate(); HttpResponse.appendDecimal(&bytes, v) }
    public mutating func integer(_ v: Int64) {
        separate()
        if v < 0 { bytes.append(45); HttpResponse.appendDecimal(&bytes, v.magnitude) } else { HttpResponse.appendDecimal(&bytes, UInt64(v)) }
    }

    mutating func quoted(_ s: UnsafeBufferPointer<UInt8>) {
        bytes.append(34)
        var i = 0
        while i < s.count {
            let c = s[i]
            switch c {
            case 34: bytes.append(92); bytes.append(34); i += 1
            case 92: bytes.append(92); bytes.append(92); i += 1
            case 10: bytes.append(92); bytes.append(110); i += 1
            case 13: bytes.append(92); bytes.append(114); i += 1
            case 9: bytes.append(92); bytes.append(116); i += 1
            case 0..<32, 127:
                HttpResponse.append(&bytes, "\\u00")
                let hex: [UInt8] = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]
                bytes.append(hex[Int(c >> 4)]); bytes.append(hex[Int(c & 15)])
                i += 1
            case 32..<128: bytes.append(c); i += 1
            default:
                let n = JsonUTF8.sequenceLength(s, at: i)
                if n == 0 { bytes.append(0xEF); bytes.append(0xBF); bytes.append(0xBD); i += 1 }
                else { for k in 0..<n { bytes.append(s[i + k]) }; i += n }
            }
        }
        bytes.append(34)
    }
}

enum JsonUTF8 {
    /// The length of the well-formed UTF-8 sequence (2 to 4 bytes) starting at `i`, or 0.
    static func sequenceLength(_ s: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let c = s[i]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: return 0
        }
        guard i + n <= s.count else { return 0 }
        guard s[i + 1] >= lo && s[i + 1] <= hi else { return 0 }
        for k in 2..<max(n, 2) where k < n { guard s[i + k] >= 0x80 && s[i + k] <= 0xBF else { return 0 } }
        return n
    }
}
