// Pins the x86_32 guest-ABI numbers and byte offsets of shared_info, trap_info, callbacks, sched_op, vcpu_op, xen_version and the small ops.
// Every expected value is a literal read from Xen's public headers (and checked once with `gcc -m32` offsetof), never derived from the code under test.

import XCTest
import PVABI

final class PVABILayoutTests: XCTestCase {
    func testVcpuTimeInfo() {
        XCTAssertEqual(VcpuTimeInfo.versionOffset, 0)
        XCTAssertEqual(VcpuTimeInfo.pad0Offset, 4)
        XCTAssertEqual(VcpuTimeInfo.tscTimestampOffset, 8)
        XCTAssertEqual(VcpuTimeInfo.systemTimeOffset, 16)
        XCTAssertEqual(VcpuTimeInfo.tscToSystemMulOffset, 24)
        XCTAssertEqual(VcpuTimeInfo.tscShiftOffset, 28)
        XCTAssertEqual(VcpuTimeInfo.flagsOffset, 29)
        XCTAssertEqual(VcpuTimeInfo.pad1Offset, 30)
        XCTAssertEqual(VcpuTimeInfo.size, 32)
        XCTAssertEqual(VcpuTimeInfo.flagTSCStable, 1)
        XCTAssertEqual(VcpuTimeInfo.flagGuestStopped, 2)
    }

    func testVcpuInfo() {
        XCTAssertEqual(VcpuInfo.evtchnUpcallPendingOffset, 0)
        XCTAssertEqual(VcpuInfo.evtchnUpcallMaskOffset, 1)
        XCTAssertEqual(VcpuInfo.evtchnPendingSelOffset, 4)
        XCTAssertEqual(VcpuInfo.archOffset, 8)
        XCTAssertEqual(VcpuInfo.cr2Offset, 8)
        // arch_vcpu_info is cr2 + pad[5] = 24 bytes, so time follows at 32, not 16.
        XCTAssertEqual(VcpuInfo.timeOffset, 32)
        XCTAssertEqual(VcpuInfo.size, 64)
        XCTAssertEqual(ArchVcpuInfo.cr2Offset, 0)
        XCTAssertEqual(ArchVcpuInfo.padOffset, 4)
        XCTAssertEqual(ArchVcpuInfo.size, 24)
        XCTAssertEqual(VcpuInfo.timeOffset + VcpuTimeInfo.size, VcpuInfo.size)
    }

    func testSharedInfo() {
        XCTAssertEqual(SharedInfoLimits.legacyMaxVCPUs, 32)
        XCTAssertEqual(SharedInfoLimits.bitsPerEventWord, 32)
        XCTAssertEqual(SharedInfoLimits.twoLevelEventChannels, 1024)
        XCTAssertEqual(SharedInfo.vcpuInfoOffset, 0)
        XCTAssertEqual(SharedInfo.vcpuInfoOffset(vcpu: 0), 0)
        XCTAssertEqual(SharedInfo.vcpuInfoOffset(vcpu: 1), 64)
        XCTAssertEqual(SharedInfo.vcpuInfoOffset(vcpu: 31), 1984)
        XCTAssertEqual(SharedInfo.evtchnPendingOffset, 2048)
        XCTAssertEqual(SharedInfo.evtchnMaskOffset, 2176)
        XCTAssertEqual(SharedInfo.wcVersionOffset, 2304)
        XCTAssertEqual(SharedInfo.wcSecOffset, 2308)
        XCTAssertEqual(SharedInfo.wcNsecOffset, 2312)
        XCTAssertEqual(SharedInfo.archOffset, 2316)
        XCTAssertEqual(SharedInfo.maxPFNOffset, 2316)
        XCTAssertEqual(SharedInfo.wcSecHiOffset, 2340)
        XCTAssertEqual(SharedInfo.size, 2344)
        XCTAssertLessThanOrEqual(SharedInfo.size, 4096)

        XCTAssertEqual(ArchSharedInfo.maxPFNOffset, 0)
        XCTAssertEqual(ArchSharedInfo.pfnToMFNFrameListListOffset, 4)
        XCTAssertEqual(ArchSharedInfo.nmiReasonOffset, 8)
        XCTAssertEqual(ArchSharedInfo.p2mCR3Offset, 12)
        XCTAssertEqual(ArchSharedInfo.p2mVaddrOffset, 16)
        XCTAssertEqual(ArchSharedInfo.p2mGenerationOffset, 20)
        XCTAssertEqual(ArchSharedInfo.wcSecHiOffset, 24)
        XCTAssertEqual(ArchSharedInfo.size, 28)
    }

