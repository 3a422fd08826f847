// ShutdownWait.swift: how long POST /v1/domains/{id}/shutdown (and /reboot) waits for the domain to
// stop, from the request target's query: `timeout=SECONDS` (0 to 300; 0 does not wait), `wait=false`
// (answer at once, the old behaviour), `wait=true`; nothing: 30 s. Pure: it decides from the bytes
// and never waits itself; anything else in the query is refused (400) rather than ignored.

public enum ShutdownWait: Equatable, Sendable {
    /// Answer 202 as soon as control/shutdown is written.
    case immediate
    /// Answer when the domain stopped (200) or after this many seconds (202).
    case wait(seconds: UInt32)

    public static let defaultSeconds: UInt32 = 30
    public static let maxSeconds: UInt32 = 300

    /// The wait `target` (the request target, path and query) asks for.
    public static func parse(_ target: [UInt8]) -> Result<ShutdownWait, HttpError> {
        guard let q = target.firstIndex(of: 63) else { return .success(.wait(seconds: defaultSeconds)) }
        var seconds: UInt32? = nil
        var waiting: Bool? = nil
        for pair in target[(q + 1)...].split(separator: 38, omittingEmptySubsequences: true) {
            guard let eq = pair.firstIndex(of: 61) else { return .failure(HttpError(400, "query parameters are timeout=SECONDS and wait=true|false")) }
            let key = pair[pair.startIndex..<eq], value = pair[(eq + 1)...]
            if HttpBytes.equal(key, "timeout") {
                guard seconds == nil, let v = decimal(value), v <= maxSeconds else {
                    return .failure(HttpError(400, "timeout must be whole seconds from 0 to 300, given once"))
                }
                seconds = v
            } else if HttpBytes.equal(key, "wait") {
                guard waiting == nil else { return .failure(HttpError(400, "wait must be true or false, given once")) }
                if HttpBytes.equal(value, "true") || HttpBytes.equal(value, "1") { waiting = true }
                else if HttpBytes.equal(value, "false") || HttpBytes.equal(value, "0") { waiting = false }
                else { return .failure(HttpError(400, "wait must be true or false, given once")) }
            } else {
                return .failure(HttpError(400, "query parameters are timeout=SECONDS and wait=true|false"))
            }
        }
        if waiting == false {
            if let s = seconds, s > 0 { return .failure(HttpError(400, "wait=false takes no timeout")) }
            return .success(.immediate)
        }
        let s = seconds ?? defaultSeconds
        return .success(s == 0 ? .immediate : .wait(seconds: s))
    }

    /// Decimal digits only, at most 6 of them.
    static func decimal(_ b: ArraySlice<UInt8>) -> UInt32? { HttpQuery.decimal(b, maxDigits: 6).map { UInt32($0) } }
}
