// Log.swift: the hypervisor's logger. Every hypervisor line goes into the in-memory ring `dmesg`
// reads, whatever its level, and to COM1 with its "(apus) " prefix when its level is within the
// command line's loglvl= (guest_loglvl= for lines about a guest's doings). Domains' console text
// ("(dN) ") goes to COM1 (a domU's within guest_loglvl=, as info) and into the ring only with
// console_to_ring, as in Xen. It must never allocate and never fault, whatever bytes it is given.

import ApusCore

enum Log {
    static let ringCapacity = 16384
    static var ring: UnsafeMutablePointer<UInt8>? = nil   // Boot/cpu.asm's apus_log_ring, once known
    /// Total bytes ever written (64 bits: a guest that logs without end never wraps it); the
    /// ring index is head % capacity.
    static var ringHead: UInt64 = 0
    static var echoToSerial = true
    /// loglvl= and guest_loglvl=: the most detailed level the serial line shows.
    static var threshold = LogLevel.debug
    static var guestThreshold = LogLevel.debug
    /// console_to_ring: domains' console text goes into the ring too.
    static var consoleToRing = false

    /// Where the bytes being emitted go.
    private struct Sinks { var serial: Bool; var ring: Bool }
    private static var sinks = Sinks(serial: true, ring: true)

    private static func emitByte(_ byte: UInt8) {
        if echoToSerial && sinks.serial { Serial.write(byte) }
        if sinks.ring {
            if let ring { ring[Int(ringHead % UInt64(ringCapacity))] = byte }
            ringHead &+= 1
        }
    }

    private static func emitText(_ text: StaticString) {
        text.withUTF8Buffer { for b in $0 { emitByte(b) } }
    }

    private static func emitLine(_ line: LogLine) {
        var i = 0
        while i < line.count { emitByte(line.bytes[i]); i += 1 }
        emitByte(10)
    }

    /// A hypervisor line of `level`: "(apus) ..." on the console when the threshold lets it through
    /// (always, for `shown`), in the ring in any case.
    static func line(_ line: LogLine, _ level: LogLevel, guest: Bool = false, shown: Bool = false) {
        endOpenLine()
        sinks = Sinks(serial: shown || level.shown(at: guest ? guestThreshold : threshold), ring: true)
        emitText("(apus) ")
        emitLine(line)
        sinks = Sinks(serial: true, ring: true)
    }

    static func info(_ l: LogLine) { line(l, .info) }
    static func warning(_ l: LogLine) { line(l, .warning) }
    static func error(_ l: LogLine) { line(l, .error) }
    static func debug(_ l: LogLine) { line(l, .debug) }
    /// A warning about what a guest did (a refusal): filtered by guest_loglvl=.
    static func guestWarning(_ l: LogLine) { line(l, .warning, guest: true) }
    /// Printed whatever the level: test verdicts, debug-key dumps, the console input switch.
    static func always(_ l: LogLine) { line(l, .error, shown: true) }

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

    /// The domain whose line is open (text written without its newline yet), if any, and where it goes.
    private static var openLine: Int32 = -1
    private static var openSinks = Sinks(serial: true, ring: true)

    private static func endOpenLine() {
        guard openLine >= 0 else { return }
        sinks = openSinks
        emitByte(10)
        sinks = Sinks(serial: true, ring: true)
        openLine = -1
    }

    /// Text a domain wrote through its console: every line gets the "(dN) " prefix; bytes that
    /// are not printable ASCII (or tab) are shown as '?'; carriage returns are dropped.
    static func domainText(_ id: UInt16, _ text: UnsafeBufferPointer<UInt8>) {
        let to = Sinks(serial: id == 0 || LogLevel.info.shown(at: guestThreshold), ring: consoleToRing)
        guard to.serial || to.ring else { return }
        defer { sinks = Sinks(serial: true, ring: true) }
        sinks = to
        for b in text {
            if b == 13 { continue }
            if openLine != Int32(id) {
                endOpenLine()
                sinks = to
                openSinks = to
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
        if openLine == Int32(id) { endOpenLine() }
    }
}
