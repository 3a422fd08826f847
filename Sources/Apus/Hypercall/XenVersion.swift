// XenVersion.swift: xen_version (17) acted on: who the hypervisor is and what it offers, in Xen's
// formats: interface version, extraversion, compile info, capabilities ("xen-3.0-x86_32p"), changeset,
// platform parameters (virt_start), feature bits, page size. ApusCore's XenVersionRequest decodes; the
// only guest memory this writes is the exact-size range the decoder produced from the guest's buffer.

import ApusCore
import PVABI

enum XenVersionHypercall {
    /// The Xen interface level Apus implements.
    static let major: UInt32 = 4
    static let minor: UInt32 = 17
    static let extraversion: StaticString = "-apus0.1"
    static let capabilities: StaticString = "xen-3.0-x86_32p"

    /// XENVER_version takes no argument: nothing to decode, nothing to copy, answered inline in the
    /// hypercall table; every other command goes through the decoder.
    @inline(__always)
    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        if a.a1 == XenVersionOp.version.rawValue { return .value(Int32(bitPattern: major << 16 | minor)) }
        return decodeAndRun(a, d)
    }

    @inline(never)
    static func decodeAndRun(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        let unwritable = HypercallOutcome.refused(.EFAULT, "xen_version buffer is not writable guest memory")
        switch XenVersionRequest.decode(a, &memory) {
        case .failure(let refusal): return refusal.outcome
        case .success(.version):
            return .value(Int32(bitPattern: major << 16 | minor))
        case .success(.pagesize):
            return .value(4096)
        case .success(.extraversion(let out)):
            var text = GuestBytes<16>(count: XenVersionBuffers.extraversionSize)
            text.setString(0, extraversion, size: XenVersionBuffers.extraversionSize)
            return memory.write(text, to: out) ? .ok : unwritable
        case .success(.capabilities(let out)):
            var text = GuestBytes<1024>(count: XenVersionBuffers.capabilitiesSize)
            text.setString(0, capabilities, size: XenVersionBuffers.capabilitiesSize)
            return memory.write(text, to: out) ? .ok : unwritable
        case .success(.changeset(let out)):
            var text = GuestBytes<64>(count: XenVersionBuffers.changesetSize)
            text.setString(0, BuildInfo.changeset, size: XenVersionBuffers.changesetSize)
            return memory.write(text, to: out) ? .ok : unwritable
        case .success(.compileInfo(let out)):
            var info = GuestBytes<144>(count: XenCompileInfoLayout.size)
            info.setString(XenCompileInfoLayout.compilerOffset, BuildInfo.compiler, size: XenCompileInfoLayout.compilerSize)
            info.setString(XenCompileInfoLayout.compileByOffset, "apus", size: XenCompileInfoLayout.compileBySize)
            info.setString(XenCompileInfoLayout.compileDomainOffset, "apus.invalid", size: XenCompileInfoLayout.compileDomainSize)
            info.setString(XenCompileInfoLayout.compileDateOffset, BuildInfo.date, size: XenCompileInfoLayout.compileDateSize)
            return memory.write(info, to: out) ? .ok : unwritable
        case .success(.platformParameters(let out)):
            var params = GuestBytes<4>(count: XenPlatformParametersLayout.size)
            params.set32(XenPlatformParametersLayout.virtStartOffset, XenLayout.hypervisorVirtStart)
            return memory.write(params, to: out) ? .ok : unwritable
        case .success(.getFeatures(let index, let submap)):
            return memory.write32(index == 0 ? features : 0, to: submap) ? .ok : .refused(.EFAULT, "xen_feature_info is not writable")
        case .success(.guestHandle(let out)):
            return memory.write(GuestBytes<16>(count: XenVersionBuffers.guestHandleSize), to: out) ? .ok : unwritable
        case .success(.commandline(let out)):
            guard d.privileged else { return .refused(.EPERM, "only dom0 may read the hypervisor command line") }
            var text = GuestBytes<1024>(count: XenVersionBuffers.commandlineSize)
            let line = BootState.commandLine
            var i = 0
            while i < line.count && i < XenVersionBuffers.commandlineSize - 1 { text.set8(i, line[i]); i += 1 }
            return memory.write(text, to: out) ? .ok : unwritable
        }
    }

    /// XENFEAT bits for submap 0: what a PV guest may rely on here.
    static var features: UInt32 {
        (1 << XenFeature.writablePageTables.rawValue) | (1 << XenFeature.paePgdirAbove4GB.rawValue)
    }
}
