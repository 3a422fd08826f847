// DomainPatchJson.swift: the body of PATCH /v1/domains/{id|name}: a JSON object with any of `weight`
// (1...65535), `cap` (0...100, percent of one CPU; 0 no cap) and `memory_target` (KiB, 1...2^32-1, the
// balloon target written to the domain's memory/target). Unknown or repeated keys and wrong types are
// refused with a message naming the key. Pure: it never changes a domain, never traps on any bytes.

/// What a PATCH asks to change; nil members stay as they are.
public struct DomainPatch: Equatable, Sendable {
    public var weight: UInt16?
    public var cap: UInt16?
    public var memoryTargetKiB: UInt32?
    public init(weight: UInt16? = nil, cap: UInt16? = nil, memoryTargetKiB: UInt32? = nil) {
        self.weight = weight; self.cap = cap; self.memoryTargetKiB = memoryTargetKiB
    }
    public var isEmpty: Bool { weight == nil && cap == nil && memoryTargetKiB == nil }
}

public enum DomainPatchJson {
    public static func decode(_ body: [UInt8]) -> Result<DomainPatch, DomainConfigJsonError> {
        let doc: JsonDocument
        switch JsonDocument.parse(body) {
        case .success(let d): doc = d
        case .failure(let e): return .failure(DomainConfigJsonError(text("malformed JSON: ") + text(e.reason)))
        }
        guard doc.nodes.first?.kind == .object else { return .failure(DomainConfigJsonError(text("the body must be a JSON object"))) }
        var patch = DomainPatch()
        var seen: [[UInt8]] = []
        for m in doc.members(0) {
            let name = doc.string(m.key) ?? []
            guard !seen.contains(name) else { return .failure(DomainConfigJsonError(text("key '") + DomainConfigJson.printable(name) + text("' appears twice"))) }
            seen.append(name)
            let v = doc.integer(m.value)
            if HttpBytes.equal(name[...], "weight") {
                guard let v, v >= 1, v <= 65535 else { return .failure(DomainConfigJsonError(text("'weight' must be an integer between 1 and 65535"))) }
                patch.weight = UInt16(v)
            } else if HttpBytes.equal(name[...], "cap") {
                guard let v, v >= 0, v <= 100 else { return .failure(DomainConfigJsonError(text("'cap' must be an integer between 0 and 100 (0: no cap)"))) }
                patch.cap = UInt16(v)
            } else if HttpBytes.equal(name[...], "memory_target") {
                guard let v, v >= 1, v <= 0xFFFF_FFFF else { return .failure(DomainConfigJsonError(text("'memory_target' must be an integer number of KiB, at least 1"))) }
                patch.memoryTargetKiB = UInt32(v)
            } else {
                return .failure(DomainConfigJsonError(text("unknown key '") + DomainConfigJson.printable(name) + text("'; the keys are weight, cap and memory_target")))
            }
        }
        guard !patch.isEmpty else { return .failure(DomainConfigJsonError(text("nothing to change; the keys are weight, cap and memory_target"))) }
        return .success(patch)
    }

    static func text(_ s: StaticString) -> [UInt8] { s.withUTF8Buffer { Array($0) } }
}
