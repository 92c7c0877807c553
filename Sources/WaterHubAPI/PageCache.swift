import Hummingbird
import WaterHubStorage
import Synchronization

/// Answers of event pages kept in memory, each with the data version of its town file when it
/// was read: a town's systems ask for the same page (the newest events, the page after their
/// last cursor) again and again, and an unchanged file gives the same answer byte for byte.
///
/// A hit is served only when the file's data version (`TenantDatabase.dataVersion`) is still the
/// one read before the page was: any change, by any process, is a miss. The version is read
/// before the page, so a change in between makes the entry older than its data, never newer.
/// Entries are keyed by town, so one town's answer can never be another's; authentication, the
/// town check and the audit line happen for every request as before. The cache holds at most
/// `capacityBytes` (each answer counted with a fixed overhead besides its body) and at most
/// `capacityAnswers` answers, for all towns together, in memory only; the least recently used
/// go first, and an answer found out of date is dropped at once (after a purge it holds data
/// that is gone from the file).
final class PageCache: Sendable {
    struct Key: Hashable, Sendable {
        var town: String
        /// What else the answer depends on: the representation (negotiated from the query or
        /// the `Accept` header) and the query as sent (cursor, limit, filter, format; the `Link`
        /// header repeats its texts). Two spellings of one query are two keys, never a wrong hit.
        var representation: String
        var query: String
    }

    struct Answer: Sendable {
        var headers: HTTPFields
        var body: ByteBuffer
        var rows: Int
    }

    private struct Entry {
        var version: DataVersion
        var answer: Answer
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    let capacityBytes: Int
    let capacityAnswers: Int
    private let state = Mutex(State())
    /// What an answer costs besides its body (key, headers, bookkeeping), counted against the capacity.
    static let overheadBytes = 1_024

    init(capacityBytes: Int = 8 << 20, capacityAnswers: Int = 1_024) {
        self.capacityBytes = capacityBytes
        self.capacityAnswers = capacityAnswers
    }

    /// The answer stored for `key` at data version `version`, if any.
    func answer(_ key: Key, at version: DataVersion) -> Answer? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            guard entry.version == version else {
                state.entries[key] = nil
                state.bytes -= PageCache.cost(entry.answer)
                return nil
            }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.answer
        }
    }

    /// Keeps an answer read at `version` (answers larger than an eighth of the capacity are not kept).
    func store(_ answer: Answer, for key: Key, at version: DataVersion) {
        let size = PageCache.cost(answer)
        guard size <= capacityBytes / 8 else { return }
        state.withLock { state in
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= PageCache.cost(old.answer) }
            // At most `capacityAnswers` entries: finding the least recently used is a short scan.
            while state.bytes + size > capacityBytes || state.entries.count >= capacityAnswers,
                  let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                state.entries[oldest.key] = nil
                state.bytes -= PageCache.cost(oldest.value.answer)
            }
            state.clock += 1
            state.entries[key] = Entry(version: version, answer: answer, lastUse: state.clock)
            state.bytes += size
        }
    }

    private static func cost(_ answer: Answer) -> Int { answer.body.readableBytes + overheadBytes }

    /// How many answers and bytes are held (for tests and metrics).
    var usage: (answers: Int, bytes: Int) {
        state.withLock { ($0.entries.count, $0.bytes) }
    }
}
