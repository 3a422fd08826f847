// DomUStore.swift: a domU's xenstore client over its store ring (start_info's store page and event
// channel): one request at a time, written whole, its reply waited for blocked on the store's event
// channel; watch events that arrive meanwhile are counted by token. Requests and replies go through
// StoreReplies (pure); it never parses ring bytes itself. Guest images only.

import ApusCore
import PVABI

public enum DomUStore {
    static var page: UnsafeMutableRawPointer? = nil
    static var port: UInt32 = 0
    static var requestID: UInt32 = 0
    static var reply: StoreMessage? = nil
    /// Watch events seen, by token: the token and how many times it fired.
    static var fired: [([UInt8], UInt32)] = []
    /// The ring's indexes could not be true: the client stops using it.
    public private(set) static var broken = false

    /// Finds the store page and port in start_info; false when the domain has none.
    public static func attach() -> Bool {
        let si = StartOfDay.startInfo
        guard si.storeMFN != 0 else { return false }
        let m2p = UnsafePointer<UInt32>(bitPattern: UInt(XenLayout.mach2physVirtStart))!
        page = UnsafeMutableRawPointer(bitPattern: UInt(m2p[Int(si.storeMFN)]) << 12)
        port = si.storeEvtchn
        return page != nil
    }

    static func u32(_ offset: Int) -> UInt32 {
        guest_compiler_barrier()
        return page!.load(fromByteOffset: offset, as: UInt32.self)
    }
    static func set32(_ offset: Int, _ v: UInt32) {
        guest_compiler_barrier()
        page!.storeBytes(of: v, toByteOffset: offset, as: UInt32.self)
    }

    /// Takes every whole message waiting: replies kept for `call`, watch events counted.
    static func pump() {
        guard let page, !broken else { return }
        let ring = UnsafeBufferPointer(start: UnsafePointer(page.advanced(by: StoreRing.responseOffset).assumingMemoryBound(to: UInt8.self)),
                                       count: Int(StoreRing.size))
        var took = false
        while true {
            switch StoreReplies.next(ring, consumer: u32(StoreRing.responseConsumerOffset), producer: u32(StoreRing.responseProducerOffset)) {
            case .none:
                if took { _ = GuestEvents.send(port) }
                return
            case .corrupt:
                broken = true
                return
            case .message(let m, let consumer):
                set32(StoreRing.responseConsumerOffset, consumer)
                took = true
                if m.type == StoreMessageType.watchEvent.rawValue {
                    if let (_, token) = StoreReplies.watchEvent(m.payload) {
                        if let i = fired.firstIndex(where: { $0.0 == token }) { fired[i].1 &+= 1 } else { fired.append((token, 1)) }
                    }
                } else {
                    reply = m
                }
            }
        }
    }

    /// One request and its reply (an XS_ERROR reply included); nil when none came within 2 s.
    public static func call(_ type: StoreMessageType, _ payload: [UInt8]) -> StoreMessage? {
        guard let page, !broken else { return nil }
        requestID &+= 1
        let id = requestID
        guard let bytes = StoreReplies.request(type, id: id, payload: payload) else { return nil }
        let ring = UnsafeMutableBufferPointer(start: page.advanced(by: StoreRing.requestOffset).assumingMemoryBound(to: UInt8.self),
                                              count: Int(StoreRing.size))
        let deadline = GuestTime.now() &+ 2_000_000_000
        // Room for the whole request (xenstored takes requests as it goes).
        guard FrontendClock.wait(until: deadline, {
            pump()
            return (StoreRing.space(consumer: u32(StoreRing.requestConsumerOffset), producer: u32(StoreRing.requestProducerOffset)) ?? 0) >= UInt32(bytes.count)
        }) else { return nil }
        guard let (_, next) = StoreRing.write(bytes[...], into: ring, consumer: u32(StoreRing.requestConsumerOffset),
                                              producer: u32(StoreRing.requestProducerOffset)) else { broken = true; return nil }
        set32(StoreRing.requestProducerOffset, next)
        _ = GuestEvents.send(port)
        reply = nil
        guard FrontendClock.wait(until: deadline, { pump(); return reply?.requestID == id }) else { return nil }
        let r = reply
        reply = nil
        return r
    }

    /// A node's value (without a trailing NUL); nil on an error or no reply.
    public static func read(_ path: [UInt8]) -> [UInt8]? {
        guard let r = call(.read, path + [0]), r.type == StoreMessageType.read.rawValue else { return nil }
        var v = r.payload
        if v.last == 0 { v.removeLast() }
        return v
    }

    public static func write(_ path: [UInt8], _ value: [UInt8]) -> Bool {
        guard let r = call(.write, path + [0] + value) else { return false }
        return r.type == StoreMessageType.write.rawValue
    }

    /// XS_WATCH on `path` with `token` (xenstored fires it once at once, as Xen's does).
    public static func watch(_ path: [UInt8], token: [UInt8]) -> Bool {
        guard let r = call(.watch, path + [0] + token + [0]) else { return false }
        return r.type == StoreMessageType.watch.rawValue
    }

    public static func unwatch(_ path: [UInt8], token: [UInt8]) -> Bool {
        guard let r = call(.unwatch, path + [0] + token + [0]) else { return false }
        return r.type == StoreMessageType.unwatch.rawValue
    }

    /// How many times `token`'s watch fired so far (events read off the ring).
    public static func firings(_ token: [UInt8]) -> UInt32 {
        pump()
        return fired.first { $0.0 == token }?.1 ?? 0
    }

    /// Blocks until `token`'s watch fires past `seen` times or `deadline`: the count then.
    public static func waitForWatch(_ token: [UInt8], past seen: UInt32, until deadline: UInt64) -> UInt32 {
        var now = seen
        _ = FrontendClock.wait(until: deadline) {
            now = firings(token)
            return now != seen || broken
        }
        return now
    }
}
