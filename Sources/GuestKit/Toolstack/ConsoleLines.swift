// ConsoleLines.swift: turns the bytes a domain wrote to its console ring into lines dom0 may print
// under that domain's label: one line per '\n', '\r' dropped, every other byte outside printable
// ASCII shown as '?', lines cut at `maxLength`. It must never let a guest's bytes start a new line or
// forge another label: the only line breaks are the ones this type decides.

public struct ConsoleLines: Equatable, Sendable {
    /// Bytes of text one printed line may hold; the rest of a longer line starts a new one.
    public static let maxLength = 160

    /// The line being assembled (already sanitised).
    public private(set) var partial: [UInt8] = []
    /// Everything received, and the lines handed out.
    public private(set) var bytes: UInt64 = 0
    public private(set) var lines: UInt64 = 0

    public init() {}

    /// Takes received bytes; answers the whole lines they completed.
    public mutating func feed(_ input: [UInt8]) -> [[UInt8]] {
        var done: [[UInt8]] = []
        bytes &+= UInt64(input.count)
        for b in input {
            switch b {
            case 10:
                done.append(partial)
                partial = []
            case 13:
                continue
            case 9:
                // A tab moves to the next multiple of 8 columns, as a terminal shows it
                // (/proc/cpuinfo's "model name\t: ..." would otherwise read as a '?').
                repeat { partial.append(0x20) } while partial.count % 8 != 0 && partial.count < ConsoleLines.maxLength
                if partial.count == ConsoleLines.maxLength {
                    done.append(partial)
                    partial = []
                }
            default:
                partial.append(b >= 0x20 && b < 0x7F ? b : 0x3F)
                if partial.count == ConsoleLines.maxLength {
                    done.append(partial)
                    partial = []
                }
            }
        }
        lines &+= UInt64(done.count)
        return done
    }

    /// The unfinished line, if any, as a last line (when the ring closes).
    public mutating func flush() -> [UInt8]? {
        guard !partial.isEmpty else { return nil }
        let line = partial
        partial = []
        lines &+= 1
        return line
    }
}
