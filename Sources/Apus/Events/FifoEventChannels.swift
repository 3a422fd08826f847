// FifoEventChannels.swift: one domain's FIFO event-channel state once it has switched ABI (Domain.fifo):
// the setup the rules check (FifoSetup), the hypervisor's half of its queues (FifoQueues), each VCPU's
// control block and the event-array pages, each a guest frame held by a writable type reference and
// mapped in a lasting FifoWindows window. Delivery (`raise`, `unmask`) runs ApusCore's FifoEvents over
// those windows. It must never keep a window or a frame reference past `release`, and never trust a word
// the guest wrote: FifoEvents reads each word once and follows no link the guest wrote.

import ApusCore
import PVABI

/// One VCPU's control block: the window onto it (window + offset) and the guest frame behind it. A
/// struct of its own so that a domain with several VCPUs keeps an array of them, indexed by VCPU id.
struct FifoVcpuControl {
    var block: UnsafeMutableRawPointer? = nil
    var frame: UInt32 = 0
}

/// One event-array page: EvtchnFifo.wordsPerPage event words.
struct FifoArrayPage {
    let words: UnsafeMutableRawPointer
    let frame: UInt32
}

final class FifoEventChannels {
    var setup = FifoSetup()
    var queues: FifoQueues
    /// controls[vcpu]: one per VCPU of the domain.
    var controls: [FifoVcpuControl]
    /// pages[i] holds the words of ports i * 1024 ..< (i + 1) * 1024.
    var pages: [FifoArrayPage] = []

    init(vcpus: UInt32, portLimit: UInt32) {
        setup.abi = .fifo
        queues = FifoQueues(vcpus: vcpus, portLimit: portLimit)
        controls = Array(repeating: FifoVcpuControl(), count: Int(vcpus))
    }

    /// Unmaps every window and gives back every frame reference.
    func releaseFrames() {
        for i in controls.indices {
            guard let block = controls[i].block else { continue }
            FifoWindows.unmap(block)
            Machine.frames.putPageAndType(controls[i].frame, memory: &Machine.memory)
            controls[i] = FifoVcpuControl()
        }
        for page in pages {
            FifoWindows.unmap(page.words)
            Machine.frames.putPageAndType(page.frame, memory: &Machine.memory)
        }
        pages = []
        setup.controlBlocks = 0
        setup.arrayPages = 0
    }
}

/// FifoEventWords over the domain's windows.
struct FifoMappedWords: FifoEventWords {
    let state: FifoEventChannels

    func hasWord(_ port: UInt32) -> Bool { Int(port / EvtchnFifo.wordsPerPage) < state.pages.count }
    func hasControlBlock(vcpu: UInt32) -> Bool { Int(vcpu) < state.controls.count && state.controls[Int(vcpu)].block != nil }

    func word(_ port: UInt32) -> UInt32 {
        state.pages[Int(port / EvtchnFifo.wordsPerPage)].words.load(fromByteOffset: Int(port % EvtchnFifo.wordsPerPage) * 4, as: UInt32.self)
    }
    mutating func setWord(_ port: UInt32, _ value: UInt32) {
        state.pages[Int(port / EvtchnFifo.wordsPerPage)].words.storeBytes(of: value, toByteOffset: Int(port % EvtchnFifo.wordsPerPage) * 4, as: UInt32.self)
    }
    func control(vcpu: UInt32, at offset: Int) -> UInt32 {
        state.controls[Int(vcpu)].block!.load(fromByteOffset: offset, as: UInt32.self)
    }
    mutating func setControl(vcpu: UInt32, at offset: Int, _ value: UInt32) {
        state.controls[Int(vcpu)].block!.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
    }
}

enum FifoDelivery {
    /// `port` pending for `vcpu` in FIFO domain `d`: linked on its queue, and an upcall raised when its
    /// queue's READY bit went up. A port or VCPU beyond the queues is ignored (the tables never give one).
    @inline(never)
    static func raise(_ d: Domain, _ fifo: FifoEventChannels, port: UInt32, vcpu: UInt32) {
        guard port != 0, port < fifo.queues.portLimit, vcpu < fifo.queues.vcpus else { return }
        var words = FifoMappedWords(state: fifo)
        if FifoEvents.setPending(&words, &fifo.queues, port: port, vcpu: vcpu) == .raiseUpcall { upcall(d, vcpu: vcpu) }
    }

    /// EVTCHNOP_unmask on a FIFO domain: a pending word is linked again.
    static func unmask(_ d: Domain, _ fifo: FifoEventChannels, port: UInt32, vcpu: UInt32) {
        guard vcpu < fifo.queues.vcpus else { return }
        var words = FifoMappedWords(state: fifo)
        if FifoEvents.unmask(&words, &fifo.queues, port: port, vcpu: vcpu) == .raiseUpcall { upcall(d, vcpu: vcpu) }
    }

    /// A port closed: its PENDING bit goes and its priority is the default again.
    static func closed(_ fifo: FifoEventChannels, port: UInt32) {
        var words = FifoMappedWords(state: fifo)
        FifoEvents.clearPending(&words, port: port)
        fifo.queues.resetPort(port)
    }

    /// Whether `port`'s word is pending (SCHEDOP_poll).
    static func isPending(_ fifo: FifoEventChannels, port: UInt32) -> Bool {
        let words = FifoMappedWords(state: fifo)
        guard let bits = FifoEvents.bits(words, port: port) else { return false }
        return bits.pending
    }

    /// Xen's vcpu_mark_events_pending: evtchn_upcall_pending in the VCPU's vcpu_info, and a wake.
    static func upcall(_ d: Domain, vcpu: UInt32) {
        guard Int(vcpu) < d.vcpus.count else { return }
        d.vcpus[Int(vcpu)].info.storeBytes(of: 1, toByteOffset: VcpuInfo.evtchnUpcallPendingOffset, as: UInt8.self)
        Events.wake(d, vcpu: vcpu)
    }
}
