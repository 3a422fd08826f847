// Which FIFO event-channel setup a domain may make: init_control, expand_array and set_priority checked as Xen checks them.
// Pure decisions over facts the hypervisor gathers (frame ownership, VCPU count, what is registered): it must never map a frame, change a port or accept a frame it was not told is the domain's own writable RAM.

import PVABI

/// Which event ABI a domain's ports use: 2-level until its first successful init_control.
public enum EventABI: Equatable, Sendable {
    case twoLevel
    case fifo
}

/// What the hypervisor's frame ownership rules say of a guest frame offered as a control block or an
/// event-array page.
public enum FifoFrameCheck: Equatable, Sendable {
    /// RAM of the calling domain that it may write (not a page table, descriptor table or the like).
    case ownWritableRAM
    /// Beyond the domain's memory, or not its own (a foreign or hypervisor frame).
    case notOwnRAM
    /// The domain's own frame, but typed so that it may not be written (a page table, a GDT page...).
    case notWritable
}

extension FifoFrameCheck {
    /// The check for guest frame `gfn` (on PV the machine frame) from what taking a writable type
    /// reference on it answered: nil (taken) is the domain's own writable RAM; a frame that is beyond
    /// memory, free, foreign or the hypervisor's is not its own RAM; any other refusal is a type conflict.
    /// A gfn above 32 bits is not RAM at all and is never offered to the frame table (`probe` is not called).
    public static func of(gfn: UInt64, probe: (UInt32) -> MemoryError?) -> FifoFrameCheck {
        guard let mfn = UInt32(exactly: gfn) else { return .notOwnRAM }
        switch probe(mfn) {
        case nil: return .ownWritableRAM
        case .frameBeyondMemory?, .frameNotOwned?, .foreignFrame?, .hypervisorFrame?: return .notOwnRAM
        case _?: return .notWritable
        }
    }
}

/// One domain's FIFO setup as the rules see it.
public struct FifoSetup: Equatable, Sendable {
    public var abi: EventABI
    /// Bit v set once VCPU v registered its control block.
    public var controlBlocks: UInt64
    /// Event-array pages added so far (each holds EvtchnFifo.wordsPerPage words).
    public var arrayPages: UInt32

    public init() {
        abi = .twoLevel
        controlBlocks = 0
        arrayPages = 0
    }

    public func hasControlBlock(vcpu: UInt32) -> Bool { vcpu < 64 && controlBlocks & (1 << UInt64(vcpu)) != 0 }
}

public enum FifoControlRules {
    /// The largest VCPU count the setup tracks (a 64-bit mask); a domain with more cannot use FIFO.
    public static let maxVCPUs: UInt32 = 64

    /// Array pages a domain may add: enough to give every one of its `portLimit` ports a word, and never
    /// more than the ABI's EvtchnFifo.maxArrayPages.
    public static func maxArrayPages(portLimit: UInt32) -> UInt32 {
        let pages = portLimit / EvtchnFifo.wordsPerPage + (portLimit % EvtchnFifo.wordsPerPage == 0 ? 0 : 1)
        return min(pages, EvtchnFifo.maxArrayPages)
    }

    /// EVTCHNOP_init_control for `vcpu` with the block at `offset` of a frame `frame` says what of. Checks in
    /// Xen's order: the VCPU (ENOENT), the offset (crossing the page, then misaligned: EINVAL), a second block
    /// for the VCPU (EINVAL), the frame (EINVAL). Ports bound before the switch are carried across
    /// (FifoQueues.carryAcross), as Xen does, so they are no reason to refuse.
    public static func initControl(_ setup: FifoSetup, vcpu: UInt32, vcpus: UInt32, offset: UInt32,
                                   frame: FifoFrameCheck) -> Refusal? {
        guard vcpu < vcpus, vcpu < maxVCPUs else { return Refusal(.ENOENT, "init_control: no such VCPU") }
        guard offset <= UInt32(4096 - EvtchnFifoControlBlockLayout.size) else {
            return Refusal(.EINVAL, "init_control: the control block would cross the end of its frame")
        }
        guard offset & 7 == 0 else { return Refusal(.EINVAL, "init_control: the control block offset is not 8-byte aligned") }
        guard !setup.hasControlBlock(vcpu: vcpu) else { return Refusal(.EINVAL, "init_control: the VCPU already has a control block") }
        switch frame {
        case .ownWritableRAM: return nil
        case .notOwnRAM: return Refusal(.EINVAL, "init_control: the control frame is not the domain's own RAM")
        case .notWritable: return Refusal(.EINVAL, "init_control: the control frame is not writable by the domain (a typed page)")
        }
    }

    /// EVTCHNOP_expand_array: EOPNOTSUPP before init_control, ENOSPC when every page the domain's ports
    /// need is there, EINVAL for a frame that is not its own writable RAM.
    public static func expandArray(_ setup: FifoSetup, portLimit: UInt32, frame: FifoFrameCheck) -> Refusal? {
        guard setup.abi == .fifo else { return Refusal(.EOPNOTSUPP, "expand_array: the domain has not switched to the FIFO ABI") }
        guard setup.arrayPages < maxArrayPages(portLimit: portLimit) else {
            return Refusal(.ENOSPC, "expand_array: the event array already covers every port")
        }
        switch frame {
        case .ownWritableRAM: return nil
        case .notOwnRAM: return Refusal(.EINVAL, "expand_array: the array frame is not the domain's own RAM")
        case .notWritable: return Refusal(.EINVAL, "expand_array: the array frame is not writable by the domain (a typed page)")
        }
    }

    /// EVTCHNOP_set_priority, in Xen's order: a port beyond the domain's limit (EINVAL), a 2-level domain
    /// (ENOSYS: that ABI has no priorities), a priority above 15 (EINVAL).
    public static func setPriority(_ setup: FifoSetup, port: UInt32, priority: UInt32, portLimit: UInt32) -> Refusal? {
        guard port < portLimit else { return Refusal(.EINVAL, "set_priority: the port is out of range") }
        guard setup.abi == .fifo else { return Refusal(.ENOSYS, "set_priority: the 2-level ABI has no priorities") }
        guard priority <= EvtchnFifo.priorityLowest else { return Refusal(.EINVAL, "set_priority: priorities run from 0 to 15") }
        return nil
    }
}
