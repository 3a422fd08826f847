// RingPage.swift: a backend's moves on one mapped shared ring page (io/ring.h's back-end macros): how
// many requests the frontend produced (a producer more than a ring ahead is garbage, never a loop),
// RING_FINAL_CHECK_FOR_REQUESTS before going idle, and publishing responses with Xen's notify rule.
// It reads each index once per look and never touches a request or response itself.

import ApusCore
import GuestKit
import PVABI

struct RingPage {
    let page: UnsafeMutableRawBufferPointer

    enum Look {
        /// Requests wait to be taken.
        case waiting(UInt32)
        /// None: the frontend was asked for an event on its next request.
        case idle
        /// The frontend's producer is garbage.
        case garbage(producer: UInt32)
    }

    /// What the frontend produced beyond `ring`'s consumer; when nothing, asks for an event on the
    /// next request and looks once more (a request produced meanwhile is not missed).
    func look(_ ring: BackendRing) -> Look {
        while true {
            let producer = page.load(fromByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self)
            dom0_compiler_barrier()
            switch ring.pending(producer: producer) {
            case .failure: return .garbage(producer: producer)
            case .success(let n) where n > 0: return .waiting(n)
            case .success: break
            }
            page.storeBytes(of: ring.requestEvent, toByteOffset: SharedRingLayout.requestEventOffset, as: UInt32.self)
            dom0_compiler_barrier()
            if page.load(fromByteOffset: SharedRingLayout.requestProducerOffset, as: UInt32.self) == ring.requestConsumer { return .idle }
        }
    }

    /// Publishes responses up to `now` (the old producer was `old`) and notifies `port` if the
    /// frontend asked.
    func publish(since old: UInt32, now: UInt32, port: UInt32) {
        guard now != old else { return }
        dom0_compiler_barrier()
        page.storeBytes(of: now, toByteOffset: SharedRingLayout.responseProducerOffset, as: UInt32.self)
        dom0_compiler_barrier()
        let wanted = page.load(fromByteOffset: SharedRingLayout.responseEventOffset, as: UInt32.self)
        if BackendRing.notifyNeeded(published: old, now: now, responseEvent: wanted) { _ = GuestEvents.send(port) }
    }
}
