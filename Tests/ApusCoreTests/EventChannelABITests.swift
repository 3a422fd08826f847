// Pins the event_channel_op and domctl numbers and x86_32 layouts, the EVTCHNSTAT values, special domain ids and VIRQ numbers.
// Every expected value is a literal read from Xen's public event_channel.h, xen.h and domctl.h, never derived from the code under test.

import XCTest
import PVABI

final class EventChannelABITests: XCTestCase {
    func testOpNumbers() {
        let expected: [(EventChannelOp, UInt32)] = [
            (.bindInterdomain, 0), (.bindVirq, 1), (.bindPirq, 2), (.close, 3), (.send, 4), (.status, 5),
            (.allocUnbound, 6), (.bindIPI, 7), (.bindVCPU, 8), (.unmask, 9), (.reset, 10),
            (.initControl, 11), (.expandArray, 12), (.setPriority, 13),
        ]
        for (op, number) in expected { XCTAssertEqual(op.rawValue, number, "\(op.name)") }
        XCTAssertNil(EventChannelOp(rawValue: 14))
    }

    func testLayouts() {
        XCTAssertEqual(EvtchnAllocUnboundLayout.domOffset, 0)
        XCTAssertEqual(EvtchnAllocUnboundLayout.remoteDomOffset, 2)
        XCTAssertEqual(EvtchnAllocUnboundLayout.portOffset, 4)
        XCTAssertEqual(EvtchnAllocUnboundLayout.size, 8)
        XCTAssertEqual(EvtchnBindInterdomainLayout.remoteDomOffset, 0)
        XCTAssertEqual(EvtchnBindInterdomainLayout.remotePortOffset, 4)
        XCTAssertEqual(EvtchnBindInterdomainLayout.localPortOffset, 8)
        XCTAssertEqual(EvtchnBindInterdomainLayout.size, 12)
        XCTAssertEqual(EvtchnBindVirqLayout.virqOffset, 0)
        XCTAssertEqual(EvtchnBindVirqLayout.vcpuOffset, 4)
        XCTAssertEqual(EvtchnBindVirqLayout.portOffset, 8)
        XCTAssertEqual(EvtchnBindVirqLayout.size, 12)
        XCTAssertEqual(EvtchnBindPirqLayout.portOffset, 8)
        XCTAssertEqual(EvtchnBindIPILayout.vcpuOffset, 0)
        XCTAssertEqual(EvtchnBindIPILayout.portOffset, 4)
        XCTAssertEqual(EvtchnBindIPILayout.size, 8)
        XCTAssertEqual(EvtchnPortLayout.size, 4)
        XCTAssertEqual(EvtchnStatusLayout.domOffset, 0)
        XCTAssertEqual(EvtchnStatusLayout.portOffset, 4)
        XCTAssertEqual(EvtchnStatusLayout.statusOffset, 8)
        XCTAssertEqual(EvtchnStatusLayout.vcpuOffset, 12)
        XCTAssertEqual(EvtchnStatusLayout.remoteDomOffset, 16)
        XCTAssertEqual(EvtchnStatusLayout.remotePortOffset, 20)
        XCTAssertEqual(EvtchnStatusLayout.irqOffset, 16)
        XCTAssertEqual(EvtchnStatusLayout.size, 24)
        XCTAssertEqual(EvtchnBindVCPULayout.vcpuOffset, 4)
        XCTAssertEqual(EvtchnResetLayout.size, 2)
        XCTAssertEqual(EvtchnInitControlLayout.linkBitsOffset, 16)
        XCTAssertEqual(EvtchnInitControlLayout.size, 24)
        XCTAssertEqual(EvtchnSetPriorityLayout.priorityOffset, 4)
    }

