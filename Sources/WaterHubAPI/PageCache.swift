import Hummingbird
import WaterHubStorage
import Synchronization

/// Answers of event pages kept in memory, per town with the data version of its town file when
/// they were read: a town's systems ask for the same page (the newest events, the page after
/// their last cursor) again and again, and an unchanged file gives the same answer byte for byte.
///
/// A hit is served only when the file's data version (`TenantDatabase.dataVersion`) is still the
/// one read before the page was: any change, by any process, is a miss, and the first request
/// that sees a town's file changed drops every answer kept for that town (after a purge they
/// hold data that is gone from the file). The version is read before the page, so a change in
/// between makes an answer older than its data, never newer. Answers are kept by town, so one
/// town's answer can never be another's; authentication, the town check and the audit line
/// happen for every request as before. The cache holds at most `capacityBytes` (each answer
/// counted with a fixed overhead besides its body) and at most `capacityAnswers` answers, for
/// all towns together, in memory only; when full, the least recently used eighth goes at once.
public final class PageCache: Sendable {
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

    private struct Page {
        var answer: Answer
        var lastUse: UInt64

        mutating func use(at clock: UInt64) -> Answer {
            lastUse = clock
            return answer
        }
    }

    /// One town's kept answers, all read at the same data version of its file.
    private struct Town {
        var version: DataVersion
        var pages: [Key: Page] = [:]
    }

    private struct State {
        var towns: [String: Town] = [:]
        var answers = 0
        var bytes = 0
        var clock: UInt64 = 0
        var hits = 0

        mutating func drop(town: String) {
            guard let dropped = towns.removeValue(forKey: town) else { return }
            answers -= dropped.pages.count
            bytes -= dropped.pages.values.reduce(0) { $0 + PageCache.cost($1.answer) }
        }

        mutating func remove(_ key: Key) {
            guard let page = towns[key.town]?.pages.removeValue(forKey: key) else { return }
            answers -= 1
            bytes -= PageCache.cost(page.answer)
        }
    }

    let capacityBytes: Int
    let capacityAnswers: Int
    private let state = Mutex(State())
    /// What an answer costs besides its body (key, headers, bookkeeping), counted against the capacity.
    static let overheadBytes = 1_024

    public init(capacityBytes: Int = 8 << 20, capacityAnswers: Int = 1_024) {
        self.capacityBytes = capacityBytes
        self.capacityAnswers = capacityAnswers
    }

    /// The answer stored for `key` at data version `version`, if any.
    func answer(_ key: Key, at version: DataVersion) -> Answer? {
        state.withLock { state in
            // No copy of the town is held while its page is marked (that would copy its pages).
            guard let kept = state.towns[key.town]?.version else { return nil }
            guard kept == version else {
                state.drop(town: key.town)
                return nil
            }
            state.clock += 1
            guard let answer = state.towns[key.town]?.pages[key]?.use(at: state.clock) else { return nil }
            state.hits += 1
            return answer
        }
    }

    /// Keeps an answer read at `version` (answers larger than an eighth of the capacity are not kept).
    func store(_ answer: Answer, for key: Key, at version: DataVersion) {
        let size = PageCache.cost(answer)
        guard size <= capacityBytes / 8 else { return }
        state.withLock { state in
            // Read at another version than the town's kept pages: a late store of an older
            // read, or a newer one that `answer` will see first. Either way, nothing to keep.
            if let town = state.towns[key.town], town.version != version { return }
            state.remove(key)
            if state.answers >= capacityAnswers || state.bytes + size > capacityBytes {
                evictLeastRecentlyUsed(&state, making: size)
            }
            state.clock += 1
            state.towns[key.town, default: Town(version: version)].pages[key] = Page(answer: answer, lastUse: state.clock)
            state.answers += 1
            state.bytes += size
        }
    }

    /// Drops the least recently used answers until an eighth of the room is free besides `size`:
    /// one sort now and then rather than a search through every answer on every store.
    private func evictLeastRecentlyUsed(_ state: inout State, making size: Int) {
        let answers = capacityAnswers - max(1, capacityAnswers / 8), bytes = capacityBytes - capacityBytes / 8 - size
        let byAge = state.towns.values.flatMap { $0.pages.map { (key: $0.key, lastUse: $0.value.lastUse) } }.sorted { $0.lastUse < $1.lastUse }
        for page in byAge where state.answers > answers || state.bytes > bytes {
            state.remove(page.key)
            if state.towns[page.key.town]?.pages.isEmpty == true { state.towns[page.key.town] = nil }
        }
    }

    private static func cost(_ answer: Answer) -> Int { answer.body.readableBytes + overheadBytes }

    /// How many answers and bytes are held, and how many requests were answered from memory
    /// (for tests and metrics).
    public var usage: (answers: Int, bytes: Int, hits: Int) {
        state.withLock { ($0.answers, $0.bytes, $0.hits) }
    }
}
