// NetBackendPureTests.swift: netback's pure pieces: the transmit request's decode and checks (one slot
// a packet, 14 to 1518 bytes inside the granted page), the response layouts against netif.h, and the
// bridge's learning table against a reference model of a switch (flood unknown and group addresses,
// never back out of the ingress port, a per-port cap on learnt addresses).

import XCTest
import ApusCore
import PVABI
@testable import GuestKit

final class NetBackendPureTests: XCTestCase {
    func request(grant: UInt32 = 7, offset: UInt16 = 0, flags: UInt16 = 0, id: UInt16 = 3, size: UInt16 = 60) -> NetTxRequest {
        var bytes = [UInt8](repeating: 0, count: 12)
        func put(_ v: UInt64, _ at: Int, _ n: Int) { for i in 0..<n { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        put(UInt64(grant), 0, 4); put(UInt64(offset), 4, 2); put(UInt64(flags), 6, 2); put(UInt64(id), 8, 2); put(UInt64(size), 10, 2)
        return bytes.withUnsafeBytes { NetTxRequest.decode($0)! }
    }

    func testTxDecodeAndChecks() {
        let r = request(grant: 0x1234_5678, offset: 100, flags: NetTxFlags.checksumBlank, id: 0xBEEF, size: 1514)
        XCTAssertEqual(r, NetTxRequest(grant: 0x1234_5678, offset: 100, flags: 1, id: 0xBEEF, size: 1514))
        func one(_ r: NetTxRequest) -> NetTxRefusal? {
            if case .failure(let f) = NetTxRequest.assemble([r]) { return f }
            return nil
        }
        XCTAssertNil(one(r))
        XCTAssertEqual(one(request(size: 13)), .tooSmall)
        XCTAssertEqual(one(request(size: 1519)), .tooLarge)
        XCTAssertNil(one(request(size: 1518)))
        XCTAssertEqual(one(request(offset: 4000, size: 97)), .pastPage)
        XCTAssertNil(one(request(offset: 4000, size: 96)))
        XCTAssertEqual(one(request(offset: 0xFFFF, size: 0xFFFF)), .tooLarge)
        XCTAssertEqual(one(request(flags: NetTxFlags.moreData)), .fragments)          // a chain never finished
        XCTAssertEqual(NetTxRequest.assemble([]), .failure(.tooSmall))
        XCTAssertTrue(request(flags: NetTxFlags.extraInfo).hasExtraInfo)
        XCTAssertNil([UInt8](repeating: 0, count: 11).withUnsafeBytes { NetTxRequest.decode($0) })
    }

    /// Linux's netfront splits a frame where it crosses a page: the first slot gives the whole size.
    func testChains() {
        let m = NetTxFlags.moreData
        XCTAssertEqual(NetTxRequest.assemble([request(grant: 1, offset: 4000, flags: m, id: 1, size: 100), request(grant: 2, offset: 0, id: 2, size: 4)]),
                       .success([NetTxPiece(grant: 1, offset: 4000, length: 96, at: 0), NetTxPiece(grant: 2, offset: 0, length: 4, at: 96)]))
        XCTAssertEqual(NetTxRequest.assemble([request(flags: m, size: 100), request(size: 100)]), .failure(.fragments))
        XCTAssertEqual(NetTxRequest.assemble([request(flags: m, size: 100), request(size: 0)]), .failure(.fragments))
        XCTAssertEqual(NetTxRequest.assemble([request(offset: 4090, flags: m, size: 100), request(size: 4)]), .failure(.pastPage))
        let long = [request(flags: m, size: 1000)] + Array(repeating: request(flags: m, size: 1), count: 17) + [request(size: 1)]
        XCTAssertEqual(NetTxRequest.assemble(long), .failure(.tooManySlots))
        XCTAssertEqual(NetTxRequest.assemble(Array(long.suffix(18)).enumerated().map { $0.offset == 0 ? request(flags: m, size: 1000) : $0.element }).map { $0.count }, .success(18))
    }

    /// A UDP datagram and a TCP segment as Linux hands them over with NETTXF_csum_blank.
    func testChecksumCompletion() {
        func frame(protocol p: UInt8, payload: [UInt8]) -> [UInt8] {
            let l4 = (p == 17 ? 8 : 20) + payload.count
            var f = [UInt8](repeating: 0, count: 14 + 20 + l4)
            f[12] = 0x08; f[14] = 0x45
            f[16] = UInt8((20 + l4) >> 8); f[17] = UInt8(truncatingIfNeeded: 20 + l4)
            f[22] = 64; f[23] = p
            f[26...29] = [10, 0, 2, 16]; f[30...33] = [10, 0, 2, 2]
            f[34] = 0x12; f[35] = 0x34; f[36] = 0x00; f[37] = 0x07
            if p == 17 { f[38] = UInt8(l4 >> 8); f[39] = UInt8(truncatingIfNeeded: l4) } else { f[46] = 0x50 }
            for (i, b) in payload.enumerated() { f[14 + 20 + (p == 17 ? 8 : 20) + i] = b }
            return f
        }
        for p: UInt8 in [6, 17] {
            for payload in [[], [1], Array("hello, apus".utf8), [UInt8](repeating: 0xFF, count: 999)] {
                var f = frame(protocol: p, payload: payload)
                XCTAssertTrue(f.withUnsafeMutableBytes { FrameChecksum.complete($0) })
                XCTAssertTrue(f.withUnsafeBytes { FrameChecksum.verify($0) })
                f[f.count - 1] ^= 1
                if !payload.isEmpty { XCTAssertFalse(f.withUnsafeBytes { FrameChecksum.verify($0) }) }
            }
        }
        // A known answer, computed apart (Python's struct, RFC 768's pseudo-header): 0x8da6.
        var udp = frame(protocol: 17, payload: Array("hello, apus".utf8))
        XCTAssertTrue(udp.withUnsafeMutableBytes { FrameChecksum.complete($0) })
        XCTAssertEqual([udp[40], udp[41]], [0x8D, 0xA6])
        // An ARP frame and an IP fragment are left as they were.
        var arp = [UInt8](repeating: 0, count: 42); arp[12] = 0x08; arp[13] = 0x06
        XCTAssertFalse(arp.withUnsafeMutableBytes { FrameChecksum.complete($0) })
        var fragment = frame(protocol: 17, payload: [1, 2, 3]); fragment[20] = 0x20            // more fragments
        let before = fragment
        XCTAssertFalse(fragment.withUnsafeMutableBytes { FrameChecksum.complete($0) })
        XCTAssertEqual(fragment, before)
    }

    func testResponses() {
        let tx = NetTxRequest.response(id: 0x0102, status: .dropped)
        XCTAssertEqual([tx[0], tx[1], tx[2], tx[3]], [0x02, 0x01, 0xFE, 0xFF])
        let rx = NetRxResponse.make(id: 5, offset: 0, flags: NetRxFlags.dataValidated, status: 97)
        XCTAssertEqual((0..<8).map { rx[$0] }, [5, 0, 0, 0, 1, 0, 97, 0])
        XCTAssertEqual(SharedRingLayout.entries(entryBytes: NetifTxLayout.entryBytes), 256)
        XCTAssertEqual(SharedRingLayout.entries(entryBytes: NetifRxLayout.entryBytes), 256)
    }

    func testBridgeBasics() {
        var t = BridgeTable()
        let a: MACAddress = 0x00163E000101, b: MACAddress = 0x525400123456
        XCTAssertEqual(t.route(a, from: 0), .flood)
        t.learn(a, port: 2, now: 1)
        t.learn(b, port: 0, now: 2)
        XCTAssertEqual(t.route(a, from: 0), .port(2))
        XCTAssertEqual(t.route(a, from: 2), .drop)
        XCTAssertEqual(t.route(0xFFFFFFFFFFFF, from: 2), .flood)
        XCTAssertEqual(t.route(0x01005E000001, from: 2), .flood)           // IPv4 multicast
        t.learn(0xFFFFFFFFFFFF, port: 3, now: 3)                             // never learnt
        XCTAssertEqual(t.entries.count, 2)
        t.learn(a, port: 3, now: 4)                                          // it moved
        XCTAssertEqual(t.route(a, from: 0), .port(3))
        t.forget(port: 3)
        XCTAssertEqual(t.route(a, from: 0), .flood)
        let frame: [UInt8] = [0x00, 0x16, 0x3E, 0x00, 0x01, 0x01]
        XCTAssertEqual(frame.withUnsafeBytes { BridgeTable.mac($0, at: 0) }, a)
    }

    /// A forging port fills only its own share: the others' addresses stay.
    func testForgingPortCostsOnlyItself() {
        var t = BridgeTable(perPortLimit: 4, capacity: 16)
        t.learn(0x00163E000001, port: 1, now: 0)
        for i in 0..<1000 { t.learn(0x00163E100000 + MACAddress(i), port: 2, now: UInt64(i + 1)) }
        XCTAssertEqual(t.route(0x00163E000001, from: 2), .port(1))
        XCTAssertEqual(t.entries.filter { $0.port == 2 }.count, 4)
    }

    /// Random frames against a reference switch: a dictionary with the same limits.
    func testAgainstReferenceModel() {
        var rng = SplitMix64(seed: 1410)
        var t = BridgeTable(perPortLimit: 3, capacity: 8)
        var model: [(mac: MACAddress, port: Int, seen: UInt64)] = []
        for now in 0..<20_000 {
            let port = Int(rng.next() % 4)
            let src = MACAddress(rng.next() % 12) | (rng.next() % 5 == 0 ? 0x0100_0000_0000 : 0)
            let dst = MACAddress(rng.next() % 12) | (rng.next() % 5 == 0 ? 0x0100_0000_0000 : 0)
            // Model: learn.
            if src & 0x0100_0000_0000 == 0 && src != 0 {
                if let i = model.firstIndex(where: { $0.mac == src }) {
                    model[i].port = port; model[i].seen = UInt64(now)
                } else {
                    let mine = model.indices.filter { model[$0].port == port }
                    if mine.count >= 3 { model.remove(at: mine.min { model[$0].seen < model[$1].seen }!) }
                    else if model.count >= 8 { model.remove(at: model.indices.min { model[$0].seen < model[$1].seen }!) }
                    model.append((src, port, UInt64(now)))
                }
            }
            t.learn(src, port: port, now: UInt64(now))
            let expected: BridgeTable.Route
            if dst & 0x0100_0000_0000 != 0 { expected = .flood }
            else if let e = model.first(where: { $0.mac == dst }) { expected = e.port == port ? .drop : .port(e.port) }
            else { expected = .flood }
            XCTAssertEqual(t.route(dst, from: port), expected)
            XCTAssertLessThanOrEqual(t.entries.count, 8)
        }
    }
}
