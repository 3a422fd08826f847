// GrantCopy.swift: GNTTABOP_copy between a page of dom0's own and pages other domains granted it, as
// Xen's backends move data: one hypercall for a request's segments, each element's status returned.
// It must never copy outside what the grant and the page allow: the hypervisor checks each element,
// and a failed element is reported, never retried or assumed done.

import ApusCore
import GuestKit
import PVABI

/// One element: `length` bytes between dom0's frame `ownFrame` at `ownOffset` and `domain`'s grant
/// `ref` at `grantOffset`, toward the grant (`intoGrant`) or out of it.
struct GrantCopySpan {
    var domain: UInt16
    var ref: UInt32
    var grantOffset: UInt16
    var ownFrame: UInt32
    var ownOffset: UInt16
    var length: UInt16
    var intoGrant: Bool
}

enum GrantCopy {
    /// Runs `spans` in one GNTTABOP_copy: nil when every element succeeded, else the first failed
    /// element's index and GNTST_ status (a hypercall refused as a whole reports its rc as the status).
    static func run(_ spans: [GrantCopySpan]) -> (index: Int, status: Int16)? {
        guard !spans.isEmpty else { return nil }
        var op = HypercallRecord(stride: GrantCopyLayout.size, count: spans.count)
        for (i, s) in spans.enumerated() {
            let (sourceRef, sourceDomain, sourceOffset) = s.intoGrant ? (s.ownFrame, SpecialDomainID.selfID, s.ownOffset) : (s.ref, s.domain, s.grantOffset)
            let (destRef, destDomain, destOffset) = s.intoGrant ? (s.ref, s.domain, s.grantOffset) : (s.ownFrame, SpecialDomainID.selfID, s.ownOffset)
            op.set(sourceRef, at: GrantCopyLayout.sourceRefOffset, element: i)
            op.set(sourceDomain, at: GrantCopyLayout.sourceDomidOffset, element: i)
            op.set(sourceOffset, at: GrantCopyLayout.sourceOffsetOffset, element: i)
            op.set(destRef, at: GrantCopyLayout.destRefOffset, element: i)
            op.set(destDomain, at: GrantCopyLayout.destDomidOffset, element: i)
            op.set(destOffset, at: GrantCopyLayout.destOffsetOffset, element: i)
            op.set(s.length, at: GrantCopyLayout.lenOffset, element: i)
            op.set(s.intoGrant ? GrantCopyFlags.destGref : GrantCopyFlags.sourceGref, at: GrantCopyLayout.flagsOffset, element: i)
            op.set(UInt16(bitPattern: GrantStatus.generalError.rawValue), at: GrantCopyLayout.statusOffset, element: i)
        }
        let rc = op.withAddress { xen.grantTableOp(.copy, $0, count: UInt32(spans.count)) }
        if rc != 0 { return (0, Int16(truncatingIfNeeded: rc)) }
        for i in 0..<spans.count {
            let status = Int16(bitPattern: op.get(UInt16.self, at: GrantCopyLayout.statusOffset, element: i))
            if status != GrantStatus.okay.rawValue { return (i, status) }
        }
        return nil
    }
}
