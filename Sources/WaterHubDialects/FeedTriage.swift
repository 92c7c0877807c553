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
        while let row = try decoder.next() {
            if let lines, !lines.contains(row.line) { continue }
            // The event moves on into the decision: a copy would retain and release each of its strings.
            let (line, result) = row.parts()
            switch consume result {
            case .success(let event):
                switch router.route(event) {
                case .tenant(let nisCode): return .routed(tenant: nisCode, event: event, line: line)
                case .outsideRegion(let nisCode): return .outsideRegion(municipality: nisCode, line: line)
                case .rejected(let problem): return .quarantined(problem: problem, line: line, raw: decoder.rawRecord)
                }
            case .failure(let problem):
                return .quarantined(problem: problem, line: line, raw: decoder.rawRecord)
            }
        }
        return nil
    }
}
