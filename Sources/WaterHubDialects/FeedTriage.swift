import WaterHubCore

/// Where one row of a feed ends: stored for a town, counted as outside the region, or held in
/// quarantine with the reason. Every row ends in exactly one of them.
public enum RowDecision: Sendable {
    case routed(tenant: String, event: Event, line: Int)
    case outsideRegion(municipality: String, line: Int)
    case quarantined(problem: RowProblem, line: Int, raw: [UInt8])

    /// The line the row starts on.
    public var line: Int {
        switch self {
        case .routed(_, _, let line), .outsideRegion(_, let line), .quarantined(_, let line, _): line
        }
    }
}

/// Reads a feed in its dialect and sorts every row: decoded, validated and routed to a town,
/// or held back with the reason. Pure: no files, no database; streaming, so memory is bounded.
public struct FeedTriage<Source: ByteSource> {
    private var decoder: FeedDecoder<Source>
    private let router: Router
    /// Only rows on these lines are sorted (for releasing held rows); nil means every row.
    private let lines: Set<Int>?

    /// Opens the feed; throws a `FeedError` when the whole file is unusable (header, syntax).
    public init(source: Source, sourceID: String, dialect: Dialect, router: Router, rules: EventRules = EventRules(),
                today: CalendarDate, onlyLines lines: Set<Int>? = nil) throws {
        decoder = try FeedDecoder(source: source, sourceID: sourceID, dialect: dialect, rules: rules, today: today)
        self.router = router
        self.lines = lines
    }

    /// Sorts a later part of a CSV file (see `FeedDecoder.init(part:startingAt:layout:...)`).
    public init(part source: Source, startingAt line: Int, layout: FeedDecoder<Source>.CSVLayout, sourceID: String, dialect: Dialect,
                router: Router, rules: EventRules = EventRules(), today: CalendarDate) {
        decoder = FeedDecoder(part: source, startingAt: line, layout: layout, sourceID: sourceID, dialect: dialect, rules: rules, today: today)
        self.router = router
        self.lines = nil
    }

    /// The layout of a CSV file's rows, for the parts read apart (nil for JSON).
    public var csvLayout: FeedDecoder<Source>.CSVLayout? { decoder.csvLayout }

    /// Fingerprints of the event ids accepted so far (see `FeedDecoder.acceptedIDs`).
    public var acceptedIDs: FingerprintSet { decoder.acceptedIDs }

    /// The next row's decision, or nil at the end of the file.
    public mutating func next() throws -> RowDecision? {
        guard let (line, decision) = try nextRoute() else { return nil }
        switch decision {
        case .tenant(let nisCode): return .routed(tenant: nisCode, event: row.event(), line: line)
        case .outsideRegion(let nisCode): return .outsideRegion(municipality: nisCode, line: line)
        case .rejected(let problem): return .quarantined(problem: problem, line: line, raw: rawRecord)
        }
    }

    /// The next row's line and where it goes, as `next()` decides it, without making an `Event`:
    /// for `.tenant`, `row` holds the event; for `.rejected`, `rawRecord` holds the row's bytes
    /// (both until the next call). Nil at the end of the file.
    public mutating func nextRoute() throws -> (line: Int, decision: RoutingDecision)? {
        while let (line, problem) = try decoder.nextRecord() {
            if let lines, !lines.contains(line) { continue }
            if let problem { return (line, .rejected(problem)) }
            return (line, router.route(decoder.row))
        }
        return nil
    }

    /// The current row's event, after `nextRoute` sent it to a town.
    public var row: FeedRow { decoder.row }

    /// The current row's bytes as they stood in the file.
    public var rawRecord: [UInt8] { decoder.rawRecord }
}
