// ShellPower.swift: the shell's `shutdown` and `reboot` (ask the guest through its control/shutdown
// node, as xl does, and wait for it to stop: at most `timeout` of system time, then say so) and
// `console` (attach the shell's input to a domain's console ring; Ctrl-] comes back). It asks and
// waits; it never forces a domain down (that is `destroy`).

import ApusCore
import GuestKit
import PVABI

enum ShellPower {
    static let timeout: UInt64 = 10_000_000_000
    /// Ctrl-], as in xl console.
    static let detachByte: UInt8 = 0x1D

    /// Writes "poweroff" or "reboot" and waits; answers the stopped domain's reason, or nil.
    static func stop(_ id: UInt16, reboot: Bool) -> UInt32? {
        guard ask(id, reboot: reboot) else { return nil }
        if let reason = waitForStop(id, timeout: timeout) { return reason }
        console.print("d\(id) did not stop within 10 s; 'destroy \(id)' stops it at once")
        return nil
    }

    /// Writes control/shutdown ("poweroff" or "reboot"); false (reason printed) when the store refused.
    static func ask(_ id: UInt16, reboot: Bool) -> Bool {
        let word: StaticString = reboot ? "reboot" : "poweroff"
        var value: [UInt8] = []
        word.withUTF8Buffer { value = Array($0) }
        let path = StorePath.domainPath(id) + Array("/control/shutdown".utf8)
        if case .failure(let e) = DomainIO.write(path, value) {
            _ = e.name.withUnsafeBufferPointer { console.print("shutdown: writing d\(id)'s control/shutdown failed: \(text: $0)") }
            return false
        }
        console.print("asked d\(id) to \(reboot ? "reboot" : "power off") (control/shutdown = \(word)); waiting")
        return true
    }

    /// Services the rings until the domain has stopped (its reason) or `timeout` of system time
    /// passed, or the domain is gone (nil).
    static func waitForStop(_ id: UInt16, timeout: UInt64) -> UInt32? {
        let deadline = GuestTime.now() + timeout
        while GuestTime.now() < deadline {
            DomainIO.service()
            guard let info = Toolstack.info(id) else { return nil }
            if info.isShutdown { return info.shutdownReason }
            Dom0Events.sleep(10_000_000)
        }
        return nil
    }

    static func attach(_ id: UInt16) {
        guard DomainIO.hasConsole(id) else {
            console.print("d\(id) has no console ring (its output goes to the hypervisor console)")
            return
        }
        DomainIO.attached = id
        console.print("attached to d\(id)'s console; Ctrl-] returns to the shell")
    }
}
