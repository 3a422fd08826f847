// DomctlDecodeTests.swift: domctl's decoder: each command's target and payload, createdomain's checked
// image and command line, the OUT ranges, each refusal with its errno and reason, and the fuzz harness.

import XCTest
import PVABI
@testable import ApusCore

final class DomctlDecodeTests: XCTestCase {
    static let va: UInt32 = 0x2000
    static let p = va + UInt32(DomctlLayout.payloadOffset)

    /// A 144-byte xen_domctl at 0x2000: `cmd`, `version`, `domain`, then payload words.
    func memory(_ cmd: DomctlCommand, version: UInt32 = DomctlVersion.apus, domain: UInt16 = 0, payload: [UInt32] = []) -> FakeGuestMemory {
        var m = FakeGuestMemory(seed: 36)
        m.mappedPercent = 0
        m.place32([cmd.rawValue, version, UInt32(domain), 0] + payload + Array(repeating: 0, count: 32 - payload.count), at: Self.va)
        return m
    }

    func decode(_ m: inout FakeGuestMemory, at va: UInt32 = DomctlDecodeTests.va) -> Decoded<DomctlRequest> {
        DomctlRequest.decode(HypercallArguments(va, 0, 0, 0, 0), &m)
    }

    /// createdomain's payload words: image va/len, memory KiB, weight|cap<<16, name (4 words), cmdline va/len, flags,
    /// ramdisk va/len.
    func create(image: UInt32 = 0x10_0000, length: UInt32 = 0x1000, weight: UInt16 = 256, cap: UInt16 = 0,
                cmdline: UInt32 = 0x6000, cmdlineLength: UInt32 = 10, flags: UInt32 = 0,
                ramdisk: UInt32 = 0, ramdiskLength: UInt32 = 0) -> [UInt32] {
        [image, length, 4096, UInt32(weight) | UInt32(cap) << 16, 0x6F6C_6C65 /* "ello" */, 0, 0, 0, cmdline, cmdlineLength, flags,
         ramdisk, ramdiskLength]
    }

    func testCreateDomainChecksItsBuffersAndNamesItsOutField() {
        var m = memory(.createDomain, payload: create(flags: CreateDomainLayout.flagPaused))
        guard case .createDomain(let c)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(m.copiesIn, 2, "the header and the payload only: the name, image and command line are the actor's to copy")
        XCTAssertEqual(c.image, GuestRange(0x10_0000, count: 0x1000))
        XCTAssertEqual(c.commandLine, GuestRange(0x6000, count: 10))
        XCTAssertEqual([c.memoryKiB], [4096])
        XCTAssertEqual([c.weight, c.cap], [256, 0])
        XCTAssertEqual(c.name, GuestRange(Self.p + UInt32(CreateDomainLayout.nameOffset), count: 16))
        let name: GuestBytes<16>? = m.read(c.name)
        XCTAssertEqual(name?.withBytes { Array($0.prefix(5)) }, Array("ello\0".utf8))
        XCTAssertTrue(c.paused)
        XCTAssertNil(c.ramdisk, "length 0 is no ramdisk, whatever the address")
        XCTAssertEqual(c.domainOut, GuestRange(Self.va + UInt32(DomctlLayout.domainOffset), count: 2))
        XCTAssertEqual(c.ringsOut, GuestRange(Self.va + UInt32(DomctlLayout.payloadOffset + CreateDomainLayout.storePortOffset), count: 16))
    }

    func testCreateDomainRamdisk() {
        var m = memory(.createDomain, payload: create(ramdisk: 0x40_0000, ramdiskLength: 0x10_3A51))
        guard case .createDomain(let c)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(c.ramdisk, GuestRange(0x40_0000, count: 0x10_3A51))
        XCTAssertEqual(m.copiesIn, 2, "the ramdisk is the actor's to copy")
        var none = memory(.createDomain, payload: create(ramdisk: 0xFFFF_F000, ramdiskLength: 0))
        guard case .createDomain(let n)? = accepted(decode(&none)) else { return XCTFail() }
        XCTAssertNil(n.ramdisk)
        var largest = memory(.createDomain, payload: create(ramdisk: 0x40_0000, ramdiskLength: DomctlRequest.maxRamdisk))
        XCTAssertNotNil(accepted(decode(&largest)))
        var edge = memory(.createDomain, payload: create(ramdisk: GuestRange.limit - 0x1000, ramdiskLength: 0x1000))
        XCTAssertNotNil(accepted(decode(&edge)), "a ramdisk ending exactly at the limit is guest memory")
    }