    func testTrapInfo() {
        XCTAssertEqual(TrapInfoLayout.vectorOffset, 0)
        XCTAssertEqual(TrapInfoLayout.flagsOffset, 1)
        XCTAssertEqual(TrapInfoLayout.csOffset, 2)
        XCTAssertEqual(TrapInfoLayout.addressOffset, 4)
        XCTAssertEqual(TrapInfoLayout.size, 8)
        XCTAssertEqual(TrapInfoLayout.dplMask, 3)
        XCTAssertEqual(TrapInfoLayout.maskEventsFlag, 4)

        // Bytes 80 07 19 e0 | 00 10 10 c0: vector 0x80, DPL 3 with events masked, cs 0xe019, handler 0xc0101000.
        let ti = TrapInfo(low: 0xe019_0780, high: 0xc010_1000)
        XCTAssertEqual(ti, TrapInfo(vector: 0x80, flags: 7, cs: 0xe019, address: 0xc010_1000))
        XCTAssertEqual(ti.dpl, 3)
        XCTAssertTrue(ti.masksEvents)
        XCTAssertTrue(ti.hasHandler)
        let plain = TrapInfo(vector: 14, flags: 0, cs: 0xe019, address: 0xc010_2000)
        XCTAssertEqual(plain.dpl, 0)
        XCTAssertFalse(plain.masksEvents)
        XCTAssertFalse(TrapInfo.empty(vector: 3).hasHandler)
    }

    func testCallbacks() {
        XCTAssertEqual(CallbackType.event.rawValue, 0)
        XCTAssertEqual(CallbackType.failsafe.rawValue, 1)
        XCTAssertEqual(CallbackType.syscall.rawValue, 2)
        XCTAssertEqual(CallbackType.sysenterDeprecated.rawValue, 3)
        XCTAssertEqual(CallbackType.nmi.rawValue, 4)
        XCTAssertEqual(CallbackType.sysenter.rawValue, 5)
        XCTAssertEqual(CallbackType.syscall32.rawValue, 7)
        XCTAssertNil(CallbackType(rawValue: 6))
        XCTAssertEqual("\(CallbackType.syscall32.name)", "syscall32")
        XCTAssertEqual(CallbackOp.register.rawValue, 0)
        XCTAssertEqual(CallbackOp.unregister.rawValue, 1)
        XCTAssertEqual(XenCallbackLayout.csOffset, 0)
        XCTAssertEqual(XenCallbackLayout.eipOffset, 4)
        XCTAssertEqual(XenCallbackLayout.size, 8)
        XCTAssertEqual(CallbackRegisterLayout.typeOffset, 0)
        XCTAssertEqual(CallbackRegisterLayout.flagsOffset, 2)
        XCTAssertEqual(CallbackRegisterLayout.addressOffset, 4)
        XCTAssertEqual(CallbackRegisterLayout.csOffset, 4)
        XCTAssertEqual(CallbackRegisterLayout.eipOffset, 8)
        XCTAssertEqual(CallbackRegisterLayout.size, 12)
        XCTAssertEqual(CallbackRegisterLayout.maskEventsFlag, 1)
        XCTAssertEqual(CallbackUnregisterLayout.typeOffset, 0)
        XCTAssertEqual(CallbackUnregisterLayout.unusedOffset, 2)
        XCTAssertEqual(CallbackUnregisterLayout.size, 4)
        XCTAssertEqual(VcpuGuestContextFlags.i387Valid, 1)
        XCTAssertEqual(VcpuGuestContextFlags.inKernel, 4)
        XCTAssertEqual(VcpuGuestContextFlags.failsafeDisablesEvents, 8)
        XCTAssertEqual(VcpuGuestContextFlags.syscallDisablesEvents, 16)
        XCTAssertEqual(VcpuGuestContextFlags.online, 32)
    }

