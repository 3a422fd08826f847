// ConsoleIO.swift: console_io (18). CONSOLEIO_write prints guest text on the hypervisor console
// with the domain's "(dN)" prefix, a line at a time; CONSOLEIO_read hands dom0 the bytes typed on
// the serial line. It never prints a guest byte that is not printable ASCII as itself.

import ApusCore
import PVABI

enum ConsoleIOHypercall {
    static let chunk = 128

    enum Request {
        case write(va: UInt32, count: UInt32)
        case read(va: UInt32, count: UInt32)
    }

    static func decode(_ a: HypercallArguments, _ d: Domain) -> Result<Request, Refusal> {
        guard let op = ConsoleIOOp(rawValue: a.a1) else { return .failure(Refusal(.ENOSYS, "unknown console_io operation")) }
        guard GuestMemory.inGuestRange(a.a3, a.a2) else {
            return .failure(Refusal(.EFAULT, "console_io buffer reaches into the hypervisor area"))
        }
        switch op {
        case .write: return .success(.write(va: a.a3, count: a.a2))
        case .read:
            guard d.privileged else { return .failure(Refusal(.EPERM, "only dom0 reads the hypervisor console")) }
            return .success(.read(va: a.a3, count: a.a2))
        }
    }

    static func run(_ a: HypercallArguments, _ d: Domain) -> HypercallOutcome {
        switch decode(a, d) {
        case .failure(let r): return r.outcome
        case .success(.write(let va, let count)):
            var buffer = InlineArray<128, UInt8>(repeating: 0)
            var done: UInt32 = 0
            while done < count {
                let n = min(UInt32(chunk), count - done)
                let ok = withUnsafeMutableBytes(of: &buffer) { GuestMemory.read(va + done, into: $0.baseAddress!, count: n) }
                if !ok { return .refused(.EFAULT, "console_io buffer is not mapped") }
                withUnsafeBytes(of: &buffer) { raw in
                    Log.domainText(d.id, UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: Int(n)))
                }
                done += n
            }
            return .value(Int32(bitPattern: count))
        case .success(.read(let va, let count)):
            var got: UInt32 = 0
            while got < count, let byte = Serial.take() {
                var b = byte
                if !withUnsafeBytes(of: &b, { GuestMemory.write(va + got, from: $0.baseAddress!, count: 1) }) {
                    return .refused(.EFAULT, "console_io read buffer is not mapped writable")
                }
                got += 1
            }
            return .value(Int32(bitPattern: got))
        }
    }
}
