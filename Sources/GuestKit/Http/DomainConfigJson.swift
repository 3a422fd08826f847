// DomainConfigJson.swift: the body of POST /v1/domains (a JSON object with the .cfg keys name, kernel,
// memory, vcpus, weight, cap, on_crash, extra, and the device lists vif and disk as JSON arrays of the
// .cfg's entry strings) turned into a DomainConfig through the same parser the shell uses for .cfg
// files: each member is checked for its JSON type, written as one `key = value` line, and the lines are
// parsed by DomainConfig. Pure: it never creates a domain, never traps on any bytes.

/// Why a create request was refused: its status (400) and a message naming the key when there is one.
public struct DomainConfigJsonError: Error, Equatable, Sendable {
    public var status: UInt16
    public var message: [UInt8]
    init(_ message: [UInt8]) { status = 400; self.message = message }
}

public enum DomainConfigJson {
    /// The JSON type a create request's key takes.
    enum Kind { case string, integer, stringList }

    /// The keys a create request may set, and the JSON type of each.
    static let keys: [(ConfigKey, Kind)] = [
        (.name, .string), (.kernel, .string), (.memory, .integer), (.vcpus, .integer), (.weight, .integer), (.cap, .integer),
        (.onCrash, .string), (.extra, .string), (.vif, .stringList), (.disk, .stringList),
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
            guard let (key, kind) = keys.first(where: { k in k.0.spelling.withUTF8Buffer { name.elementsEqual($0) } }) else {
                return .failure(DomainConfigJsonError(text("unknown key '") + printable(name) + text("'; the keys are name, kernel, memory, vcpus, weight, cap, on_crash, extra, vif and disk")))
            }
            guard !seen.contains(key) else { return .failure(DomainConfigJsonError(text("key '") + name + text("' appears twice"))) }
            seen.append(key)
            cfg += name + text(" = ")
            switch kind {
            case .string:
                // DomainConfig's quoted strings end at the first '"'; a quote or a line break inside
                // would change the meaning of the line, so they are refused here.
                guard let s = doc.string(m.value), plain(s) else {
                    return .failure(DomainConfigJsonError(text("'") + name + text("' must be a string without quotes or line breaks: ") + text(key.requirement)))
                }
                cfg += [34] + s + [34]
            case .integer:
                guard let v = doc.integer(m.value) else {
                    return .failure(DomainConfigJsonError(text("'") + name + text("' must be an integer: ") + text(key.requirement)))
                }
                if v < 0 { cfg.append(45) }
                HttpResponse.appendDecimal(&cfg, v.magnitude)
            case .stringList:
                // [ "a", "b" ]: the .cfg's one-line list, each entry quoted as the file would.
                guard doc.nodes[m.value].kind == .array else {
                    return .failure(DomainConfigJsonError(text("'") + name + text("' must be an array of strings: ") + text(key.requirement)))
                }
                cfg.append(91)
                for (i, e) in doc.elements(m.value).enumerated() {
                    guard let s = doc.string(e), plain(s), !s.contains(39) else {
                        return .failure(DomainConfigJsonError(text("'") + name + text("' must be an array of strings without quotes or line breaks: ") + text(key.requirement)))
                    }
                    if i > 0 { cfg.append(44) }
                    cfg += [34] + s + [34]
                }
                cfg.append(93)
            }
            cfg.append(10)
        }
        do {
            return .success(try DomainConfig(parsing: cfg))
        } catch {
            return .failure(DomainConfigJsonError(text(error.reason)))
        }
    }

    /// A string that stays one quoted .cfg value: no '"', no line break.
    static func plain(_ s: [UInt8]) -> Bool { !s.contains(34) && !s.contains(10) && !s.contains(13) }

    static func text(_ s: StaticString) -> [UInt8] { s.withUTF8Buffer { Array($0) } }

    /// At most 32 bytes of an unknown key, with anything but printable ASCII as '?'.
    static func printable(_ b: [UInt8]) -> [UInt8] { b.prefix(32).map { $0 >= 32 && $0 < 127 ? $0 : 63 } }
}
