// StoreFuzz.swift: the fuzz target for dom0's xenstored core: the input is what a guest put on its
// store ring, fed in pieces to XenStore.receive as dom0 will. A trap, or a tree that is no longer
// well formed, is a finding. Fuzzing only.

import GuestKit

enum StoreFuzz {
    /// Introduces domains 1 and 2 as dom0 would, then hands `bytes` to domain 1 in chunks whose
    /// sizes come from the input itself.
    static func run(_ bytes: UnsafeRawBufferPointer, chunking: UInt32) {
        var store = XenStore()
        for id: UInt8 in [1, 2] {
            let payload: [UInt8] = [0x30 + id, 0, 0x31, 0x30, 0x30, 0, 0x33, 0]      // "<id>\0" "100\0" "3\0"
            _ = store.call(from: 0, StoreMessage(.introduce, payload: payload))
        }
        _ = store.call(from: 0, StoreMessage(.write, payload: Array("/local/domain/1/name\0".utf8) + Array("fuzz".utf8)))
        var offset = 0
        var step = Int(chunking % 61) + 1
        while offset < bytes.count {
            let end = Swift.min(bytes.count, offset + step)
            guard store.receive(from: 1, Array(bytes[offset..<end])) != nil else { break }
            store.markSent(store.unsent(for: 1).count, for: 1)
            offset = end
            step = step % 61 + 7
        }
        _ = store.receive(from: 2, Array(bytes.prefix(64)))
        precondition(store.tree.isWellFormed, "the store tree is no longer well formed")
    }
}
