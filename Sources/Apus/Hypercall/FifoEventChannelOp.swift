// FifoEventChannelOp.swift: EVTCHNOP_init_control, expand_array and set_priority acted on. This file
// gathers the facts FifoControlRules decides on (the domain's VCPU count and port limit, what a writable
// type reference on the offered frame answers), and for a request that passes: keeps that reference,
// maps the frame in a lasting FifoWindows window and records it in the domain's FifoEventChannels. The
// first control block switches the domain to the FIFO ABI, carrying its bound ports across as Xen does
// (a port pending on the 2-level ABI is held and linked once an array page holds its word).
// It must never keep a reference on a refused frame, nor leave a window or reference behind when the
// domain goes (`release`, from MemoryTeardown and EVTCHNOP_reset).

import ApusCore
import PVABI

enum FifoEventChannelHypercall {
    static func run(_ request: FifoEventRequest, _ d: Domain) -> HypercallOutcome {
        guard let table = Events.system.table(d.id) else { return .refused(.ESRCH, "the domain has no event-channel table") }
        let setup = d.fifo?.setup ?? FifoSetup()
        switch request {
        case .initControl(let gfn, let offset, let vcpu, let linkBitsOut):
            // Every check before the frame's, then the frame (so a refused request keeps no reference).
            func rule(_ frame: FifoFrameCheck) -> Refusal? {
                FifoControlRules.initControl(setup, vcpu: vcpu, vcpus: table.vcpuCount, offset: offset, frame: frame)
            }
            if let refusal = rule(.ownWritableRAM) ?? rule(takeFrame(gfn, d)) { return refusal.outcome }
            let mfn = UInt32(truncatingIfNeeded: gfn)
            guard let window = FifoWindows.map(mfn) else {
                Machine.frames.putPageAndType(mfn, memory: &Machine.memory)
                return .refused(.ENOMEM, "init_control: every FIFO event-channel window is taken")
            }
            var memory = RunningGuestMemory()
            var linkBits = GuestBytes<1>(count: 1)
            linkBits.set8(0, UInt8(EvtchnFifo.linkBits))
            guard memory.write(linkBits, to: linkBitsOut) else {
                FifoWindows.unmap(window)
                Machine.frames.putPageAndType(mfn, memory: &Machine.memory)
                return .refused(.EFAULT, "init_control: link_bits is not writable guest memory")
            }
            let fifo: FifoEventChannels
            var carried = 0, pending = 0
            if let existing = d.fifo {
                fifo = existing
            } else {
                // The switch: the FIFO ABI's port limit (up to the domain's own, beyond 1024), bound ports
                // keep working and a 2-level pending bit becomes a held FIFO event.
                let fifoLimit = EventChannelTable.limit(table.configuredLimit, abi: .fifo)
                fifo = FifoEventChannels(vcpus: table.vcpuCount, portLimit: fifoLimit)
                _ = Events.change { $0.setABI(d.id, .fifo) }
                let page = d.eventPage
                var port: UInt32 = 1
                while port < table.portLimit {
                    if let state = table.state(port), state != .free {
                        carried += 1
                        if port < UInt32(SharedInfoLimits.twoLevelEventChannels) && TwoLevelEvents.isPending(page, port: port) {
                            fifo.queues.carryAcross(pending: port)
                            pending += 1
                        }
                    }
                    port += 1
                }
            }
            fifo.controls[Int(vcpu)] = FifoVcpuControl(block: window.advanced(by: Int(offset)), frame: mfn)
            fifo.setup.controlBlocks |= 1 << UInt64(vcpu)
            if d.fifo == nil {
                d.fifo = fifo
                Log.info("d\(d.id): FIFO event channels: VCPU \(vcpu)'s control block at frame \(hex: mfn) + \(hex: offset) (init_control); \(UInt32(carried)) bound ports carried across from the 2-level ABI, \(UInt32(pending)) of them pending; ports below \(fifo.queues.portLimit) now")
            } else {
                Log.info("d\(d.id): FIFO event channels: VCPU \(vcpu)'s control block at frame \(hex: mfn) + \(hex: offset) (init_control)")
            }
            return .ok
        case .expandArray(let gfn):
            func rule(_ frame: FifoFrameCheck) -> Refusal? { FifoControlRules.expandArray(setup, portLimit: table.portLimit, frame: frame) }
            if let refusal = rule(.ownWritableRAM) ?? rule(takeFrame(gfn, d)) { return refusal.outcome }
            let mfn = UInt32(truncatingIfNeeded: gfn)
            guard let fifo = d.fifo else {
                // The rule refuses a 2-level domain; this keeps the reference balanced if that ever changes.
                Machine.frames.putPageAndType(mfn, memory: &Machine.memory)
                return .refused(.EOPNOTSUPP, "expand_array: the domain has not switched to the FIFO ABI")
            }
            guard let window = FifoWindows.map(mfn) else {
                Machine.frames.putPageAndType(mfn, memory: &Machine.memory)
                return .refused(.ENOMEM, "expand_array: every FIFO event-channel window is taken")
            }
            fifo.pages.append(FifoArrayPage(words: window, frame: mfn))
            fifo.setup.arrayPages += 1
            let first = UInt32(fifo.pages.count - 1) * EvtchnFifo.wordsPerPage
            var words = FifoMappedWords(state: fifo)
            var relinked: UInt32 = 0
            FifoEvents.pageAdded(&words, &fifo.queues, ports: first..<(first + EvtchnFifo.wordsPerPage),
                                 vcpuOf: { port in
                                     guard let channel = table.channel(port), channel.state != .free else { return nil }
                                     relinked += 1
                                     return channel.notifyVCPU
                                 },
                                 raised: { FifoDelivery.upcall(d, vcpu: $0) })
            Log.info("d\(d.id): FIFO event channels: event-array page \(UInt32(fifo.pages.count - 1)) at frame \(hex: mfn) (expand_array); \(relinked) held events raised")
            return .ok
        case .setPriority(let port, let priority):
            if let refusal = FifoControlRules.setPriority(setup, port: port, priority: priority, portLimit: table.portLimit) { return refusal.outcome }
            guard let fifo = d.fifo, fifo.queues.setPriority(port, priority) else {
                return .refused(.EINVAL, "set_priority: the port is out of range")
            }
            return .ok
        }
    }

    /// What a writable type reference on `gfn` (the machine frame on PV) answers. The reference taken
    /// stays with a frame that passes; the caller gives it back if it refuses for another reason.
    static func takeFrame(_ gfn: UInt64, _ d: Domain) -> FifoFrameCheck {
        FifoFrameCheck.of(gfn: gfn) { mfn in
            Machine.frames.getPageAndType(mfn, .writable, state: d.memory, memory: &Machine.memory)
        }
    }

    /// The domain leaves the FIFO ABI (torn down, or EVTCHNOP_reset): windows closed, references given
    /// back, its ports on the 2-level ABI again.
    static func release(_ d: Domain, why: StaticString) {
        guard let fifo = d.fifo else { return }
        fifo.releaseFrames()
        d.fifo = nil
        // Back on the 2-level ABI's limit: ports at 1024 and above are closed (a reset closed every port already).
        _ = Events.change { $0.setABI(d.id, .twoLevel) }
        Log.info("d\(d.id): FIFO event channels released (\(why)): \(UInt32(FifoWindows.mapped)) FIFO windows still mapped in all")
    }
}
