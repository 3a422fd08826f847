// ShellStore.swift: the shell's `store` verbs over dom0's own xenstored: `ls` prints a subtree as
// xenstore-ls does (one space of indent per level, name = "value"), `read`, `write` and `rm` act
// as dom0 (privileged). Values may come from guests: they are printed with every byte outside
// printable ASCII shown as '?', and a listing stops after `maxLines`.

import ApusCore
import GuestKit

enum ShellStore {
    static let maxLines = 400

    static func run(_ verb: StoreVerb) {
        switch verb {
        case .list(let raw):
            guard let path = resolve(raw) else { return }
            var printed = 0
            if case .failure(let e) = DomainIO.store.localDirectory(path) { fail("list", path, e); return }
            list(path, depth: 0, printed: &printed)
            if printed >= maxLines { console.print("store: listing stopped after \(maxLines) lines") }
        case .read(let raw):
            guard let path = resolve(raw) else { return }
            switch DomainIO.store.localRead(path) {
            case .success(let value):
                var line = LogLine()
                appendSanitised(&line, value)
                console.print(line)
            case .failure(let e): fail("read", path, e)
            }
        case .write(let raw, let value):
            guard let path = resolve(raw) else { return }
            if case .failure(let e) = DomainIO.write(path, value) { fail("write", path, e) }
        case .remove(let raw):
            guard let path = resolve(raw) else { return }
            if case .failure(let e) = DomainIO.remove(path) { fail("remove", path, e) }
        }
    }

    /// The absolute path for what was typed (relative paths are dom0's, as xenstore-* resolve them).
    static func resolve(_ raw: [UInt8]) -> [UInt8]? {
        if raw == [0x2F] { return raw }
        if let p = StorePath.resolve(raw, for: 0) { return p }
        var line = LogLine("store: '")
        appendSanitised(&line, raw)
        line.append("' is not a valid path (letters, digits and -/_@ only)")
        console.print(line)
        return nil
    }

    static func list(_ path: [UInt8], depth: Int, printed: inout Int) {
        guard case .success(let children) = DomainIO.store.localDirectory(path) else { return }
        for child in children {
            guard printed < maxLines else { return }
            let full = path == [0x2F] ? path + child : path + [0x2F] + child
            var line = LogLine()
            for _ in 0..<depth { line.append(byte: 32) }
            appendSanitised(&line, child)
            line.append(" = \"")
            if case .success(let value) = DomainIO.store.localRead(full) { appendSanitised(&line, value) }
            line.append("\"")
            console.print(line)
            printed += 1
            list(full, depth: depth + 1, printed: &printed)
        }
    }

    static func fail(_ what: StaticString, _ path: [UInt8], _ error: StoreError) {
        var line = LogLine("store: cannot ")
        line.append(what)
        line.append(" ")
        appendSanitised(&line, path)
        line.append(": ")
        for b in error.name { line.append(byte: b) }
        console.print(line)
    }

    static func appendSanitised(_ line: inout LogLine, _ bytes: [UInt8]) {
        for b in bytes { line.append(byte: b >= 0x20 && b < 0x7F ? b : 0x3F) }
    }
}
