// RingFuzz.swift: libFuzzer cases for the bytes that cross the shared rings: dom0's console ring moves over a page
// whose indexes and contents are the input (skip, drain, feed), the line sanitiser and the console history the drained bytes go through, the
// store ring's index arithmetic with any indexes, and the hypervisor's "(dN) " relay label. A trap, an access past
// the page, or a sanitised line that could break the serial log (a control byte, a newline, too long) is a finding.

import ApusCore
import GuestKit
import PVABI

enum RingFuzz {
    static func run(_ a: HypercallArguments, _ image: UnsafeRawBufferPointer) {
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: ConsoleRing.pageBytes, alignment: 8)
        defer { page.deallocate() }
        page.initializeMemory(as: UInt8.self, repeating: 0)
        for (i, b) in image.prefix(ConsoleRing.pageBytes).enumerated() { page[i] = b }
        switch a.a1 % 3 {
        case 0:
            let skipped = ConsoleRing.skipOutput(page, upTo: a.a2)
            precondition(skipped <= ConsoleRing.outputSize, "skipped more than a ring")
            var lines = ConsoleLines()
            if case .bytes(let bytes) = ConsoleRing.drainOutput(page) {
                precondition(bytes.count <= Int(ConsoleRing.outputSize), "drained more than a ring")
                var all = lines.feed(bytes)
                if let last = lines.flush() { all.append(last) }
                for line in all {
                    precondition(line.count <= ConsoleLines.maxLength, "a relayed line past its length")
                    precondition(line.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "a relayed line with a control byte")
                }
                // The history GET /v1/domains/{id}/console reads: fed in pieces, into a small ring.
                var history = ConsoleHistory(capacity: 1 + Int(a.a3 % 300))
                var at = 0
                while at < bytes.count {
                    let n = min(1 + Int((a.a4 >> UInt32(at % 24)) % 97), bytes.count - at)
                    history.append(bytes[at..<(at + n)])
                    at += n
                }
                precondition(history.bytesHeld <= history.capacity && history.bytesSeen == UInt64(bytes.count), "history past its capacity")
                let wanted = Int(a.a5 % 40)
                let since: UInt64? = a.a5 & 0x100 == 0 ? nil : UInt64(a.a2 % 4096)
                let t = history.tail(lines: wanted, since: since)
                precondition(t.lines.count <= wanted, "more lines than asked")
                precondition(t.cursor <= t.bytesSeen && t.cursor >= history.bytesDropped, "a cursor outside the bytes held")
                // Each whole line stands for its bytes and its end; the partial one for its bytes alone.
                var size = t.partial.count
                precondition(!t.partial.contains(10) && !t.partial.contains(13), "a line end inside the partial line")
                for line in t.lines {
                    precondition(!line.contains(10) && !line.contains(13), "a line end inside a line")
                    size += line.count + 1
                }
                precondition(size <= history.bytesHeld + 1, "lines longer than the bytes held")
            }
        case 1:
            let bytes = Array(image.prefix(Int(a.a3 % 4096)))
            if let n = ConsoleRing.feedInput(page, bytes[...]) {
                precondition(n >= 0 && n <= min(bytes.count, Int(ConsoleRing.inputSize)), "fed more than fits")
            }
        default:
            if let label = ConsoleRelayLabel.parse(image) {
                precondition(label.length >= 5 && label.length <= image.count, "a label longer than the write")
            }
            let ring = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Int(StoreRing.size))
            defer { ring.deallocate() }
            ring.initialize(repeating: 0)
            if let (bytes, consumer) = StoreRing.read(UnsafeBufferPointer(ring), consumer: a.a2, producer: a.a3, limit: Int(a.a4 % 2048)) {
                precondition(bytes.count <= Int(StoreRing.size) && consumer &- a.a2 == UInt32(bytes.count), "store ring read")
            }
            let payload = Array(image.prefix(2048))
            if let (written, producer) = StoreRing.write(payload[...], into: ring, consumer: a.a2, producer: a.a3) {
                precondition(written <= payload.count && producer &- a.a3 == UInt32(written), "store ring write")
            }
        }
    }
}