    func testSchedOp() {
        let ops: [(SchedOp, UInt32, String)] = [
            (.yield, 0, "yield"), (.block, 1, "block"), (.shutdown, 2, "shutdown"), (.poll, 3, "poll"),
            (.remoteShutdown, 4, "remote_shutdown"), (.shutdownCode, 5, "shutdown_code"),
            (.watchdog, 6, "watchdog"), (.pinOverride, 7, "pin_override"),
        ]
        for (op, value, name) in ops {
            XCTAssertEqual(op.rawValue, value)
            XCTAssertEqual("\(op.name)", name)
        }
        let reasons: [(ShutdownReason, UInt32, String)] = [
            (.poweroff, 0, "poweroff"), (.reboot, 1, "reboot"), (.suspend, 2, "suspend"),
            (.crash, 3, "crash"), (.watchdog, 4, "watchdog"), (.softReset, 5, "soft_reset"),
        ]
        for (reason, value, name) in reasons {
            XCTAssertEqual(reason.rawValue, value)
            XCTAssertEqual("\(reason.name)", name)
        }
        XCTAssertNil(ShutdownReason(rawValue: 6))
        XCTAssertEqual(SchedShutdownLayout.reasonOffset, 0)
        XCTAssertEqual(SchedShutdownLayout.size, 4)
        XCTAssertEqual(SchedPollLayout.portsOffset, 0)
        XCTAssertEqual(SchedPollLayout.nrPortsOffset, 4)
        XCTAssertEqual(SchedPollLayout.timeoutOffset, 8)
        XCTAssertEqual(SchedPollLayout.size, 16)
        XCTAssertEqual(SchedRemoteShutdownLayout.domainIDOffset, 0)
        XCTAssertEqual(SchedRemoteShutdownLayout.reasonOffset, 4)
        XCTAssertEqual(SchedRemoteShutdownLayout.size, 8)
        XCTAssertEqual(SchedWatchdogLayout.idOffset, 0)
        XCTAssertEqual(SchedWatchdogLayout.timeoutOffset, 4)
        XCTAssertEqual(SchedWatchdogLayout.size, 8)
    }

    func testVcpuOp() {
        let ops: [(VcpuOp, UInt32, String)] = [
            (.initialise, 0, "initialise"), (.up, 1, "up"), (.down, 2, "down"), (.isUp, 3, "is_up"),
            (.getRunstateInfo, 4, "get_runstate_info"),
            (.registerRunstateMemoryArea, 5, "register_runstate_memory_area"),
            (.setPeriodicTimer, 6, "set_periodic_timer"), (.stopPeriodicTimer, 7, "stop_periodic_timer"),
            (.setSingleshotTimer, 8, "set_singleshot_timer"), (.stopSingleshotTimer, 9, "stop_singleshot_timer"),
            (.registerVcpuInfo, 10, "register_vcpu_info"), (.sendNMI, 11, "send_nmi"),
            (.getPhysid, 12, "get_physid"), (.registerVcpuTimeMemoryArea, 13, "register_vcpu_time_memory_area"),
        ]
        for (op, value, name) in ops {
            XCTAssertEqual(op.rawValue, value)
            XCTAssertEqual("\(op.name)", name)
        }
        XCTAssertEqual(Runstate.running.rawValue, 0)
        XCTAssertEqual(Runstate.runnable.rawValue, 1)
        XCTAssertEqual(Runstate.blocked.rawValue, 2)
        XCTAssertEqual(Runstate.offline.rawValue, 3)
        // i386 aligns a uint64_t member to 4: state_entry_time follows state directly.
        XCTAssertEqual(VcpuRunstateInfoLayout.stateOffset, 0)
        XCTAssertEqual(VcpuRunstateInfoLayout.stateEntryTimeOffset, 4)
        XCTAssertEqual(VcpuRunstateInfoLayout.timeOffset, 12)
        XCTAssertEqual(VcpuRunstateInfoLayout.timeOffset(.running), 12)
        XCTAssertEqual(VcpuRunstateInfoLayout.timeOffset(.offline), 36)
        XCTAssertEqual(VcpuRunstateInfoLayout.size, 44)
        XCTAssertEqual(VcpuRegisterRunstateMemoryAreaLayout.addrOffset, 0)
        XCTAssertEqual(VcpuRegisterRunstateMemoryAreaLayout.size, 8)
        XCTAssertEqual(VcpuSetPeriodicTimerLayout.periodNsOffset, 0)
        XCTAssertEqual(VcpuSetPeriodicTimerLayout.size, 8)
        XCTAssertEqual(VcpuSetSingleshotTimerLayout.timeoutAbsNsOffset, 0)
        XCTAssertEqual(VcpuSetSingleshotTimerLayout.flagsOffset, 8)
        XCTAssertEqual(VcpuSetSingleshotTimerLayout.size, 12)
        XCTAssertEqual(VcpuSetSingleshotTimerLayout.futureFlag, 1)
        XCTAssertEqual(VcpuRegisterVcpuInfoLayout.mfnOffset, 0)
        XCTAssertEqual(VcpuRegisterVcpuInfoLayout.offsetOffset, 8)
        XCTAssertEqual(VcpuRegisterVcpuInfoLayout.rsvdOffset, 12)
        XCTAssertEqual(VcpuRegisterVcpuInfoLayout.size, 16)
        XCTAssertEqual(VcpuGetPhysidLayout.physIDOffset, 0)
        XCTAssertEqual(VcpuGetPhysidLayout.size, 8)
        XCTAssertEqual(VcpuRegisterTimeMemoryAreaLayout.addrOffset, 0)
        XCTAssertEqual(VcpuRegisterTimeMemoryAreaLayout.size, 8)
    }