    func testCreateDomainRefusals() {
        let cases: [([UInt32], XenError, String)] = [
            (create(length: 0), .EINVAL, "the kernel image is empty or larger than 4 MiB"),
            (create(length: DomctlRequest.maxImage + 1), .EINVAL, "the kernel image is empty or larger than 4 MiB"),
            (create(length: 0xFFFF_FFFF), .EINVAL, "the kernel image is empty or larger than 4 MiB"),
            (create(cmdlineLength: 1024), .EINVAL, "the command line is longer than 1023 bytes"),
            (create(weight: 0), .EINVAL, "weight must be 1-65535 and cap 0-100"),
            (create(cap: 101), .EINVAL, "weight must be 1-65535 and cap 0-100"),
            (create(cmdline: 0xFFFF_FFF8), .EFAULT, "the command line is not readable guest memory"),
            (create(cmdline: GuestRange.limit - 9), .EFAULT, "the command line is not readable guest memory"),
            (create(image: 0xFFFF_F000), .EFAULT, "the kernel image is not readable guest memory"),
            (create(image: GuestRange.limit - 0xFFF), .EFAULT, "the kernel image is not readable guest memory"),
            (create(ramdiskLength: DomctlRequest.maxRamdisk + 1), .EINVAL, "the ramdisk is larger than 4 MiB"),
            (create(ramdisk: 0xFFFF_F000, ramdiskLength: 0x2000), .EFAULT, "the ramdisk is not readable guest memory"),
            (create(ramdisk: GuestRange.limit - 0xFFF, ramdiskLength: 0x1000), .EFAULT, "the ramdisk is not readable guest memory"),
        ]
        for (payload, errno, reason) in cases {
            var m = memory(.createDomain, payload: payload)
            assertRefused(decode(&m), errno, reason)
        }
        var edge = memory(.createDomain, payload: create(image: GuestRange.limit - 0x1000, cmdline: GuestRange.limit - 10))
        XCTAssertNotNil(accepted(decode(&edge)), "buffers ending exactly at the limit are guest memory")
    }

