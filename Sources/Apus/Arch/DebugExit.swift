// DebugExit.swift: QEMU's isa-debug-exit device at port 0xF4 (exit status = value*2+1).
// Only test runs reach it; on real hardware the write is harmless and the caller halts.

import ApusCore

enum DebugExit {
    static let passValue: UInt32 = 0x10   // QEMU exits 33
    static let failValue: UInt32 = 0x11   // QEMU exits 35

    static func exit(passed: Bool) -> Never {
        Serial.flush()      // everything queued first; the verdict line and its end, synchronously
        Log.always("test: exiting QEMU with \(passed ? "PASS" : "FAIL")")
        port_out32(0xF4, passed ? passValue : failValue)
        // Bochs has no isa-debug-exit; "Shutdown" on its port 0x8900 ends it (QEMU ignores it).
        Serial.flush()      // the verdict's last bit has left the UART before the emulator stops
        for b in "Shutdown".utf8 { port_out8(0x8900, b) }
        haltForever()
    }
}

@_extern(c, "cpu_halt_forever") func cpu_halt_forever()

func haltForever() -> Never {
    Serial.flush()          // a stopped machine takes no more UART interrupts: send what is queued
    cpu_halt_forever()      // does not return; the loop only tells Swift so
    while true {}
}
