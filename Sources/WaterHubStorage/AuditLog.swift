/// Writes audit entries with group commit: every request waits until its entry is committed,
/// but all the requests waiting at that moment share one transaction.
///
/// Under load this turns a commit per request into a commit per group (32 concurrent requests,
/// one commit); a lone request costs one small commit. Nothing is acknowledged unwritten.
public actor AuditLog {
    private let ledger: Ledger
    private var pending: [(entry: AuditEntry, done: CheckedContinuation<Void, Never>)] = []
    private var flushing = false
    private var failures = 0

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    /// Records one entry; returns when it is committed (or after its write failed and was logged).
    public func record(_ entry: AuditEntry) async {
        await withCheckedContinuation { continuation in
            pending.append((entry, continuation))
            guard !flushing else { return }
            flushing = true
            Task { await self.flush() }
        }
    }

    /// How many group writes failed since start (the caller logs them).
    public var failedWrites: Int { failures }

    private func flush() async {
        while !pending.isEmpty {
            let group = pending
            pending.removeAll(keepingCapacity: true)
            do {
                try await ledger.recordAudit(group.map(\.entry))
            } catch {
                failures += 1
            }
            for waiting in group { waiting.done.resume() }
        }
        flushing = false
    }
}