    func testXenVersion() {
        let ops: [(XenVersionOp, UInt32, String)] = [
            (.version, 0, "version"), (.extraversion, 1, "extraversion"), (.compileInfo, 2, "compile_info"),
            (.capabilities, 3, "capabilities"), (.changeset, 4, "changeset"),
            (.platformParameters, 5, "platform_parameters"), (.getFeatures, 6, "get_features"),
            (.pagesize, 7, "pagesize"), (.guestHandle, 8, "guest_handle"), (.commandline, 9, "commandline"),
            (.buildID, 10, "build_id"),
        ]
        for (op, value, name) in ops {
            XCTAssertEqual(op.rawValue, value)
            XCTAssertEqual("\(op.name)", name)
        }
        XCTAssertEqual(XenVersionBuffers.extraversionSize, 16)
        XCTAssertEqual(XenVersionBuffers.capabilitiesSize, 1024)
        XCTAssertEqual(XenVersionBuffers.changesetSize, 64)
        XCTAssertEqual(XenVersionBuffers.guestHandleSize, 16)
        XCTAssertEqual(XenVersionBuffers.commandlineSize, 1024)
        XCTAssertEqual(XenCompileInfoLayout.compilerOffset, 0)
        XCTAssertEqual(XenCompileInfoLayout.compilerSize, 64)
        XCTAssertEqual(XenCompileInfoLayout.compileByOffset, 64)
        XCTAssertEqual(XenCompileInfoLayout.compileBySize, 16)
        XCTAssertEqual(XenCompileInfoLayout.compileDomainOffset, 80)
        XCTAssertEqual(XenCompileInfoLayout.compileDomainSize, 32)
        XCTAssertEqual(XenCompileInfoLayout.compileDateOffset, 112)
        XCTAssertEqual(XenCompileInfoLayout.compileDateSize, 32)
        XCTAssertEqual(XenCompileInfoLayout.size, 144)
        XCTAssertEqual(XenPlatformParametersLayout.virtStartOffset, 0)
        XCTAssertEqual(XenPlatformParametersLayout.size, 4)
        XCTAssertEqual(XenFeatureInfoLayout.submapIndexOffset, 0)
        XCTAssertEqual(XenFeatureInfoLayout.submapOffset, 4)
        XCTAssertEqual(XenFeatureInfoLayout.size, 8)
        XCTAssertEqual(XenFeatureInfoLayout.submapCount, 1)
        XCTAssertEqual(XenBuildIDLayout.lenOffset, 0)
        XCTAssertEqual(XenBuildIDLayout.bufOffset, 4)

        let features: [(XenFeature, UInt32, String)] = [
            (.writablePageTables, 0, "writable_page_tables"),
            (.writableDescriptorTables, 1, "writable_descriptor_tables"),
            (.autoTranslatedPhysmap, 2, "auto_translated_physmap"),
            (.supervisorModeKernel, 3, "supervisor_mode_kernel"),
            (.paePgdirAbove4GB, 4, "pae_pgdir_above_4gb"),
            (.mmuPTUpdatePreserveAD, 5, "mmu_pt_update_preserve_ad"),
            (.highmemAssist, 6, "highmem_assist"),
            (.gnttabMapAvailBits, 7, "gnttab_map_avail_bits"),
            (.hvmCallbackVector, 8, "hvm_callback_vector"),
            (.hvmSafePvclock, 9, "hvm_safe_pvclock"),
            (.hvmPirqs, 10, "hvm_pirqs"),
            (.dom0, 11, "dom0"),
        ]
        for (feature, value, name) in features {
            XCTAssertEqual(feature.rawValue, value)
            XCTAssertEqual(feature.bit, 1 << value)
            XCTAssertEqual("\(feature.name)", name)
        }
    }

