// Panic.swift: the end of the line for a hypervisor bug. Prints everything a person needs
// (vector, error code, EIP, CS, EFLAGS, CR2, registers), then halts, or in a test run ends QEMU
// with a failure. It must never be reached because of anything a guest did.

import ApusCore

enum Panic {
    static func trap(_ frame: UnsafeMutablePointer<TrapFrame>, cr2: UInt32, reason: StaticString) -> Never {
        let f = frame.pointee
        Serial.flush()      // synchronous from here: the panic text follows everything queued
        Log.always("PANIC: \(reason)")
        Log.always("  \(ExceptionName.mnemonic(f.vector)) vector \(f.vector) error code \(hex: f.errorCode) in ring \(f.ring)")
        Log.always("  eip \(hex8: f.eip)  cs \(hex: f.cs & 0xFFFF)  eflags \(hex8: f.eflags)  cr2 \(hex8: cr2)")
        Log.always("  eax \(hex8: f.eax)  ebx \(hex8: f.ebx)  ecx \(hex8: f.ecx)  edx \(hex8: f.edx)")
        Log.always("  esi \(hex8: f.esi)  edi \(hex8: f.edi)  ebp \(hex8: f.ebp)  esp \(hex8: f.ring == 0 ? f.espAtPushad + 36 : f.esp)")
        Log.always("  cr0 \(hex8: cpu_read_cr0())  cr3 \(hex8: cpu_read_cr3())  cr4 \(hex8: cpu_read_cr4())")
        stop()
    }

    static func halt(_ reason: StaticString) -> Never {
        Serial.flush()
        Log.always("PANIC: \(reason)")
        stop()
    }

    private static func stop() -> Never {
        TestHooks.panicked()
        Log.always("halted.")
        haltForever()
    }
}
