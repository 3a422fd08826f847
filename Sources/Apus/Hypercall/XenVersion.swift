// XenVersion.swift: xen_version (17): who the hypervisor is and what it offers, in Xen's
// formats: interface version, extraversion, compile info, capabilities ("xen-3.0-x86_32p"),
// changeset, platform parameters (virt_start), feature bits, page size. Read-only; the only
// guest memory it writes is the buffer the guest passed.

import ApusCore
import PVABI

enum XenVersionHypercall {
    /// The Xen interface level Apus implements.
    static let major: UInt32 = 4
    static let minor: UInt32 = 17
    static let extraversion: StaticString = "-apus0.1"
    static let capabilities: StaticString = "xen-3.0-x86_32p"

    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        guard let op = XenVersionOp(rawValue: a.a1) else { return .refused(.ENOSYS, "unknown xen_version operation") }
        let buffer = a.a2
        switch op {
        case .version:
            return .value(Int32(bitPattern: major << 16 | minor))
        case .pagesize:
            return .value(4096)
        case .extraversion:
            return writeString(extraversion, to: buffer, size: XenVersionBuffers.extraversionSize)
        case .capabilities:
            return writeString(capabilities, to: buffer, size: XenVersionBuffers.capabilitiesSize)
        case .changeset:
            return writeString(BuildInfo.changeset, to: buffer, size: XenVersionBuffers.changesetSize)
        case .compileInfo:
            var info = [UInt8](repeating: 0, count: XenCompileInfoLayout.size)
            put(BuildInfo.compiler, into: &info, at: XenCompileInfoLayout.compilerOffset, size: XenCompileInfoLayout.compilerSize)
            put("apus", into: &info, at: XenCompileInfoLayout.compileByOffset, size: XenCompileInfoLayout.compileBySize)
            put("apus.invalid", into: &info, at: XenCompileInfoLayout.compileDomainOffset, size: XenCompileInfoLayout.compileDomainSize)
            put(BuildInfo.date, into: &info, at: XenCompileInfoLayout.compileDateOffset, size: XenCompileInfoLayout.compileDateSize)
            return GuestMemory.writeBytes(buffer, info) ? .ok : .refused(.EFAULT, "xen_version buffer is not writable guest memory")
        case .platformParameters:
            return GuestMemory.write32(buffer, XenLayout.hypervisorVirtStart) ? .ok : .refused(.EFAULT, "xen_version buffer is not writable guest memory")
        case .getFeatures:
            guard let index = GuestMemory.read32(buffer) else { return .refused(.EFAULT, "xen_feature_info is not readable") }
            let map: UInt32 = index == 0 ? features : 0
            return GuestMemory.write32(buffer + 4, map) ? .ok : .refused(.EFAULT, "xen_feature_info is not writable")
        case .guestHandle:
            return GuestMemory.writeBytes(buffer, [UInt8](repeating: 0, count: XenVersionBuffers.guestHandleSize)) ? .ok
                : .refused(.EFAULT, "xen_version buffer is not writable guest memory")
        case .commandline:
            guard d.privileged else { return .refused(.EPERM, "only dom0 may read the hypervisor command line") }
            return writeBytes(BootState.commandLine, to: buffer, size: XenVersionBuffers.commandlineSize)
        case .buildID:
            return .refused(.ENOSYS, "no build id is recorded")
        }
    }

    /// XENFEAT bits for submap 0: what a PV guest may rely on here.
    static var features: UInt32 {
        (1 << XenFeature.writablePageTables.rawValue) | (1 << XenFeature.paePgdirAbove4GB.rawValue)
    }

    private static func writeString(_ text: StaticString, to va: UInt32, size: Int) -> HypercallOutcome {
        var bytes = [UInt8](repeating: 0, count: size)
        put(text, into: &bytes, at: 0, size: size)
        return GuestMemory.writeBytes(va, bytes) ? .ok : .refused(.EFAULT, "xen_version buffer is not writable guest memory")
    }

    private static func writeBytes(_ text: [UInt8], to va: UInt32, size: Int) -> HypercallOutcome {
        var bytes = [UInt8](repeating: 0, count: size)
        for (i, b) in text.prefix(size - 1).enumerated() { bytes[i] = b }
        return GuestMemory.writeBytes(va, bytes) ? .ok : .refused(.EFAULT, "xen_version buffer is not writable guest memory")
    }

    private static func put(_ text: StaticString, into bytes: inout [UInt8], at offset: Int, size: Int) {
        text.withUTF8Buffer { t in
            for i in 0..<min(t.count, size - 1) { bytes[offset + i] = t[i] }
        }
    }
}
