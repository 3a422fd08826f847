// IretDecode.swift: iret (23) decoded: the frame the guest left on its stack, [eax, eip, cs, eflags]
// and, returning to ring 3, [esp, ss], read as one checked range and turned into the registers it
// returns with. A frame it cannot read or accept is a refusal that crashes the guest; it never acts.

import PVABI

public struct IretRequest: Equatable, Sendable {
    public let eax: UInt32
    public let eip: UInt32
    public let cs: UInt32
    public let eflags: UInt32
    public let esp: UInt32
    public let ss: UInt32
    /// The upcall mask the guest returns with: events masked unless EFLAGS.IF was set.
    public let upcallMask: UInt8

    static let frameSize: UInt32 = 16
    static let ring3FrameSize: UInt32 = 24
    /// EFLAGS bits a guest may not return with: IOPL (12-13), NT (14), VM (17).
    public static let forbiddenFlags: UInt32 = 0x0002_7000

    /// `esp` and `ss` are the guest's at the hypercall (the frame is on that stack).
    @inline(__always)      // into the hypercall table: its result then never goes through memory
    public static func decode<M: GuestMemoryAccess>(esp: UInt32, ss: UInt32, _ memory: inout M) -> Decoded<IretRequest> {
        guard let inner = GuestRange(esp, count: frameSize), let frame: InlineArray<4, UInt32> = memory.readWords(inner) else {
            return .failure(Refusal(.EFAULT, "iret frame on the guest stack is not readable"))
        }
        let cs = frame[2]
        let eflags = frame[3]
        let ring = cs & 3 == 0 ? 1 : cs & 3
        var newESP = inner.end
        var newSS = ss
        if ring == 3 {
            // [esp, ss] above the inner frame, within one checked 24-byte range.
            guard let outerRange = GuestRange(esp, count: ring3FrameSize)?.slice(at: frameSize, count: 8),
                  let outer: InlineArray<2, UInt32> = memory.readWords(outerRange) else {
                return .failure(Refusal(.EFAULT, "iret frame to ring 3 is not readable"))
            }
            newESP = outer[0]
            newSS = outer[1] | 3
        }
        let eip = frame[1]
        guard eip < XenLayout.hypervisorVirtStart else { return .failure(Refusal(.EINVAL, "iret to an address in the hypervisor area")) }
        // IOPL stays 0, no virtual-8086 or nested task; the real IF stays on for the hypervisor.
        return .success(IretRequest(eax: frame[0], eip: eip, cs: (cs & 0xFFFC) | ring,
                                    eflags: (eflags & ~forbiddenFlags) | 0x200 | 0x2,
                                    esp: newESP, ss: newSS, upcallMask: eflags & 0x200 != 0 ? 0 : 1))
    }
}
