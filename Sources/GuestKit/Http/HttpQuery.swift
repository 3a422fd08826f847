// HttpQuery.swift: one parameter of a request target's query (`?name=value&...`), percent-decoded
// ('+' is a space, as in forms). It parses untrusted bytes: it never traps, never decodes a malformed
// escape, and refuses a key given twice rather than choosing one.

public enum HttpQuery {
    /// The decoded value of `key` in the query of `target`: nil when the key is absent (or there is
    /// no query); 400 when the query holds a malformed percent escape or names the key twice.
    public static func value(_ target: [UInt8], _ key: StaticString) -> Result<[UInt8]?, HttpError> {
        guard let q = target.firstIndex(of: 63) else { return .success(nil) }
        var found: [UInt8]? = nil
        for pair in target[(q + 1)...].split(separator: 38, omittingEmptySubsequences: true) {
            let eq = pair.firstIndex(of: 61) ?? pair.endIndex
            guard case .success(let k) = decode(pair[..<eq]) else { return .failure(HttpError(400, "malformed percent escape in the query")) }
            guard case .success(let v) = decode(eq < pair.endIndex ? pair[(eq + 1)...] : []) else {
                return .failure(HttpError(400, "malformed percent escape in the query"))
            }
            guard HttpBytes.equal(k[...], key) else { continue }
            guard found == nil else { return .failure(HttpError(400, "a query parameter is given twice")) }
            found = v
        }
        return .success(found)
    }

    /// A query value as a whole number: 1 to `maxDigits` (at most 18) decimal digits, nothing else.
    public static func decimal(_ s: ArraySlice<UInt8>, maxDigits: Int) -> UInt64? {
        guard !s.isEmpty, s.count <= min(maxDigits, 18) else { return nil }
        var v: UInt64 = 0
        for c in s {
            guard c >= 48 && c <= 57 else { return nil }
            v = v * 10 + UInt64(c - 48)
        }
        return v
    }

    /// `%XX` to its byte and '+' to a space; a '%' without two hex digits is an error.
    public static func decode(_ s: ArraySlice<UInt8>) -> Result<[UInt8], HttpError> {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == 37 {
                guard s.endIndex - i >= 3, let h = HttpParser.hexDigit(s[i + 1]), let l = HttpParser.hexDigit(s[i + 2]) else {
                    return .failure(HttpError(400, "malformed percent escape in the query"))
                }
                out.append(UInt8(h * 16 + l))
                i += 3
            } else {
                out.append(c == 43 ? 32 : c)
                i += 1
            }
        }
        return .success(out)
    }
}
