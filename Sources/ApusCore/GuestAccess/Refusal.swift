// Refusal.swift: what a hypercall decoder answers when it will not let a request through: the errno
// the guest sees and the sentence the hypervisor logs. A refusal always means nothing changed.

import PVABI

public struct Refusal: Error, Sendable {
    public let error: XenError
    public let reason: StaticString
    public init(_ error: XenError, _ reason: StaticString) {
        self.error = error
        self.reason = reason
    }
}

/// A decoder's answer: the typed request, or a refusal.
public typealias Decoded<T> = Result<T, Refusal>
