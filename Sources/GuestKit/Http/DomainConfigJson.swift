// DomainConfigJson.swift: the body of POST /v1/domains (a JSON object with the .cfg keys name, kernel,
// memory, vcpus, weight, cap, on_crash, extra) turned into a DomainConfig through the same parser the shell
// uses for .cfg files: each member is checked for its JSON type, written as one `key = value` line,
// and the lines are parsed by DomainConfig. Pure: it never creates a domain, never traps on any bytes.

/// Why a create request was refused: its status (400) and a message naming the key when there is one.
public struct DomainConfigJsonError: Error, Equatable, Sendable {
    public var status: UInt16
    public var message: [UInt8]
    init(_ message: [UInt8]) { status = 400; self.message = message }
}

public enum DomainConfigJson {
    /// The keys a create request may set, and whether each takes a JSON string (else an integer).
    static let keys: [(ConfigKey, Bool)] = [
        (.name, true), (.kernel, true), (.memory, false), (.vcpus, false), (.weight, false), (.cap, false), (.onCrash, true), (.extra, true),
    ]

    public static func decode(_ body: [UInt8]) -> Result<DomainConfig, DomainConfigJsonError> {
        let doc: JsonDocument
        switch JsonDocument.parse(body) {
        case .success(let d): doc = d
        case .failure(let e): return .failure(DomainConfigJsonError(text("malformed JSON: ") + text(e.reason)))
        }
        guard doc.nodes.first?.kind == .object else { return .failure(DomainConfigJsonError(text("the body must be a JSON object"))) }
        var cfg: [UInt8] = []
        var seen: [ConfigKey] = []
        for m in doc.members(0) {
            let name = doc.string(m.key) ?? []
            guard let (key, isString) = keys.first(where: { k in k.0.spelling.withUTF8Buffer { name.elementsEqual($0) } }) else {
                return .failure(DomainConfigJsonError(text("unknown key '") + printable(name) + text("'; the keys are name, kernel, memory, vcpus, weight, cap, on_crash and extra")))
            }
            guard !seen.contains(key) else { return .failure(DomainConfigJsonError(text("key '") + name + text("' appears twice"))) }
            seen.append(key)
            cfg += name + text(" = ")
            if isString {
                // DomainConfig's quoted strings end at the first '"'; a quote or a line break inside
                // would change the meaning of the line, so they are refused here.
                guard let s = doc.string(m.value), !s.contains(34), !s.contains(10), !s.contains(13) else {
                    return .failure(DomainConfigJsonError(text("'") + name + text("' must be a string without quotes or line breaks: ") + text(key.requirement)))
                }
                cfg += [34] + s + [34]
            } else {
                guard let v = doc.integer(m.value) else {
                    return .failure(DomainConfigJsonError(text("'") + name + text("' must be an integer: ") + text(key.requirement)))
                }
                if v < 0 { cfg.append(45) }
                HttpResponse.appendDecimal(&cfg, v.magnitude)
            }
            cfg.append(10)
        }
        do {
            return .success(try DomainConfig(parsing: cfg))
        } catch {
            return .failure(DomainConfigJsonError(text(error.reason)))
        }
    }

    static func text(_ s: StaticString) -> [UInt8] { s.withUTF8Buffer { Array($0) } }

    /// At most 32 bytes of an unknown key, with anything but printable ASCII as '?'.
    static func printable(_ b: [UInt8]) -> [UInt8] { b.prefix(32).map { $0 >= 32 && $0 < 127 ? $0 : 63 } }
}
