// Hypercalls.swift: typed wrappers for the hypercalls a PV guest kernel makes, over any
// HypercallTransport (the real one goes through the hypercall page; tests use a fake).
// Numbers and argument orders are Xen's pv32pae ABI; nothing here knows it runs on Apus.

import PVABI

/// The seam to the hypervisor: one trap with up to five register arguments.
public protocol HypercallTransport {
    func call(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32, _ a5: UInt32) -> Int32
    /// The same trap for calls that use only the first two (or four) argument registers; a
    /// transport may pass fewer, the others are zero.
    func call2(_ number: UInt32, _ a1: UInt32, _ a2: UInt32) -> Int32
    func call4(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32) -> Int32
}

extension HypercallTransport {
    public func call2(_ number: UInt32, _ a1: UInt32, _ a2: UInt32) -> Int32 { call(number, a1, a2, 0, 0, 0) }
    public func call4(_ number: UInt32, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32) -> Int32 {
        call(number, a1, a2, a3, a4, 0)
    }
}

public struct Xen<T: HypercallTransport> {
    public let transport: T
    public init(_ transport: T) { self.transport = transport }

    @inline(__always)
    func call(_ op: Hypercall, _ a1: UInt32 = 0, _ a2: UInt32 = 0, _ a3: UInt32 = 0, _ a4: UInt32 = 0, _ a5: UInt32 = 0) -> Int32 {
        transport.call(op.rawValue, a1, a2, a3, a4, a5)
    }
    @inline(__always)
    func call2(_ op: Hypercall, _ a1: UInt32, _ a2: UInt32 = 0) -> Int32 { transport.call2(op.rawValue, a1, a2) }
    @inline(__always)
    func call4(_ op: Hypercall, _ a1: UInt32, _ a2: UInt32, _ a3: UInt32, _ a4: UInt32) -> Int32 {
        transport.call4(op.rawValue, a1, a2, a3, a4)
    }

    /// A raw call by number, for probing (an unknown number must answer -ENOSYS).
    public func raw(_ number: UInt32, _ a1: UInt32 = 0, _ a2: UInt32 = 0, _ a3: UInt32 = 0) -> Int32 {
        transport.call(number, a1, a2, a3, 0, 0)
    }

    public func consoleWrite(_ address: UInt32, _ count: UInt32) -> Int32 {
        call(.consoleIO, ConsoleIOOp.write.rawValue, count, address)
    }
    public func consoleRead(_ address: UInt32, _ count: UInt32) -> Int32 {
        call(.consoleIO, ConsoleIOOp.read.rawValue, count, address)
    }
    public func xenVersion(_ op: XenVersionOp, _ argument: UInt32 = 0) -> Int32 {
        call2(.xenVersion, op.rawValue, argument)
    }
    public func setTrapTable(_ table: UInt32) -> Int32 { call(.setTrapTable, table) }
    public func setCallbacks(eventCS: UInt32, eventEIP: UInt32, failsafeCS: UInt32, failsafeEIP: UInt32) -> Int32 {
        call(.setCallbacks, eventCS, eventEIP, failsafeCS, failsafeEIP)
    }
    public func callbackOp(_ op: CallbackOp, _ argument: UInt32) -> Int32 { call(.callbackOp, op.rawValue, argument) }
    public func stackSwitch(ss: UInt32, esp: UInt32) -> Int32 { call(.stackSwitch, ss, esp) }
    public func fpuTaskswitch(_ set: Bool) -> Int32 { call(.fpuTaskswitch, set ? 1 : 0) }
    public func schedOp(_ op: SchedOp, _ argument: UInt32 = 0) -> Int32 { call2(.schedOp, op.rawValue, argument) }
    public func vmAssist(_ command: UInt32, _ type: UInt32) -> Int32 { call(.vmAssist, command, type) }
    public func updateVAMapping(_ va: UInt32, _ pte: UInt64, flags: UInt32) -> Int32 {
        call4(.updateVAMapping, va, UInt32(truncatingIfNeeded: pte), UInt32(truncatingIfNeeded: pte >> 32), flags)
    }
    public func setGDT(frameList: UInt32, entries: UInt32) -> Int32 { call(.setGDT, frameList, entries) }
    public func updateDescriptor(machineAddress: UInt64, descriptor: UInt64) -> Int32 {
        call(.updateDescriptor, UInt32(truncatingIfNeeded: machineAddress), UInt32(truncatingIfNeeded: machineAddress >> 32),
             UInt32(truncatingIfNeeded: descriptor), UInt32(truncatingIfNeeded: descriptor >> 32))
    }
    public func vcpuOp(_ op: VcpuOp, vcpu: UInt32, _ argument: UInt32 = 0) -> Int32 { call(.vcpuOp, op.rawValue, vcpu, argument) }
    public func multicall(_ entries: UInt32, count: UInt32) -> Int32 { call(.multicall, entries, count) }

