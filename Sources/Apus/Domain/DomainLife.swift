// DomainLife.swift: the transitions of a domain's life that take it off the CPU (block,
// shutdown, crash) and the scheduler that picks who runs next. Switching loads the domain's
// address space, descriptor shadow and FPU state, copies its saved registers to the top of the
// ring-0 stack and enters it. Nothing here returns to the code that asked for the switch.

import ApusCore
import PVABI

@_extern(c, "enter_guest") func enter_guest(_ frame: UnsafeMutableRawPointer)

enum DomainLife {
    /// The frame every trap from a guest leaves at the top of the ring-0 stack.
    static var guestFrame: UnsafeMutablePointer<TrapFrame>! = nil

    static func block(_ d: Domain) -> Never {
        save(d, result: 0)
        Runstates.account(d, now: SystemTime.nanoseconds())
        d.state = .blocked
        Scheduler.runNext()
    }

    static func stop(_ d: Domain, _ state: DomainState) -> Never {
        Runstates.account(d, now: SystemTime.nanoseconds())
        d.state = state
        switch state {
        case .shutdown(let reason): Log.info("d\(d.id) shut down: \(reason.name)")
        case .crashed: break
        default: break
        }
        if Domains.current === d { Domains.current = nil }
        TestVerdict.domainStopped(d)
        if d.id == 0 {
            Log.info("dom0 has stopped; powering off")
            Power.off()
        }
        Scheduler.runNext()
    }

    /// Keeps the running guest's registers (hypercall result in EAX) for when it runs again.
    static func save(_ d: Domain, result: Int32) {
        d.vcpu.saved = guestFrame.pointee
        d.vcpu.saved.eax = UInt32(bitPattern: result)
    }
}

enum Scheduler {
    /// Runs the next domain that can run; halts (interrupts on) while none can.
    static func runNext() -> Never {
        while true {
            if let d = Domains.all.first(where: { $0.state == .running }) { switchTo(d) }
            cpu_halt()
        }
    }

    static func switchTo(_ d: Domain) -> Never {
        Domains.current = d
        cpu_write_cr3(d.hardwarePDPTPhysical)
        GuestGDT.reload(d)
        FPU.applyTaskSwitched(d)
        d.vcpu.runstateEntry = SystemTime.nanoseconds()
        DomainLife.guestFrame.pointee = d.vcpu.saved
        enter_guest(UnsafeMutableRawPointer(DomainLife.guestFrame))
        haltForever()
    }
}

/// Turns the machine off: ACPI on QEMU's PC machine, then a plain halt.
enum Power {
    static func off() -> Never {
        port_out16(0x604, 0x2000)      // QEMU i440fx/q35 ACPI PM1a control: SLP_EN | S5
        port_out16(0xB004, 0x2000)     // older QEMU and Bochs
        Log.info("power off did not take; halted")
        haltForever()
    }
}
