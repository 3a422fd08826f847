// StoreTestSupport.swift: helpers for the xenstored tests: building requests from strings, reading
// replies and the watch events queued for a domain. Test-only; it never reaches into the core's state.

import XCTest
@testable import GuestKit

/// A payload of NUL-terminated strings.
func storePayload(_ parts: [String]) -> [UInt8] {
    var out: [UInt8] = []
    for p in parts { out += Array(p.utf8); out.append(0) }
    return out
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

extension XenStore {
    /// Sends one request and answers the reply.
    @discardableResult
    mutating func ask(_ domain: UInt16, _ type: StoreMessageType, _ parts: [String], tx: UInt32 = 0,
                      requestID: UInt32 = 7) -> StoreMessage {
        call(from: domain, StoreMessage(type, requestID: requestID, transactionID: tx, payload: storePayload(parts)))
    }

    /// WRITE: the path with its NUL, then the value without one.
    @discardableResult
    mutating func write(_ domain: UInt16, _ path: String, _ value: String, tx: UInt32 = 0) -> StoreMessage {
        call(from: domain, StoreMessage(.write, transactionID: tx, payload: storePayload([path]) + Array(value.utf8)))
    }

    /// Every whole message queued for `domain`, marked sent.
    mutating func drain(_ domain: UInt16) -> [StoreMessage] {
        let bytes = Array(unsent(for: domain))
        markSent(bytes.count, for: domain)
        var out: [StoreMessage] = []
        var at = 0
        while let h = StoreHeader(bytes[at..<bytes.count]), at + 16 + Int(h.length) <= bytes.count {
            out.append(StoreMessage(type: h.type, requestID: h.requestID, transactionID: h.transactionID,
                                    payload: Array(bytes[(at + 16)..<(at + 16 + Int(h.length))])))
            at += 16 + Int(h.length)
        }
        return out
    }

    /// The (path, token) of every watch event queued for `domain`, marked sent.
    mutating func events(_ domain: UInt16) -> [String] {
        drain(domain).filter { $0.kind == .watchEvent }.map {
            StorePayload.split($0.payload).strings.map(text).joined(separator: " ")
        }
    }
}

extension StoreMessage {
    /// The error name of an XS_ERROR reply, else nil.
    var errorName: String? {
        kind == .error ? text(StorePayload.split(payload).strings.first ?? []) : nil
    }
    var isOK: Bool { kind != .error && payload == [0x4F, 0x4B, 0] }
    var strings: [String] { StorePayload.split(payload).strings.map(text) }
}

/// A store with domains 1 and 2 introduced and each owning /local/domain/<id>, as the toolstack sets up.
func storeWithGuests(_ limits: StoreLimits = StoreLimits()) -> XenStore {
    var s = XenStore(limits: limits)
    for d in [1, 2] {
        XCTAssertTrue(s.ask(0, .introduce, ["\(d)", "\(100 + d)", "\(10 + d)"]).isOK)
        XCTAssertTrue(s.ask(0, .mkdir, ["/local/domain/\(d)"]).isOK)
        XCTAssertTrue(s.ask(0, .setPerms, ["/local/domain/\(d)", "n\(d)"]).isOK)
    }
    _ = s.drain(0)
    return s
}
