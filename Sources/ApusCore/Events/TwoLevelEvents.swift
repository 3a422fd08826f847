// Delivery of events through the 2-level ABI in shared_info: the pending and mask bitmaps, each VCPU's pending selector and upcall flags.
// Bit arithmetic over a SharedInfoBits seam only: it must never decide who may signal whom (EventChannelSystem does) and never enter the guest.
//
// The order of the bit operations is Xen's, and it is what lets a guest scan without losing an
// event: pending bit first; then, only for an unmasked port, the selector bit of its word;
// then, only when that selector bit was clear, upcall_pending. A guest clears in the opposite
// order (upcall_pending, then selector words, then pending bits) before it handles them.

import PVABI

/// Bit access to one domain's shared_info page, by byte offset of a 32-bit word. The hypervisor
/// implements it over its mapping of the page; tests over an array.
///
/// The guest writes the same words. On one CPU the guest is not running while the hypervisor
/// is, so a plain read-modify-write is atomic with respect to it; an SMP implementation must use
/// locked bit instructions.
public protocol SharedInfoBits {
    /// Whether bit `bit` (0-31) of the little-endian u32 at byte `offset` is set.
    func testBit(_ bit: Int, ofWordAt offset: Int) -> Bool
    /// Sets the bit; returns whether it was already set.
    mutating func testAndSetBit(_ bit: Int, ofWordAt offset: Int) -> Bool
    /// Clears the bit; returns whether it was set.
    mutating func testAndClearBit(_ bit: Int, ofWordAt offset: Int) -> Bool
    /// The byte at `offset`.
    func byte(at offset: Int) -> UInt8
}

/// SharedInfoBits over a mapped shared_info page. When the guest moved a vCPU's vcpu_info into a
/// page of its own (VCPUOP_register_vcpu_info), entry `vcpu` of `moved` maps it, and the words of
/// that vcpu_info are read and written there instead of in shared_info (which the guest no longer
/// looks at for it). `moved` has `movedCount` entries, nil for a vcpu_info still in shared_info.
public struct SharedInfoPage: SharedInfoBits {
    public let base: UnsafeMutableRawPointer
    public let moved: UnsafePointer<UnsafeMutableRawPointer?>?
    public let movedCount: Int

    /// `base` must map at least SharedInfo.size bytes, 4-byte aligned; each entry of `moved`, if any,
    /// VcpuInfo.size bytes.
    public init(_ base: UnsafeMutableRawPointer, moved: UnsafePointer<UnsafeMutableRawPointer?>? = nil, count: Int = 0) {
        self.base = base
        self.moved = moved
        self.movedCount = moved == nil ? 0 : count
    }

    /// Where the byte at `offset` of shared_info really lives.
    func location(_ offset: Int) -> (UnsafeMutableRawPointer, Int) {
        let first = SharedInfo.vcpuInfoOffset(vcpu: 0)
        if let moved, offset >= first, offset < first + movedCount * VcpuInfo.size {
            let vcpu = (offset - first) / VcpuInfo.size
            if let info = moved[vcpu] { return (info, offset - first - vcpu * VcpuInfo.size) }
        }
        return (base, offset)
    }

    public func testBit(_ bit: Int, ofWordAt offset: Int) -> Bool {
        let (page, at) = location(offset)
        return page.load(fromByteOffset: at, as: UInt32.self) & (1 << UInt32(bit)) != 0
    }

    public mutating func testAndSetBit(_ bit: Int, ofWordAt offset: Int) -> Bool {
        let (page, at) = location(offset)
        let word = page.load(fromByteOffset: at, as: UInt32.self)
        let mask: UInt32 = 1 << UInt32(bit)
        page.storeBytes(of: word | mask, toByteOffset: at, as: UInt32.self)
        return word & mask != 0
    }

    public mutating func testAndClearBit(_ bit: Int, ofWordAt offset: Int) -> Bool {
        let (page, at) = location(offset)
        let word = page.load(fromByteOffset: at, as: UInt32.self)
        let mask: UInt32 = 1 << UInt32(bit)
        page.storeBytes(of: word & ~mask, toByteOffset: at, as: UInt32.self)
        return word & mask != 0
    }

    public func byte(at offset: Int) -> UInt8 {
        let (page, at) = location(offset)
        return page.load(fromByteOffset: at, as: UInt8.self)
    }
}

/// The 2-level delivery rules. `port` must be below 1024 and `vcpu` below 32 (the VCPUs whose
/// vcpu_info lives in shared_info); both are checked.
public enum TwoLevelEvents {
    static let wordBits = UInt32(SharedInfoLimits.bitsPerEventWord)

    /// The port's pending and mask bits as the page holds them now (for the `e` debug key).
    public static func bits<S: SharedInfoBits>(_ page: S, port: UInt32) -> (pending: Bool, masked: Bool) {
        guard port < UInt32(SharedInfoLimits.twoLevelEventChannels) else { return (false, false) }
        return (page.testBit(bit(port), ofWordAt: pendingWord(port)), page.testBit(bit(port), ofWordAt: maskWord(port)))
    }

    static func check(_ port: UInt32, _ vcpu: UInt32) {
        precondition(port < UInt32(SharedInfoLimits.twoLevelEventChannels), "event port beyond the 2-level ABI")
        precondition(vcpu < UInt32(SharedInfoLimits.legacyMaxVCPUs), "VCPU without a shared_info vcpu_info")
    }

