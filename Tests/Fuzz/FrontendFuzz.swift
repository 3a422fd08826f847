// FrontendFuzz.swift: libFuzzer cases for what GuestKit's frontends take from the other end: a netif
// rx response and a blkif response in a ring page of any bytes, a response producer against any
// frontend indexes, the store's response ring of any bytes and indexes, and the handshake driven by
// any backend states. A trap, a frame said to lie past its page, a message longer than the ring or
// than XENSTORE_PAYLOAD_MAX, or a frontend connected without publishing its ring, is a finding.

import ApusCore
import GuestKit
import PVABI

enum FrontendFuzz {
    static func run(_ a: HypercallArguments, _ image: UnsafeRawBufferPointer) {
        switch a.a2 % 4 {
        case 0:
            let page = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
            defer { page.deallocate() }
            for i in 0..<4096 { page[i] = i < image.count ? image[i] : 0 }
            if case .frame(_, let offset, let length)? = FrontendSlots.readRxResponse(slot: a.a3 % 300, in: page) {
                precondition(length > 0 && offset >= 0 && offset + length <= 4096, "a frame past its page")
            }
            _ = FrontendSlots.readBlockResponse(slot: a.a3 % 40, in: page)
            _ = FrontendSlots.readTxResponse(slot: a.a3 % 300, in: page)
        case 1:
            guard var ring = FrontRing(size: 1 << Int(a.a3 % 9)) else { return }
            for _ in 0..<Int(a.a4 % 600) { _ = ring.nextRequestSlot() }
            if case .success(let n) = ring.responses(producer: a.a5) {
                precondition(n <= ring.outstanding && n <= ring.size, "more responses than requests")
                for _ in 0..<n { precondition(ring.takeResponse() < ring.size, "slot outside the ring") }
            }
        case 2:
            var storage = [UInt8](repeating: 0, count: 1024)
            for i in 0..<min(image.count, 1024) { storage[i] = image[i] }
            var consumer = a.a4
            storage.withUnsafeBufferPointer { ring in
                for _ in 0..<8 {
                    guard case .message(let m, let next) = StoreReplies.next(ring, consumer: consumer, producer: a.a5) else { return }
                    precondition(m.payload.count <= 4096 && next &- consumer <= 1024 && next &- consumer >= 16, "a message longer than the ring")
                    if m.type == StoreMessageType.watchEvent.rawValue { _ = StoreReplies.watchEvent(m.payload) }
                    consumer = next
                }
            }
        default:
            var f = XenbusFrontend()
            var published = false
            for i in 0..<image.count {
                let b = image[i]
                let steps = f.handle(b % 9 == 0 ? .close : .backend(XenbusState(rawValue: b % 12)))
                if steps.publish {
                    precondition(!published, "published twice")
                    published = true
                    _ = f.handle(b & 0x80 == 0 ? .published : .publishFailed)
                }
                precondition(!f.connected || published, "connected without publishing")
            }
        }
    }
}
