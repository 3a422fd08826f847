// LineEditor.swift: turns raw console bytes into lines for dom0's shell: printable ASCII accumulates,
// backspace/DEL erase, '\r' or '\n' completes the line. It never echoes or prints: it tells dom0 what to echo.

public struct LineEditor {
    /// The longest line it keeps; bytes typed beyond it are ignored.
    public static let capacity = 120

    /// What one byte did, so dom0 can echo it.
    public enum Event: Equatable, Sendable {
        /// Nothing changed: a control byte, a byte of an escape sequence, non-ASCII, a full line,
        /// backspace on an empty line, or the '\n' of a "\r\n" pair.
        case ignored
        /// The byte joined the line; echo it.
        case appended(UInt8)
        /// The last byte was erased; echo "\b \b".
        case erased
        /// '\r' or '\n' ended the line (returned without its terminator); the editor is empty again.
        case line([UInt8])
    }

    /// The line typed so far.
    public private(set) var pending: [UInt8] = []
    private var afterCarriageReturn = false
    /// Arrow keys and the like send ESC '[' ... final byte, or ESC 'O' final byte; all of it is dropped.
    /// 0: none, 1: after ESC, 2: inside the sequence (a plain byte: a private enum would bring in Hasher).
    private var escape: UInt8 = 0

    public init() {}

    public mutating func feed(_ byte: UInt8) -> Event {
        let swallowNewline = afterCarriageReturn && byte == 10
        afterCarriageReturn = byte == 13
        if swallowNewline { return .ignored }

        if escape == 1 {
            escape = byte == 91 || byte == 79 ? 2 : 0   // '[' or 'O'
            return .ignored
        }
        if escape == 2 {
            if byte >= 0x40 && byte <= 0x7E { escape = 0 }
            return .ignored
        }

        switch byte {
        case 10, 13:
            let line = pending
            pending.removeAll()
            return .line(line)
        case 8, 127:
            guard !pending.isEmpty else { return .ignored }
            pending.removeLast()
            return .erased
        case 27:
            escape = 1
            return .ignored
        case 32...126:
            guard pending.count < LineEditor.capacity else { return .ignored }
            pending.append(byte)
            return .appended(byte)
        default:
            return .ignored
        }
    }
}