    public func eventChannelOp(_ command: UInt32, _ argument: UInt32) -> Int32 { call2(.eventChannelOp, command, argument) }
    public func setTimerOp(_ deadline: UInt64) -> Int32 {
        call2(.setTimerOp, UInt32(truncatingIfNeeded: deadline), UInt32(truncatingIfNeeded: deadline >> 32))
    }
    public func memoryOp(_ command: UInt32, _ argument: UInt32) -> Int32 { call2(.memoryOp, command, argument) }
    public func sysctl(_ argument: UInt32) -> Int32 { call(.sysctl, argument) }
    /// grant_table_op(cmd, &ops[0], count): `ops` is an array of the sub-op's PVABI Grant*Layout.
    public func grantTableOp(_ op: GrantTableOp, _ ops: UInt32, count: UInt32) -> Int32 {
        call(.grantTableOp, op.rawValue, ops, count)
    }
    /// physdev_op(cmd, &arg).
    public func physdevOp(_ op: PhysdevOp, _ argument: UInt32) -> Int32 { call2(.physdevOp, op.rawValue, argument) }
    /// physdev_op set_iopl: the kernel's virtual IOPL (1 lets its ring-1 port I/O be emulated).
    public func setIOPL(_ level: UInt32) -> Int32 {
        var arg = HypercallRecord(stride: 4)
        arg.set(level, at: 0)
        return arg.withAddress { physdevOp(.setIOPL, $0) }
    }
    /// domctl(&xen_domctl): dom0's control of other domains.
    public func domctl(_ argument: UInt32) -> Int32 { call(.domctl, argument) }

    /// mmu_update(requests, count, &done, domid): `requests` is an array of PVABI MMUUpdateLayout.
    public func mmuUpdate(_ requests: UInt32, count: UInt32, done: UInt32, domain: UInt32 = UInt32(SpecialDomainID.selfID)) -> Int32 {
        call4(.mmuUpdate, requests, count, done, domain)
    }
    /// mmuext_op(ops, count, &done, domid): `ops` is an array of PVABI MMUExtOpLayout.
    public func mmuextOp(_ ops: UInt32, count: UInt32, done: UInt32, domain: UInt32 = UInt32(SpecialDomainID.selfID)) -> Int32 {
        call4(.mmuextOp, ops, count, done, domain)
    }
}

/// A batch of mmu_update requests, `struct mmu_update` elements laid out by PVABI's MMUUpdateLayout.
public struct MMUBatch {
    public private(set) var record = HypercallRecord(stride: MMUUpdateLayout.size, count: 0)
    public init() {}
    public var count: Int { record.count }

    public mutating func normal(entryAt machineAddress: UInt64, _ value: UInt64) {
        append(machineAddress | UInt64(MMUUpdateCommand.normalPTUpdate.rawValue), value)
    }
    public mutating func machphys(mfn: UInt32, pfn: UInt32) {
        append(UInt64(mfn) << 12 | UInt64(MMUUpdateCommand.machphysUpdate.rawValue), UInt64(pfn))
    }
    private mutating func append(_ ptr: UInt64, _ val: UInt64) {
        let i = record.append()
        record.set(ptr, at: MMUUpdateLayout.ptrOffset, element: i)
        record.set(val, at: MMUUpdateLayout.valOffset, element: i)
    }

    /// Runs the batch; returns the hypercall's result and how many requests were done. Mutating
    /// only so that the requests are passed in place (a copy of them would cost more than the call).
    public mutating func run<T>(_ xen: Xen<T>) -> (rc: Int32, done: UInt32) {
        var done: UInt32 = 0
        let n = UInt32(count)
        let rc = record.withAddress { address in
            withUnsafeMutablePointer(to: &done) { d in
                xen.mmuUpdate(address, count: n, done: UInt32(truncatingIfNeeded: UInt(bitPattern: d)))
            }
        }
        return (rc, done)
    }
}

/// A batch of mmuext_op operations, `struct mmuext_op` elements laid out by PVABI's MMUExtOpLayout.
public struct MMUExtBatch {
    public private(set) var record = HypercallRecord(stride: MMUExtOpLayout.size, count: 0)
    public init() {}
    public var count: Int { record.count }

    public mutating func add(_ command: MMUExtCommand, _ arg1: UInt32 = 0, _ arg2: UInt32 = 0) {
        let i = record.append()
        record.set(command.rawValue, at: MMUExtOpLayout.cmdOffset, element: i)
        record.set(arg1, at: MMUExtOpLayout.arg1Offset, element: i)
        record.set(arg2, at: MMUExtOpLayout.arg2Offset, element: i)
    }

    public func run<T>(_ xen: Xen<T>) -> (rc: Int32, done: UInt32) {
        var done: UInt32 = 0
        var ops = record
        let n = UInt32(count)
        let rc = ops.withAddress { address in
            withUnsafeMutablePointer(to: &done) { d in
                xen.mmuextOp(address, count: n, done: UInt32(truncatingIfNeeded: UInt(bitPattern: d)))
            }
        }
        return (rc, done)
    }

    /// One operation on its own.
    public static func single<T>(_ xen: Xen<T>, _ command: MMUExtCommand, _ arg1: UInt32 = 0, _ arg2: UInt32 = 0) -> Int32 {
        var b = MMUExtBatch()
        b.add(command, arg1, arg2)
        return b.run(xen).rc
    }
}

/// update_va_mapping flags (UVMF_*).
public enum UpdateVAFlags {
    public static let none: UInt32 = 0
    public static let tlbFlush: UInt32 = 1
    public static let invalidatePage: UInt32 = 2
}
