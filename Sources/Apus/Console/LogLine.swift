// LogLine.swift: one console line built without the heap, through string interpolation of
// StaticString literals and integers. It must never allocate: it is used from trap handlers.

struct LogLine: ExpressibleByStringInterpolation {
    typealias StringLiteralType = StaticString
    static let capacity = 200
    var bytes = InlineArray<200, UInt8>(repeating: 0)
    var count = 0

    init() {}
    init(stringLiteral literal: StaticString) { append(literal) }
    init(stringInterpolation: Interpolation) { self = stringInterpolation.line }

    mutating func append(byte: UInt8) {
        guard count < LogLine.capacity else { return }
        bytes[count] = byte
        count += 1
    }
    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { append(byte: b) } }
    }
    mutating func append(decimal value: UInt64) {
        var digits = InlineArray<20, UInt8>(repeating: 0)
        var n = 0
        var v = value
        repeat { digits[n] = UInt8(48 + v % 10); n += 1; v /= 10 } while v > 0
        while n > 0 { n -= 1; append(byte: digits[n]) }
    }
    mutating func append(hex value: UInt64, digits minimum: Int) {
        append("0x")
        var started = false
        var shift = 60
        while shift >= 0 {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            if nibble != 0 || started || shift / 4 < minimum {
                started = true
                append(byte: nibble < 10 ? 48 + nibble : 87 + nibble)
            }
            shift -= 4
        }
    }

    struct Interpolation: StringInterpolationProtocol {
        var line = LogLine()
        init(literalCapacity: Int, interpolationCount: Int) {}
        mutating func appendLiteral(_ literal: StaticString) { line.append(literal) }
        mutating func appendInterpolation(_ text: StaticString) { line.append(text) }
        mutating func appendInterpolation(_ value: UInt32) { line.append(decimal: UInt64(value)) }
        mutating func appendInterpolation(_ value: UInt64) { line.append(decimal: value) }
        mutating func appendInterpolation(_ value: Int) {
            if value < 0 { line.append(byte: 45); line.append(decimal: UInt64(0 &- Int64(value))) }
            else { line.append(decimal: UInt64(value)) }
        }
        mutating func appendInterpolation(_ value: Int32) { appendInterpolation(Int(value)) }
        mutating func appendInterpolation(_ value: UInt16) { line.append(decimal: UInt64(value)) }
        mutating func appendInterpolation(_ value: UInt8) { line.append(decimal: UInt64(value)) }
        mutating func appendInterpolation(_ value: Bool) { line.append(value ? "yes" : "no") }
        mutating func appendInterpolation(hex value: UInt32) { line.append(hex: UInt64(value), digits: 1) }
        mutating func appendInterpolation(hex8 value: UInt32) { line.append(hex: UInt64(value), digits: 8) }
        mutating func appendInterpolation(hex value: UInt64) { line.append(hex: value, digits: 1) }
        mutating func appendInterpolation(hex16 value: UInt64) { line.append(hex: value, digits: 16) }
        /// Bytes from elsewhere (a guest string, the command line): printable ASCII only.
        mutating func appendInterpolation(text: UnsafeBufferPointer<UInt8>) {
            for b in text { line.append(byte: (b >= 32 && b < 127) ? b : 63) }
        }
        mutating func appendInterpolation(kib bytes: UInt64) { line.append(decimal: bytes / 1024); line.append(" KiB") }
        mutating func appendInterpolation(mib bytes: UInt64) { line.append(decimal: bytes >> 20); line.append(" MiB") }
    }
}