    func testMiscOps() {
        XCTAssertEqual(ConsoleIOOp.write.rawValue, 0)
        XCTAssertEqual(ConsoleIOOp.read.rawValue, 1)
        XCTAssertEqual(MulticallEntryLayout.opOffset, 0)
        XCTAssertEqual(MulticallEntryLayout.resultOffset, 4)
        XCTAssertEqual(MulticallEntryLayout.argsOffset, 8)
        XCTAssertEqual(MulticallEntryLayout.argCount, 6)
        XCTAssertEqual(MulticallEntryLayout.argOffset(5), 28)
        XCTAssertEqual(MulticallEntryLayout.size, 32)
        XCTAssertEqual(VMAssistCommand.enable.rawValue, 0)
        XCTAssertEqual(VMAssistCommand.disable.rawValue, 1)
        XCTAssertEqual(VMAssistType.fourGBSegments.rawValue, 0)
        XCTAssertEqual(VMAssistType.fourGBSegmentsNotify.rawValue, 1)
        XCTAssertEqual(VMAssistType.writablePagetables.rawValue, 2)
        XCTAssertEqual(VMAssistType.paeExtendedCR3.rawValue, 3)
        XCTAssertEqual(VMAssistType.m2pStrict.rawValue, 32)
        XCTAssertEqual("\(VMAssistType.paeExtendedCR3.name)", "pae_extended_cr3")
        XCTAssertEqual(FPUTaskswitch.set, 1)
        XCTAssertEqual(FPUTaskswitch.clear, 0)
        XCTAssertEqual(StackSwitch.kernelRPL, 1)
    }

    /// mmu_update and mmuext_op elements (xen.h, x86_32).
    func testMMUOpElements() {
        XCTAssertEqual(MMUUpdateLayout.ptrOffset, 0)
        XCTAssertEqual(MMUUpdateLayout.valOffset, 8)
        XCTAssertEqual(MMUUpdateLayout.size, 16)
        XCTAssertEqual(MMUExtOpLayout.cmdOffset, 0)
        XCTAssertEqual(MMUExtOpLayout.arg1Offset, 4)
        XCTAssertEqual(MMUExtOpLayout.arg2Offset, 8)
        XCTAssertEqual(MMUExtOpLayout.size, 12)
    }

    /// xen_memory_map (memory.h, x86_32) and the 20-byte packed e820 entry it points at.
    func testMemoryMap() {
        XCTAssertEqual(XenMemoryMapLayout.nrEntriesOffset, 0)
        XCTAssertEqual(XenMemoryMapLayout.bufferOffset, 4)
        XCTAssertEqual(XenMemoryMapLayout.size, 8)
        XCTAssertEqual(E820EntryLayout.addrOffset, 0)
        XCTAssertEqual(E820EntryLayout.sizeOffset, 8)
        XCTAssertEqual(E820EntryLayout.typeOffset, 16)
        XCTAssertEqual(E820EntryLayout.size, 20)
        XCTAssertEqual(E820EntryLayout.typeRAM, 1)
    }

    /// DOMID_SELF (xen.h) and the LDT selector of 32-bit Xen's reserved GDT page (entry 7177).
    func testSpecialIdsAndSelectors() {
        XCTAssertEqual(SpecialDomainID.selfID, 0x7FF0)
        XCTAssertEqual(Selector.hypervisorLDT, 0xe048)
        XCTAssertEqual(Int(Selector.hypervisorLDT >> 3), Selector.firstReservedGDTEntry + 9)
        XCTAssertEqual(Hypercall.trapVector, 0x82)
    }
}