    func testStatusCodesDomainIDsAndVirqs() {
        XCTAssertEqual(EventChannelStatusCode.closed.rawValue, 0)
        XCTAssertEqual(EventChannelStatusCode.unbound.rawValue, 1)
        XCTAssertEqual(EventChannelStatusCode.interdomain.rawValue, 2)
        XCTAssertEqual(EventChannelStatusCode.pirq.rawValue, 3)
        XCTAssertEqual(EventChannelStatusCode.virq.rawValue, 4)
        XCTAssertEqual(EventChannelStatusCode.ipi.rawValue, 5)
        XCTAssertEqual(SpecialDomainID.selfID, 0x7FF0)
        XCTAssertEqual(SpecialDomainID.firstReserved, 0x7FF0)
        XCTAssertEqual(SpecialDomainID.io, 0x7FF1)
        XCTAssertEqual(SpecialDomainID.xen, 0x7FF2)
        XCTAssertEqual(SpecialDomainID.cow, 0x7FF3)
        XCTAssertEqual(SpecialDomainID.invalid, 0x7FF4)
        XCTAssertEqual(SpecialDomainID.idle, 0x7FFF)
        XCTAssertEqual(Virq.timer, 0)
        XCTAssertEqual(Virq.debug, 1)
        XCTAssertEqual(Virq.console, 2)
        XCTAssertEqual(Virq.domainException, 3)
        XCTAssertEqual(Virq.traceBuffer, 4)
        XCTAssertEqual(Virq.debugger, 6)
        XCTAssertEqual(Virq.xenoprof, 7)
        XCTAssertEqual(Virq.consoleRing, 8)
        XCTAssertEqual(Virq.pcpuState, 9)
        XCTAssertEqual(Virq.memoryEvent, 10)
        XCTAssertEqual(Virq.argo, 11)
        XCTAssertEqual(Virq.lowMemory, 12)
        XCTAssertEqual(Virq.xenPMU, 13)
        XCTAssertEqual(Virq.arch0, 16)
        XCTAssertEqual(Virq.count, 24)
        let perVCPU = (0..<Virq.count).filter(Virq.isPerVCPU)
        XCTAssertEqual(perVCPU, [0, 1, 7, 13])
    }

    func testDomctl() {
        XCTAssertEqual(DomctlCommand.createDomain.rawValue, 1)
        XCTAssertEqual(DomctlCommand.destroyDomain.rawValue, 2)
        XCTAssertEqual(DomctlCommand.pauseDomain.rawValue, 3)
        XCTAssertEqual(DomctlCommand.unpauseDomain.rawValue, 4)
        XCTAssertEqual(DomctlCommand.getDomainInfo.rawValue, 5)
        XCTAssertEqual(DomctlCommand.maxMem.rawValue, 11)
        XCTAssertEqual(DomctlCommand.setVCPUContext.rawValue, 12)
        XCTAssertEqual(DomctlCommand.getVCPUContext.rawValue, 13)
        XCTAssertEqual(DomctlCommand.maxVCPUs.rawValue, 15)
        XCTAssertEqual(DomctlCommand.schedulerOp.rawValue, 16)
        XCTAssertEqual(DomctlCommand.resumeDomain.rawValue, 27)
        XCTAssertEqual(DomctlCommand.setVirqHandler.rawValue, 66)
        XCTAssertEqual(DomctlCommand.setMaxEventChannel.rawValue, 70)
        XCTAssertEqual(DomctlLayout.domainOffset, 8)
        XCTAssertEqual(DomctlLayout.payloadOffset, 16)
        XCTAssertEqual(DomctlLayout.size, 144)
        XCTAssertEqual(SchedulerID.credit, 5)
        XCTAssertEqual(DomctlSchedulerCommand.putInfo.rawValue, 0)
        XCTAssertEqual(DomctlSchedulerCommand.getInfo.rawValue, 1)
        XCTAssertEqual(DomctlSchedulerOpLayout.creditWeightOffset, 8)
        XCTAssertEqual(DomctlSchedulerOpLayout.creditCapOffset, 10)
        XCTAssertEqual(DomainInfoFlags.paused, 8)
        XCTAssertEqual(DomainInfoFlags.blocked, 16)
        XCTAssertEqual(DomainInfoFlags.running, 32)
    }
}
