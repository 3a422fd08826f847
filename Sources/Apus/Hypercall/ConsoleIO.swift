// ConsoleIO.swift: console_io (18). CONSOLEIO_write prints guest text on the hypervisor console
// with the domain's "(dN)" prefix, a line at a time; CONSOLEIO_read hands dom0 the bytes typed on
// the serial line. A privileged domain's write that starts with a "(dN) " label (its console
// backend relaying domain N's ring) is printed under N's label. A domU that has started using its
// console ring is not printed here (its ring is). ApusCore's ConsoleIORequest decodes. It never prints a guest byte that is not
// printable ASCII as itself.

import ApusCore
import PVABI

enum ConsoleIOHypercall {
    static let chunk: UInt32 = 128

    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        var memory = RunningGuestMemory()
        switch ConsoleIORequest.decode(a, privileged: d.privileged) {
        case .failure(let r): return r.outcome
        case .success(.write(let text)):
            // A domU that writes its console ring writes the same text here too (Mini-OS does): the ring
            // is its console, which dom0 relays; a release Xen refuses domU console_io writes altogether.
            if d.consoleRingInUse { return .value(Int32(bitPattern: text.count)) }
            var done: UInt32 = 0
            var speaker = d.id
            if d.privileged, let head = text.slice(at: 0, count: min(12, text.count)), let bytes: GuestBytes<12> = memory.read(head),
               let label = bytes.withBytes({ ConsoleRelayLabel.parse($0) }) {
                speaker = label.domain
                done = UInt32(label.length)
            }
            while done < text.count {
                let n = min(chunk, text.count - done)
                guard let part = text.slice(at: done, count: n), let bytes: GuestBytes<128> = memory.read(part) else {
                    return .refused(.EFAULT, "console_io buffer is not mapped")
                }
                bytes.withBytes { raw in
                    Log.domainText(speaker, UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
                }
                done += n
            }
            return .value(Int32(bitPattern: text.count))
        case .success(.read(let buffer)):
            var got: UInt32 = 0
            while got < buffer.count, let byte = Serial.take() {
                var one = GuestBytes<1>(count: 1)
                one.set8(0, byte)
                guard let slot = buffer.slice(at: got, count: 1), memory.write(one, to: slot) else {
                    return .refused(.EFAULT, "console_io read buffer is not mapped writable")
                }
                got += 1
            }
            DebugKeys.answerPending()     // keys that arrived with these bytes
            return .value(Int32(bitPattern: got))
        }
    }
}
