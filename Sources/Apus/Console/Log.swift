// Log.swift: the hypervisor's logger. Every line goes to COM1 with its prefix ("(apus) " for the
// hypervisor, "(dN) " for a domain's console) and into the in-memory ring `dmesg` reads.
// It must never allocate and never fault, whatever bytes it is given.

import ApusCore

enum Log {
    static let ringCapacity = 16384
    static var ring: UnsafeMutablePointer<UInt8>? = nil   // Boot/cpu.asm's apus_log_ring, once known
    /// Total bytes ever written (64 bits: a guest that logs without end never wraps it); the
    /// ring index is head % capacity.
    static var ringHead: UInt64 = 0
    static var echoToSerial = true

    private static func emitByte(_ byte: UInt8) {
        if echoToSerial { Serial.write(byte) }
        if let ring { ring[Int(ringHead % UInt64(ringCapacity))] = byte }
        ringHead &+= 1
    }

    private static func emitText(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { emitByte(b) } }
    }

    private static func emitLine(_ line: LogLine) {
        var i = 0
        while i < line.count { emitByte(line.bytes[i]); i += 1 }
        emitByte(10)
    }

    /// A hypervisor line: "(apus) ..." on the console.
    static func info(_ line: LogLine) {
        if openLine >= 0 { emitByte(10); openLine = -1 }
        emitText("(apus) ")
        emitLine(line)
    }

    /// Up to `max` bytes of the log from absolute position `from` (clamped to what the ring still
    /// holds), and the position after them.
    static func read(from: UInt64, max: Int) -> ([UInt8], UInt64) {
        guard let ring else { return ([], ringHead) }
        let capacity = UInt64(ringCapacity)
        let oldest = ringHead > capacity ? ringHead - capacity : 0
        let start = Swift.min(Swift.max(from, oldest), ringHead)
        let n = Swift.min(max, Int(ringHead - start))
        var bytes = [UInt8](repeating: 0, count: n)
        for i in 0..<n { bytes[i] = ring[Int((start + UInt64(i)) % capacity)] }
        return (bytes, start + UInt64(n))
    }

    /// The domain whose line is open (text written without its newline yet), if any.
    private static var openLine: Int32 = -1

    /// Text a domain wrote through its console: every line gets the "(dN) " prefix; bytes that
    /// are not printable ASCII (or tab) are shown as '?'; carriage returns are dropped.
    static func domainText(_ id: UInt16, _ text: UnsafeBufferPointer<UInt8>) {
        for b in text {
            if b == 13 { continue }
            if openLine != Int32(id) {
                if openLine >= 0 { emitByte(10) }
                emitText("(d")
                var number = LogLine()
                number.append(decimal: UInt64(id))
                var i = 0
                while i < number.count { emitByte(number.bytes[i]); i += 1 }
                emitText(") ")
                openLine = Int32(id)
            }
            if b == 10 { emitByte(10); openLine = -1; continue }
            emitByte((b >= 32 && b < 127) || b == 9 ? b : 63)
        }
    }

    /// Ends a domain's open line, so the next hypervisor line starts cleanly.
    static func domainLineEnd(_ id: UInt16) {
        if openLine == Int32(id) { emitByte(10); openLine = -1 }
    }
}
