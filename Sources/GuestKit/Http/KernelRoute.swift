// KernelRoute.swift: the /v1/kernels endpoints of dom0's HTTP API (issue #15): list, upload, show and
// delete a kernel image, decided from the method and path alone, and the rule for a kernel's name.
// Pure: it never touches the store of kernels, and it never reads the body.

public enum KernelRoute: Equatable, Sendable {
    /// GET /v1/kernels: the initrd's kernels and the uploaded ones.
    case list
    /// POST /v1/kernels[?name=NAME]: the body is the kernel's ELF image.
    case upload
    /// GET /v1/kernels/{name}
    case show([UInt8])
    /// DELETE /v1/kernels/{name} (uploaded kernels only)
    case delete([UInt8])

    /// The route of a request for `path` (without the query, one trailing slash already dropped), or
    /// nil when the path is not /v1/kernels or under it.
    public static func decide(_ method: HttpMethod, _ path: ArraySlice<UInt8>) -> ApiRoute? {
        let get = method == .get || method == .head
        if HttpBytes.equal(path, "/v1/kernels") {
            if method == .post { return .kernels(.upload) }
            return get ? .kernels(.list) : .refused(HttpError(405, "method not allowed on /v1/kernels"))
        }
        let prefix = HttpBytes.bytes("/v1/kernels/")
        guard path.count > prefix.count, path.starts(with: prefix) else { return nil }
        let name = path.dropFirst(prefix.count)
        guard KernelName.isValid(name) else { return .refused(HttpError(404, "no such kernel")) }
        if get { return .kernels(.show(Array(name))) }
        if method == .delete { return .kernels(.delete(Array(name))) }
        return .refused(HttpError(405, "method not allowed on /v1/kernels/{name}"))
    }

    /// Whether `request` is an upload (POST /v1/kernels): the parser lets its body be larger.
    public static func isUpload(_ request: HttpRequest) -> Bool {
        guard request.method == .post else { return false }
        var path = request.path
        if path.count > 1, path.last == 47 { path = path.dropLast() }
        return HttpBytes.equal(path, "/v1/kernels")
    }
}

/// What a kernel's name may be: 1 to 64 bytes of A-Z a-z 0-9 '.' '_' '-', not starting with '.'
/// (so it is one path segment, a cpio name and a .cfg `kernel` value as it stands).
public enum KernelName {
    public static let maxLength = 64

    public static func isValid(_ name: ArraySlice<UInt8>) -> Bool {
        guard let first = name.first, first != 46, name.count <= maxLength else { return false }
        return name.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45
        }
    }

    public static func isValid(_ name: [UInt8]) -> Bool { isValid(name[...]) }
}