    func testTargetCommands() {
        var m = memory(.destroyDomain, domain: 3)
        guard case .destroyDomain(3)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.pauseDomain, domain: 4)
        guard case .pauseDomain(4)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.unpauseDomain, domain: 5)
        guard case .unpauseDomain(5)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.maxMem, domain: 6)
        guard case .maxMem(6)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.getDomainInfo, domain: 7)
        guard case .getDomainInfo(7, let out, .none)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(out, GuestRange(Self.p, count: UInt32(DomainInfoLayout.size)))
    }

    /// Xen 4.17's interface version (0x15): Xen's getdomaininfo layout with the id echoed in
    /// xen_domctl.domain, Xen's max_mem payload, the same permissions and scheduler payloads; Xen's
    /// createdomain is not Apus's; any third version -EACCES.
    func testXenInterfaceVersion() {
        var m = memory(.getDomainInfo, version: XenInterfaceVersion.domctl, domain: 7)
        guard case .getDomainInfo(7, let out, let echo?)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(out, GuestRange(Self.p, count: 112))
        XCTAssertEqual(echo, GuestRange(Self.va + 8, count: 2))
        m = memory(.maxMem, version: XenInterfaceVersion.domctl, domain: 6, payload: [0x10000, 0])
        guard case .maxMem(6)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.pauseDomain, version: XenInterfaceVersion.domctl, domain: 4)
        guard case .pauseDomain(4)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.schedulerOp, version: XenInterfaceVersion.domctl, domain: 2, payload: [SchedulerID.credit, DomctlSchedulerCommand.putInfo.rawValue, 512 | 50 << 16])
        guard case .putSchedulerInfo(2, 512, 50)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.createDomain, version: XenInterfaceVersion.domctl, payload: create())
        assertRefused(decode(&m), .EOPNOTSUPP, "createdomain with Xen's payload: Apus builds a domain from an image (Apus's interface version)")
        for version: UInt32 in [0x14, 0x16, 0, DomctlVersion.apus + 1] {
            m = memory(.getDomainInfo, version: version, domain: 0)
            assertRefused(decode(&m), .EACCES, "domctl interface version is neither Xen 4.17's nor Apus's")
        }
    }

    func testSchedulerOp() {
        var m = memory(.schedulerOp, domain: 2, payload: [SchedulerID.credit, DomctlSchedulerCommand.putInfo.rawValue, 512 | 50 << 16])
        guard case .putSchedulerInfo(2, 512, 50)? = accepted(decode(&m)) else { return XCTFail() }
        m = memory(.schedulerOp, domain: 2, payload: [SchedulerID.credit, DomctlSchedulerCommand.getInfo.rawValue])
        guard case .getSchedulerInfo(2, let weight, let cap)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(weight, GuestRange(Self.p + UInt32(DomctlSchedulerOpLayout.creditWeightOffset), count: 2))
        XCTAssertEqual(cap, GuestRange(Self.p + UInt32(DomctlSchedulerOpLayout.creditCapOffset), count: 2))
        m = memory(.schedulerOp, domain: 2, payload: [SchedulerID.credit2, DomctlSchedulerCommand.getInfo.rawValue])
        assertRefused(decode(&m), .EINVAL, "only the credit scheduler runs here")
        m = memory(.schedulerOp, domain: 2, payload: [SchedulerID.credit, 2])
        assertRefused(decode(&m), .EINVAL, "unknown scheduler_op command")
        m = memory(.schedulerOp, domain: 2, payload: [SchedulerID.credit, DomctlSchedulerCommand.putInfo.rawValue, 0])
        assertRefused(decode(&m), .EINVAL, "weight must be 1-65535 and cap 0-100")
        m = memory(.schedulerOp, domain: 2, payload: [SchedulerID.credit, DomctlSchedulerCommand.putInfo.rawValue, 1 | 101 << 16])
        assertRefused(decode(&m), .EINVAL, "weight must be 1-65535 and cap 0-100")
    }

    /// Xen's three permission payloads: ranges checked as Xen checks them (-EINVAL when empty or
    /// past the last port or frame), the allow byte, and nothing copied past the payload.
    func testPermissions() {
        var m = memory(.ioportPermission, domain: 3, payload: [0x510, 2, 1])
        guard case .ioportPermission(3, let ports, true)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(ports, PortRange(first: 0x510, last: 0x511))
        m = memory(.ioportPermission, domain: 3, payload: [0xFFFF, 1, 0])
        guard case .ioportPermission(3, let last, false)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(last, PortRange(first: 0xFFFF, last: 0xFFFF))
        for (first, count): (UInt32, UInt32) in [(0x510, 0), (0xFFFF, 2), (0x1_0000, 1), (0, 0xFFFF_FFFF), (0xFFFF_FFFF, 2)] {
            var bad = memory(.ioportPermission, domain: 3, payload: [first, count, 1])
            assertRefused(decode(&bad), .EINVAL, "ioport_permission: an empty range or one past port 0xFFFF")
        }
        m = memory(.iomemPermission, domain: 4, payload: [0xFEBF0, 0, 4, 0, 0x100])
        guard case .iomemPermission(4, let frames, false)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(frames, FrameNumberRange(first: 0xFEBF0, last: 0xFEBF3))
        for words: [UInt32] in [[0xFEBF0, 0, 0, 0, 1], [0, 1, 1, 0, 1], [0xFFFF_FFFF, 0, 2, 0, 1], [1, 0, 0, 1, 1]] {
            var bad = memory(.iomemPermission, domain: 4, payload: words)
            assertRefused(decode(&bad), .EINVAL, "iomem_permission: an empty range or one past the frames a PAE entry can name")
        }
        m = memory(.irqPermission, domain: 5, payload: [11, 0xFF00_0001])
        guard case .irqPermission(5, 11, true)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(m.copiesIn, 2)
    }

    func testHeaderRefusals() {
        var m = memory(.pauseDomain)
        for va: UInt32 in [0xFFFF_FFF8, GuestRange.limit - 143, 0x9000] {
            assertRefused(decode(&m, at: va), .EFAULT, "xen_domctl is not readable guest memory")
        }
        var v = memory(.pauseDomain, version: 0x0000_0014)   // Xen 4.16's
        assertRefused(decode(&v), .EACCES, "domctl interface version is neither Xen 4.17's nor Apus's")
        var u = memory(.pauseDomain)
        u.place32([99], at: Self.va)
        assertRefused(decode(&u), .ENOSYS, "unknown domctl command")
        for cmd in [DomctlCommand.setVCPUContext, .getVCPUContext, .resumeDomain, .setVirqHandler, .setMaxEventChannel] {
            var n = memory(cmd)
            assertRefused(decode(&n), .ENOSYS, "this domctl command is not implemented")
        }
    }

    /// XEN_DOMCTL_max_vcpus (issue #16): the target and its u32 `max`, whatever it is (VcpuLimits judges it).
    func testMaxVCPUs() {
        var m = memory(.maxVCPUs, domain: 3, payload: [4])
        guard case .maxVCPUs(let target, 4)? = accepted(decode(&m)) else { return XCTFail() }
        XCTAssertEqual(target, 3)
    }

    func testFuzzed() {
        var rng = SplitMix64(seed: 0x36)
        let commands: [UInt32] = [1, 2, 3, 4, 5, 11, 12, 16, 16, 16, 1, 1, 1, 19, 20, 21, 99]
        let tally = DecoderFuzzing.run(seed: 36, firstArgument: { DecoderFuzzing.register(&$0) }) { a, m in
            overlaid(&m, { o in
                // One draw decides which fields are laid (each bit about half the time, the header
                // most of the time); values are small numbers or the fuzzer's register palette.
                let bits = rng.next()
                let p = a.a1 &+ UInt32(DomctlLayout.payloadOffset)
                if bits & 0xF != 0 { o.lay(bits & 0x3 == 0 ? XenInterfaceVersion.domctl : DomctlVersion.apus, at: a.a1 &+ UInt32(DomctlLayout.interfaceVersionOffset)) }
                if bits & 0xF0 != 0 { o.lay(commands[Int(bits >> 8 & 0xFF) % commands.count], at: a.a1) }
                if bits & 1 << 16 != 0 { o.lay(bits & 1 << 17 != 0 ? SchedulerID.credit : UInt32(truncatingIfNeeded: bits >> 32), at: p) }
                if bits & 1 << 18 != 0 { o.lay(UInt32(bits >> 19 & 3), at: p &+ 4) }
                if bits & 1 << 21 != 0 { o.lay(UInt32(truncatingIfNeeded: bits >> 40), at: p &+ UInt32(CreateDomainLayout.weightOffset)) }
                if bits & 1 << 22 != 0 { o.lay(UInt32(bits >> 23 & 0x7FF), at: p &+ UInt32(CreateDomainLayout.commandLineLengthOffset)) }
                if bits & 3 << 34 == 0 { o.lay(DecoderFuzzing.register(&rng), at: p &+ UInt32(CreateDomainLayout.commandLineVAOffset)) }
                if bits & 3 << 36 == 0 { o.lay(DecoderFuzzing.register(&rng), at: p &+ UInt32(CreateDomainLayout.ramdiskVAOffset)) }
                if bits & 3 << 38 == 0 { o.lay(UInt32(bits >> 41 & 0x7F_FFFF), at: p &+ UInt32(CreateDomainLayout.ramdiskLengthOffset)) }
            }) { DomctlRequest.decode(a, &$0) }
        }
        for e in [XenError.EFAULT, .EACCES, .ENOSYS, .EINVAL] { XCTAssertGreaterThan(tally.refused[e.rawValue] ?? 0, 0) }
    }
}
