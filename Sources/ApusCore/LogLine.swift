// LogLine.swift: one console line built without the heap, through string interpolation of
// StaticString literals and integers; shared by the hypervisor's log and guest consoles.
// It must never allocate (it is used from trap handlers) and never touch hardware.

public struct LogLine: ExpressibleByStringInterpolation {
    public typealias StringLiteralType = StaticString
    public static let capacity = 200
    public var bytes = InlineArray<200, UInt8>(repeating: 0)
    public var count = 0

    public init() {}
    public init(stringLiteral literal: StaticString) { append(literal) }
    public init(stringInterpolation: Interpolation) { self = stringInterpolation.line }

    public mutating func append(byte: UInt8) {
        guard count < LogLine.capacity else { return }
        bytes[count] = byte
        count += 1
    }
    public mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { append(byte: b) } }
    }
    public mutating func append(decimal value: UInt64) {
        var digits = InlineArray<20, UInt8>(repeating: 0)
        var n = 0
        var v = value
        repeat { digits[n] = UInt8(48 + v % 10); n += 1; v /= 10 } while v > 0
        while n > 0 { n -= 1; append(byte: digits[n]) }
    }
    public mutating func append(hex value: UInt64, digits minimum: Int) {
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

    public struct Interpolation: StringInterpolationProtocol {
        public var line = LogLine()
        public init(literalCapacity: Int, interpolationCount: Int) {}
        public mutating func appendLiteral(_ literal: StaticString) { line.append(literal) }
        public mutating func appendInterpolation(_ text: StaticString) { line.append(text) }
        public mutating func appendInterpolation(_ value: UInt32) { line.append(decimal: UInt64(value)) }
        public mutating func appendInterpolation(_ value: UInt64) { line.append(decimal: value) }
        public mutating func appendInterpolation(_ value: Int) {
            if value < 0 { line.append(byte: 45); line.append(decimal: UInt64(0 &- Int64(value))) }
            else { line.append(decimal: UInt64(value)) }
        }
        public mutating func appendInterpolation(_ value: Int32) { appendInterpolation(Int(value)) }
        public mutating func appendInterpolation(_ value: UInt16) { line.append(decimal: UInt64(value)) }
        public mutating func appendInterpolation(_ value: UInt8) { line.append(decimal: UInt64(value)) }
        public mutating func appendInterpolation(_ value: Bool) { line.append(value ? "yes" : "no") }
        public mutating func appendInterpolation(hex value: UInt8) { line.append(hex: UInt64(value), digits: 2) }
        public mutating func appendInterpolation(hex value: UInt32) { line.append(hex: UInt64(value), digits: 1) }
        public mutating func appendInterpolation(hex8 value: UInt32) { line.append(hex: UInt64(value), digits: 8) }
        public mutating func appendInterpolation(hex value: UInt64) { line.append(hex: value, digits: 1) }
        public mutating func appendInterpolation(hex16 value: UInt64) { line.append(hex: value, digits: 16) }
        /// Bytes from elsewhere (a guest string, the command line): printable ASCII only.
        public mutating func appendInterpolation(text: UnsafeBufferPointer<UInt8>) {
            for b in text { line.append(byte: (b >= 32 && b < 127) ? b : 63) }
        }
        /// A clock field zero-padded to `digits` (2 for 16:18:04, 4 for a year); wider values print whole.
        public mutating func appendInterpolation(_ value: UInt32, pad digits: Int) {
            var width = 1
            var limit: UInt64 = 10
            while UInt64(value) >= limit && width < 10 { width += 1; limit *= 10 }
            while width < digits { line.append(byte: 48); width += 1 }
            line.append(decimal: UInt64(value))
        }
        public mutating func appendInterpolation(kib bytes: UInt64) { line.append(decimal: bytes / 1024); line.append(" KiB") }
        public mutating func appendInterpolation(mib bytes: UInt64) { line.append(decimal: bytes >> 20); line.append(" MiB") }
    }
}

extension LogLine {
    /// Calls `body` with the line's bytes (no newline).
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var copy = self
        return withUnsafeBytes(of: &copy.bytes) { raw in
            body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }
}
