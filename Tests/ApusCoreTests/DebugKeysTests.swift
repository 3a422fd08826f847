// DebugKeysTests.swift: the serial input switch (Ctrl-A three times, fewer passed on as typed) against
// a reference model, the keys' help and the lines the q, e, r, m, g and d dumps print.

import XCTest
import PVABI
@testable import ApusCore

private func text(_ l: LogLine) -> String { l.withBytes { String(decoding: $0, as: UTF8.self) } }

private func feedAll(_ bytes: [UInt8], _ s: inout ConsoleInputSwitch) -> [ConsoleInputDelivery] {
    var out: [ConsoleInputDelivery] = []
    for b in bytes { s.feed(b) { out.append($0) } }
    return out
}

final class DebugKeysTests: XCTestCase {
    func testThreeCtrlASwitchBothWays() {
        var s = ConsoleInputSwitch()
        XCTAssertEqual(feedAll([104, 1, 1, 1, 113, 101, 1, 1, 1, 108], &s),
                       [.toDom0(104), .switched(.hypervisor), .key(113), .key(101), .switched(.dom0), .toDom0(108)])
        XCTAssertEqual(s.target, .dom0)
    }

    func testFewerCtrlAArePassedOnBeforeTheNextByte() {
        var s = ConsoleInputSwitch()
        XCTAssertEqual(feedAll([1, 1, 120], &s), [.toDom0(1), .toDom0(1), .toDom0(120)])
        XCTAssertEqual(feedAll([1], &s), [])
        XCTAssertEqual(s.held, 1)
        XCTAssertEqual(feedAll([1, 1, 1, 1, 113], &s), [.switched(.hypervisor), .key(1), .key(1), .key(113)])
    }

    /// Reference model: split the stream at runs of Ctrl-A; each run of n switches n/3 times and
    /// passes n%3 bytes on once another byte follows.
    func testAgainstReferenceModel() {
        var rng = SplitMix64(seed: 17)
        for _ in 0..<300 {
            let bytes = (0..<Int(rng.next() % 40)).map { _ in rng.next() % 3 == 0 ? UInt8(1) : UInt8(97 + rng.next() % 3) }
            var s = ConsoleInputSwitch()
            let got = feedAll(bytes, &s)
            var want: [ConsoleInputDelivery] = []
            var toHV = false
            var run = 0
            for b in bytes {
                if b == 1 {
                    run += 1
                    if run == 3 { run = 0; toHV.toggle(); want.append(.switched(toHV ? .hypervisor : .dom0)) }
                    continue
                }
                for x in Array(repeating: UInt8(1), count: run) + [b] { want.append(toHV ? .key(x) : .toDom0(x)) }
                run = 0
            }
            XCTAssertEqual(got, want, "\(bytes)")
            XCTAssertEqual(s.held, run)
        }
    }

    func testAnnouncementsAndHelp() {
        XCTAssertEqual(text(DebugDump.switched(.hypervisor)), "*** Serial input to Apus (type 'CTRL-a' three times to switch input)")
        XCTAssertEqual(text(DebugDump.switched(.dom0)), "*** Serial input to DOM0 (type 'CTRL-a' three times to switch input)")
        XCTAssertEqual(text(DebugDump.help(.domains)), " key 'q' (ascii '71') => dump domain (and guest debug) info")
        XCTAssertEqual(text(DebugDump.pressed(.events)), "'e' pressed -> dump evtchn info")
        XCTAssertEqual(text(DebugDump.unknown(13)), "key 0x0d has no handler; 'h' lists them")
        XCTAssertEqual(Set(DebugKey.allCases.map { $0.rawValue }), Set("hqremgd".utf8))
        XCTAssertNil(DebugKey(rawValue: 1))
    }

    func testDomainAndRegisterLines() {
        let name: [UInt8] = Array("clock".utf8)
        let l = name.withUnsafeBufferPointer {
            DebugDump.domain(id: 1, name: $0, state: "blocked", privileged: false, paused: false, pages: 1024, cpuTimeNs: 5_600_000)
        }
        XCTAssertEqual(text(l), "General information for domain 1 (clock): blocked, privileged no, paused no, nr_pages 1024, cpu time 5 ms")
        XCTAssertEqual(text(DebugDump.vcpu(0, upcallPending: 1, upcallMask: 0, eventCallback: 0xC000_1000, failsafeCallback: 0xC000_1040, timerDeadline: 99)),
                       "    VCPU0: upcall_pend 0x01 upcall_mask 0x00 event_callback 0xc0001000 failsafe 0xc0001040 timer 99")
        var f = TrapFrame()
        f.eip = 0xC010_2030; f.cs = 0xE019; f.eflags = 0x246; f.esp = 0xC020_0000; f.ss = 0xE021; f.eax = 7
        var lines: [String] = []
        DebugDump.registers(f) { lines.append(text($0)) }
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[0], "      eip 0xc0102030 cs 0xe019 eflags 0x00000246 esp 0xc0200000 ss 0xe021 ring 1")
        XCTAssertTrue(lines[1].hasPrefix("      eax 0x00000007 ebx 0x00000000"))
    }

    func testPortLines() {
        let inter = EventChannel(state: .interdomain(remoteDomain: 1, remotePort: 3), notifyVCPU: 0)
        XCTAssertEqual(text(DebugDump.port(5, inter, pending: true, masked: false)), "    port 5 [p=1 m=0] vcpu 0: interdomain, to d1 port 3")
        XCTAssertEqual(text(DebugDump.port(2, EventChannel(state: .virq(1), notifyVCPU: 0), pending: false, masked: true)),
                       "    port 2 [p=0 m=1] vcpu 0: virq 1")
        XCTAssertEqual(text(DebugDump.port(9, EventChannel(state: .unbound(remote: 0), notifyVCPU: 0), pending: false, masked: false)),
                       "    port 9 [p=0 m=0] vcpu 0: unbound, for d0")
    }

    func testCreditFramesGrantsStack() {
        var s = CreditScheduler(capacity: 4)
        XCTAssertTrue(s.add(2, weight: 128, cap: 10))
        let e = s.entry(2)!
        XCTAssertTrue(text(DebugDump.credit(e, running: true)).hasPrefix("    d2* weight 128 cap 10 credit "))
        var c = DebugDump.FrameCounts()
        c.add(.none); c.add(.l1); c.add(.l1); c.add(.writable)
        XCTAssertEqual(text(DebugDump.frames(.domain(3), c)), "    d3: 4 frames (16 KiB): none 1, writable 1, l1 2, l2 0, l3 0, descriptor 0")
        XCTAssertEqual(text(DebugDump.frames(.free, DebugDump.FrameCounts())), "    free: 0 frames (0 KiB): none 0, writable 0, l1 0, l2 0, l3 0, descriptor 0")
        var g = GrantSystem(domainCapacity: 4)
        XCTAssertTrue(g.addDomain(1, privileged: false))
        XCTAssertEqual(text(DebugDump.grants(1, g.table(1)!)), "    d1: grant table 0 of \(GrantTableLimits.defaultMaxFrames) frames, 0 entries active, its grants mapped 0 times, it maps 0 of others'")
        let sym: [UInt8] = Array("apus_main".utf8)
        XCTAssertEqual(sym.withUnsafeBufferPointer { text(DebugDump.stackFrame(2, eip: 0x0010_2345, symbol: $0, offset: 0x45)) },
                       "    #2 [<0x00102345>] apus_main+0x45")
        XCTAssertEqual(text(DebugDump.stackFrame(0, eip: 0x10, symbol: nil, offset: 0)), "    #0 [<0x00000010>]")
    }
}
