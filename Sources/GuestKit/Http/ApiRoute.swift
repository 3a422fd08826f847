// ApiRoute.swift: what a request to dom0's HTTP API asks for, decided from its method, path and
// Authorization header before anything acts: the endpoint (with the domain it names), or the error it
// gets (401, 404, 405). Pure: it never touches a domain, and it never logs or returns the token.

public enum ApiRoute: Equatable, Sendable {
    /// GET /v1/host
    case host
    /// GET /v1/domains
    case domains
    /// GET /v1/domains/{id|name}
    case domain(DomainReference)
    /// DELETE /v1/domains/{id|name}
    case destroyDomain(DomainReference)
    /// POST /v1/domains (the body is the configuration)
    case createDomain
    /// POST /v1/domains/{id|name}/pause
    case pauseDomain(DomainReference)
    /// POST /v1/domains/{id|name}/unpause
    case unpauseDomain(DomainReference)
    /// POST /v1/domains/{id|name}/shutdown (asks the guest through control/shutdown)
    case shutdownDomain(DomainReference)
    /// POST /v1/domains/{id|name}/reboot (asks the guest through control/shutdown)
    case rebootDomain(DomainReference)
    /// PATCH /v1/domains/{id|name} (the body is a DomainPatch)
    case updateDomain(DomainReference)
    /// /v1/kernels and /v1/kernels/{name} (KernelRoute.swift)
    case kernels(KernelRoute)
    /// GET /v1/domains/{id|name}/console (the query is ConsoleQuery's)
    case console(DomainReference)
    /// POST /v1/domains/{id|name}/console (the body goes to the domain's console input ring)
    case consoleInput(DomainReference)
    /// GET /v1/events (a text/event-stream of lifecycle events; ServerSentEvents)
    case events
    case refused(HttpError)

    /// The route of `request`, for a server whose API token is `token` (never empty).
    public static func decide(_ request: HttpRequest, token: [UInt8]) -> ApiRoute {
        guard authorized(request, token: token) else { return .refused(HttpError(401, "missing or wrong bearer token")) }
        var path = request.path
        // One trailing slash is forgiven.
        if path.count > 1, path.last == 47 { path = path.dropLast() }
        let get = request.method == .get || request.method == .head
        if HttpBytes.equal(path, "/v1/host") {
            return get ? .host : .refused(HttpError(405, "method not allowed on /v1/host"))
        }
        if HttpBytes.equal(path, "/v1/events") {
            return request.method == .get ? .events : .refused(HttpError(405, "method not allowed on /v1/events; use GET"))
        }
        if HttpBytes.equal(path, "/v1/domains") {
            if request.method == .post { return .createDomain }
            return get ? .domains : .refused(HttpError(405, "method not allowed on /v1/domains"))
        }
        if let kernels = KernelRoute.decide(request.method, path) { return kernels }
        let prefix = HttpBytes.bytes("/v1/domains/")
        if path.count > prefix.count, path.starts(with: prefix) {
            var word = path.dropFirst(prefix.count)
            var action: ArraySlice<UInt8> = []
            if let slash = word.firstIndex(of: 47) {
                action = word[(slash + 1)...]
                word = word[..<slash]
            }
            guard !word.isEmpty, word.count <= 64, word.allSatisfy({ HttpBytes.isTokenChar($0) && $0 != 37 }) else {
                return .refused(HttpError(404, "no such domain"))
            }
            let ref = DomainReference(Array(word))
            if HttpBytes.equal(action, "console") { return consoleRoute(request.method, ref) }
            if !action.isEmpty {
                let verbs: [(StaticString, ApiRoute)] = [
                    ("pause", .pauseDomain(ref)), ("unpause", .unpauseDomain(ref)),
                    ("shutdown", .shutdownDomain(ref)), ("reboot", .rebootDomain(ref)),
                ]
                guard let verb = verbs.first(where: { HttpBytes.equal(action, $0.0) }) else { return .refused(HttpError(404, "no such endpoint")) }
                guard request.method == .post else { return .refused(HttpError(405, "method not allowed; use POST")) }
                return verb.1
            }
            if get { return .domain(ref) }
            if request.method == .delete { return .destroyDomain(ref) }
            if request.method == .patch { return .updateDomain(ref) }
            return .refused(HttpError(405, "method not allowed on /v1/domains/{id}"))
        }
        return .refused(HttpError(404, "no such endpoint"))
    }

    /// /v1/domains/{id|name}/console: GET (or HEAD) reads, POST types.
    static func consoleRoute(_ method: HttpMethod, _ ref: DomainReference) -> ApiRoute {
        switch method {
        case .get, .head: return .console(ref)
        case .post: return .consoleInput(ref)
        default: return .refused(HttpError(405, "method not allowed on /v1/domains/{id}/console; use GET or POST"))
        }
    }

    /// Whether the request carries `Authorization: Bearer <token>`; the compare takes the same time
    /// wherever the first difference is.
    public static func authorized(_ request: HttpRequest, token: [UInt8]) -> Bool {
        guard !token.isEmpty, let value = request.header("authorization") else { return false }
        guard value.count > 7, HttpBytes.equalFolded(value.prefix(7), "bearer ") else { return false }
        var given = Array(value.dropFirst(7))
        while let f = given.first, f == 32 { given.removeFirst() }
        return HttpBytes.constantTimeEqual(given, token)
    }
}
