// StoreFlood.swift: the hostile domain against dom0's xenstored, through its own store ring (start_info's store page
// and port): it writes nodes until its quota answers EQUOTA, then reads a 900-byte node again and again and never
// reads the replies, until xenstored ends its connection (its reply backlog is bounded) and stops reading its ring. It prints what it saw; the other domains and
// dom0's own store use must not notice (the scenario checks that).

import ApusCore
import GuestKit
import PVABI

enum StoreFlood {
    static var page = UnsafeMutableRawPointer(bitPattern: 0x1000)!
    static var port: UInt32 = 0
    static var requestID: UInt32 = 0

    static func u32(_ offset: Int) -> UInt32 { page.load(fromByteOffset: offset, as: UInt32.self) }
    static func set32(_ offset: Int, _ v: UInt32) { page.storeBytes(of: v, toByteOffset: offset, as: UInt32.self) }

    /// Puts one message on the request ring (as much as fits now); false when it did not fit whole.
    static func send(_ type: StoreMessageType, _ payload: [UInt8]) -> Bool {
        requestID &+= 1
        var message: [UInt8] = []
        for v in [type.rawValue, requestID, 0, UInt32(payload.count)] {
            for i in 0..<4 { message.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
        }
        message += payload
        let ring = UnsafeMutableBufferPointer(start: page.advanced(by: StoreRing.requestOffset).assumingMemoryBound(to: UInt8.self),
                                              count: Int(StoreRing.size))
        let consumer = u32(StoreRing.requestConsumerOffset), producer = u32(StoreRing.requestProducerOffset)
        guard let free = StoreRing.space(consumer: consumer, producer: producer), free >= UInt32(message.count),
              let (_, next) = StoreRing.write(message[...], into: ring, consumer: consumer, producer: producer) else { return false }
        set32(StoreRing.requestProducerOffset, next)
        _ = GuestEvents.send(port)
        return true
    }

    /// Waits (yielding) up to `ns` for one whole reply; its type and payload, consumed.
    static func reply(within ns: UInt64) -> (UInt32, [UInt8])? {
        let deadline = GuestTime.now() + ns
        let ring = UnsafeBufferPointer(start: page.advanced(by: StoreRing.responseOffset).assumingMemoryBound(to: UInt8.self),
                                       count: Int(StoreRing.size))
        while GuestTime.now() < deadline {
            let consumer = u32(StoreRing.responseConsumerOffset), producer = u32(StoreRing.responseProducerOffset)
            if let filled = StoreRing.filled(consumer: consumer, producer: producer), filled >= UInt32(StoreHeader.size),
               let (head, _) = StoreRing.read(ring, consumer: consumer, producer: producer, limit: StoreHeader.size) {
                let length = UInt32(head[12]) | UInt32(head[13]) << 8 | UInt32(head[14]) << 16 | UInt32(head[15]) << 24
                let whole = UInt32(StoreHeader.size) + length
                if filled >= whole, let (bytes, next) = StoreRing.read(ring, consumer: consumer, producer: producer, limit: Int(whole)) {
                    set32(StoreRing.responseConsumerOffset, next)
                    _ = GuestEvents.send(port)
                    let type = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
                    return (type, Array(bytes[StoreHeader.size...]))
                }
            }
            _ = xen.schedOp(.yield)
        }
        return nil
    }

    static func run() {
        let si = StartOfDay.startInfo
        let m2p = UnsafePointer<UInt32>(bitPattern: UInt(XenLayout.mach2physVirtStart))!
        guard si.storeMFN != 0 else { return }
        page = UnsafeMutableRawPointer(bitPattern: UInt(m2p[Int(si.storeMFN)]) << 12)!
        port = si.storeEvtchn

        // Its node quota: write data/fN until xenstored answers EQUOTA.
        Hostile.total += 1
        var written = 0
        var answer: [UInt8] = []
        while written < 2000 {
            var path = Array("data/f".utf8)
            var n = LogLine()
            n.append(decimal: UInt64(written))
            n.withBytes { path.append(contentsOf: $0) }
            guard send(.write, path + [0] + Array("x".utf8)) else { answer = Array("(its request ring is full)".utf8); break }
            guard let (type, payload) = reply(within: 500_000_000) else {
                answer = Array("(no reply within 500 ms)".utf8)
                break
            }
            if type == StoreMessageType.error.rawValue { answer = Array(payload.prefix { $0 != 0 }); break }
            written += 1
        }
        let quota = answer == Array("EQUOTA".utf8)
        if quota { Hostile.refused += 1 }
        answer.withUnsafeBufferPointer {
            Hostile.console.print("hostile: write xenstore nodes without end: \(quota ? "refused" : "NOT refused") (error '\(text: $0)' after \(UInt32(written)) writes)")
        }

        // Replies it never reads: a 900-byte node read again and again, until xenstored ends its connection and
        // stops reading its ring.
        Hostile.total += 1
        var sent = 0
        var stuck = false
        let big = [UInt8](repeating: 0x78, count: 900)
        if send(.write, Array("data/f0".utf8) + [0] + big), let (type, _) = reply(within: 500_000_000), type == StoreMessageType.write.rawValue {
            while sent < 400 && !stuck {
                if send(.read, Array("data/f0".utf8) + [0]) { sent += 1; continue }
                // The ring is full: does xenstored still take requests from it?
                let before = u32(StoreRing.requestConsumerOffset)
                let deadline = GuestTime.now() + 200_000_000
                while GuestTime.now() < deadline && u32(StoreRing.requestConsumerOffset) == before { _ = xen.schedOp(.yield) }
                stuck = u32(StoreRing.requestConsumerOffset) == before
            }
        }
        if stuck { Hostile.refused += 1 }
        Hostile.console.print("hostile: read a 900-byte node again and again, never reading a reply: \(stuck ? "refused" : "NOT refused") (\(UInt32(sent)) requests, then xenstored \(stuck ? "stopped reading its ring" : "kept reading"))")
    }
}
