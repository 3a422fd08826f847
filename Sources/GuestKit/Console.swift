// Console.swift: a guest's console output through console_io (CONSOLEIO_write): one LogLine and its
// newline per call, so the hypervisor prints it whole with the domain's "(dN)" prefix.

import ApusCore

public struct GuestConsole<T: HypercallTransport> {
    public let xen: Xen<T>
    public init(_ xen: Xen<T>) { self.xen = xen }

    @discardableResult
    public func print(_ line: LogLine) -> Int32 {
        var full = line
        full.append(byte: 10)
        return full.withBytes { buffer in
            xen.consoleWrite(UInt32(UInt(bitPattern: buffer.baseAddress)), UInt32(buffer.count))
        }
    }
}