    /// Byte offset of the evtchn_pending word holding `port`.
    static func pendingWord(_ port: UInt32) -> Int { SharedInfo.evtchnPendingOffset + Int(port / wordBits) * 4 }
    /// Byte offset of the evtchn_mask word holding `port`.
    static func maskWord(_ port: UInt32) -> Int { SharedInfo.evtchnMaskOffset + Int(port / wordBits) * 4 }
    static func bit(_ port: UInt32) -> Int { Int(port % wordBits) }
    static func selectorWord(_ vcpu: UInt32) -> Int { SharedInfo.vcpuInfoOffset(vcpu: Int(vcpu)) + VcpuInfo.evtchnPendingSelOffset }
    /// evtchn_upcall_pending is the low byte of the vcpu_info's first word; Xen sets its bit 0.
    static func upcallWord(_ vcpu: UInt32) -> Int { SharedInfo.vcpuInfoOffset(vcpu: Int(vcpu)) + VcpuInfo.evtchnUpcallPendingOffset }

    /// Marks `port` pending for `vcpu`. Returns true when the VCPU must be kicked: its
    /// upcall_pending went from 0 to 1 (wake it if blocked; deliver the upcall when it next
    /// runs with events unmasked). A port already pending, a masked port, or a word whose
    /// selector bit was already set need nothing more: the guest will find the bit.
    @discardableResult
    public static func markPending<S: SharedInfoBits>(_ page: inout S, port: UInt32, vcpu: UInt32) -> Bool {
        check(port, vcpu)
        if page.testAndSetBit(bit(port), ofWordAt: pendingWord(port)) { return false }
        return raiseSelector(&page, port: port, vcpu: vcpu)
    }

    /// markPending in two halves, for a hot caller that reaches the pending bitmap before it builds the
    /// whole page view: sets `port`'s pending bit and returns true when it was clear, so that
    /// `raisePending` is due. The pending bitmap never lives in a moved vcpu_info, so a page without
    /// one (SharedInfoPage(base)) reaches the same bit.
    @inline(__always)
    public static func setPending<S: SharedInfoBits>(_ page: inout S, port: UInt32) -> Bool {
        check(port, 0)
        return !page.testAndSetBit(bit(port), ofWordAt: pendingWord(port))
    }

    /// markPending's second half, for a port whose pending bit setPending has just set: true when the
    /// VCPU must be kicked. setPending followed by this is markPending.
    @inline(__always)
    public static func raisePending<S: SharedInfoBits>(_ page: inout S, port: UInt32, vcpu: UInt32) -> Bool {
        check(port, vcpu)
        return raiseSelector(&page, port: port, vcpu: vcpu)
    }

    /// Clears `port`'s mask bit and, if it was masked and is pending, raises it for `vcpu` as
    /// markPending would. Returns true when the VCPU must be kicked.
    @discardableResult
    public static func unmask<S: SharedInfoBits>(_ page: inout S, port: UInt32, vcpu: UInt32) -> Bool {
        check(port, vcpu)
        guard page.testAndClearBit(bit(port), ofWordAt: maskWord(port)) else { return false }
        guard page.testBit(bit(port), ofWordAt: pendingWord(port)) else { return false }
        return raiseSelector(&page, port: port, vcpu: vcpu)
    }

    /// Sets `port`'s mask bit (the guest normally does this itself).
    public static func mask<S: SharedInfoBits>(_ page: inout S, port: UInt32) {
        check(port, 0)
        _ = page.testAndSetBit(bit(port), ofWordAt: maskWord(port))
    }

    /// Clears `port`'s pending bit: done when a port is closed, so that its next user does not
    /// inherit a stale event.
    public static func clearPending<S: SharedInfoBits>(_ page: inout S, port: UInt32) {
        check(port, 0)
        _ = page.testAndClearBit(bit(port), ofWordAt: pendingWord(port))
    }

    public static func isPending<S: SharedInfoBits>(_ page: S, port: UInt32) -> Bool {
        check(port, 0)
        return page.testBit(bit(port), ofWordAt: pendingWord(port))
    }

    public static func isMasked<S: SharedInfoBits>(_ page: S, port: UInt32) -> Bool {
        check(port, 0)
        return page.testBit(bit(port), ofWordAt: maskWord(port))
    }

    /// Whether `vcpu`'s selector has the bit of `port`'s word.
    public static func isSelected<S: SharedInfoBits>(_ page: S, port: UInt32, vcpu: UInt32) -> Bool {
        check(port, vcpu)
        return page.testBit(Int(port / wordBits), ofWordAt: selectorWord(vcpu))
    }

    /// vcpu_info.evtchn_upcall_pending is non-zero.
    public static func upcallPending<S: SharedInfoBits>(_ page: S, vcpu: UInt32) -> Bool {
        check(0, vcpu)
        return page.byte(at: upcallWord(vcpu)) != 0
    }

    /// Whether an upcall should be delivered to `vcpu` now (Xen's local_events_need_delivery):
    /// upcall_pending set and evtchn_upcall_mask clear. Also what SCHEDOP_block checks.
    public static func needsDelivery<S: SharedInfoBits>(_ page: S, vcpu: UInt32) -> Bool {
        check(0, vcpu)
        let info = SharedInfo.vcpuInfoOffset(vcpu: Int(vcpu))
        return page.byte(at: info + VcpuInfo.evtchnUpcallPendingOffset) != 0
            && page.byte(at: info + VcpuInfo.evtchnUpcallMaskOffset) == 0
    }

    /// For a pending port: unless masked, sets its word's selector bit for `vcpu` and, when that
    /// bit was newly set, upcall_pending. True when upcall_pending was newly set.
    static func raiseSelector<S: SharedInfoBits>(_ page: inout S, port: UInt32, vcpu: UInt32) -> Bool {
        if page.testBit(bit(port), ofWordAt: maskWord(port)) { return false }
        if page.testAndSetBit(Int(port / wordBits), ofWordAt: selectorWord(vcpu)) { return false }
        return !page.testAndSetBit(0, ofWordAt: upcallWord(vcpu))
    }
}
