// TokenRedaction.swift: a kernel command line as dom0 may print it: the value of every `api_token=`
// word replaced by `(hidden)`, so the API token given on the command line never reaches a log.
// Pure: it returns new bytes, never traps on any input.

public enum TokenRedaction {
    /// `line` with each `api_token=VALUE` word's VALUE (up to the next space) as `(hidden)`.
    public static func redacted<C: Collection>(_ line: C) -> [UInt8] where C.Element == UInt8 {
        let key = Array("api_token=".utf8), hidden = Array("(hidden)".utf8)
        var out: [UInt8] = []
        var word: [UInt8] = []
        func flush() {
            if word.count > key.count && word.starts(with: key) { out += key + hidden } else { out += word }
            word.removeAll()
        }
        for b in line {
            if b == 32 { flush(); out.append(32) } else { word.append(b) }
        }
        flush()
        return out
    }
}
