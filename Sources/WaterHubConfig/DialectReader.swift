import WaterHubCore
import WaterHubDialects

/// Reads the `dialect:` section of a source file into a `Dialect`, checking it completely.
enum DialectReader {
    static func read(_ node: LocatedNode) -> Dialect? {
        guard var mapping = LocatedMapping(node) else { return nil }
        defer { mapping.reportUnknownKeys() }
        var dialect = Dialect()
        dialect.columns = [:]
        let issuesBefore = node.issues.issues.count

        if let format = mapping.optional("format")?.choice([("csv", Dialect.Format.csv), ("json", .jsonArray), ("ndjson", .ndjson)]) {
            dialect.format = format
        }
        if let encoding = mapping.optional("encoding")?.choice(TextEncoding.allCases.map { ($0.rawValue, $0) }
            + [("utf8", .utf8), ("cp1252", .windows1252), ("latin-1", .latin1), ("latin1", .latin1)]) {
            dialect.encoding = encoding
        }
        let isCSV = dialect.format == .csv
        if let delimiterNode = mapping.optional("delimiter") {
            if let delimiter = delimiterNode.choice([(";", UInt8(ascii: ";")), (",", UInt8(ascii: ",")), ("tab", 0x09), ("|", UInt8(ascii: "|"))]) {
                dialect.delimiter = delimiter
            }
            if !isCSV { delimiterNode.issue("only a csv dialect has a delimiter") }
        }
        if let quoteNode = mapping.optional("quote") {
            if let quote = quoteNode.choice([("\"", UInt8(ascii: "\"") as UInt8?), ("'", UInt8(ascii: "'")), ("none", nil)]) {
                dialect.quote = quote
            }
            if dialect.quote == dialect.delimiter { quoteNode.issue("the quote character cannot be the delimiter") }
        }
        if let header = mapping.optional("header")?.flag { dialect.hasHeader = header }
        if let skip = mapping.optional("skip_lines")?.integer(in: 0...100) { dialect.skipLines = skip }
        if let formatsNode = mapping.optional("date_formats"), let patterns = formatsNode.texts {
            var formats: [DateFormat] = []
            for pattern in patterns {
                if let format = DateFormat(pattern) { formats.append(format) } else {
                    formatsNode.issue("\(pattern.debugDescription) is not a date format; use yyyy, MM, dd (and M, d, HH, mm, ss), like dd/MM/yyyy")
                }
            }
            if formats.isEmpty { formatsNode.issue("give at least one date format") } else { dialect.dateFormats = formats }
        }
        if let amountNode = mapping.optional("amount") { readAmount(amountNode, into: &dialect.amount) }
        if let columnsNode = mapping.required("columns") { readColumns(columnsNode, into: &dialect) }
        if let constantsNode = mapping.optional("constants"), var constants = LocatedMapping(constantsNode) {
            for (key, value) in constants.all() {
                guard let field = field(named: key, at: value), let text = value.text else { continue }
                if field == .type, EventType(rawValue: text) == nil, dialect.eventTypeCodes.isEmpty {
                    value.issue("\(text.debugDescription) is not an event type; use one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                dialect.constants[field] = text
            }
        }
        if let ignoreNode = mapping.optional("ignore_columns"), let names = ignoreNode.texts {
            dialect.ignoredColumns = names
            if !isCSV { ignoreNode.issue("only a csv dialect has columns to ignore; a JSON dialect reads only the paths it maps") }
        }
        if let typesNode = mapping.optional("event_types"), var types = LocatedMapping(typesNode) {
            for (code, value) in types.all() {
                guard let name = value.text else { continue }
                guard let type = EventType(rawValue: name) else {
                    value.issue("\(name.debugDescription) is not an event type; use one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
                    continue
                }
                dialect.eventTypeCodes[code] = type
            }
        }
        if let protectedNode = mapping.optional("protected_customer"), var codes = LocatedMapping(protectedNode) {
            if let yes = codes.optional("yes")?.texts { dialect.yesCodes = yes }
            if let no = codes.optional("no")?.texts { dialect.noCodes = no }
            if let unknown = codes.optional("unknown")?.texts { dialect.unknownCodes = unknown }
            let overlap = Set(dialect.yesCodes.map(Dialect.normalizedCode)).intersection(dialect.noCodes.map(Dialect.normalizedCode))
            if !overlap.isEmpty { protectedNode.issue("codes in both yes and no: \(overlap.sorted().joined(separator: ", "))") }
            codes.reportUnknownKeys()
        }
        if let typeConstant = dialect.constants[.type], !dialect.eventTypeCodes.isEmpty,
           dialect.eventTypeCodes[typeConstant] == nil, EventType(rawValue: typeConstant) == nil {
            node.issue("constants.type \(typeConstant.debugDescription) is neither a code in event_types nor an event type")
        }
        checkRequiredFields(dialect, at: node)
        return node.issues.issues.count == issuesBefore ? dialect : nil
    }

    private static func readAmount(_ node: LocatedNode, into amount: inout AmountFormat) {
        guard var mapping = LocatedMapping(node) else { return }
        if let decimal = mapping.optional("decimal_separator")?.choice([(",", Character(",")), (".", ".")]) {
            amount.decimalSeparator = decimal
        }
        if let thousandsNode = mapping.optional("thousands_separator") {
            amount.thousandsSeparator = thousandsNode.choice([(".", Character(".") as Character?), (",", ","), ("space", " "), ("'", "'"), ("none", nil)]) ?? nil
            if amount.thousandsSeparator == amount.decimalSeparator {
                thousandsNode.issue("the thousands separator cannot be the decimal separator")
            }
        }
        if let unit = mapping.optional("unit")?.choice([("euro", false), ("cents", true)]) { amount.inCents = unit }
        mapping.reportUnknownKeys()
    }

    private static func readColumns(_ node: LocatedNode, into dialect: inout Dialect) {
        guard var columns = LocatedMapping(node) else { return }
        for (key, value) in columns.all() {
            guard let field = field(named: key, at: value), let text = value.text else { continue }
            switch dialect.format {
            case .csv where dialect.hasHeader:
                dialect.columns[field] = .named(text)
            case .csv:
                guard let position = value.integer(in: 1...1000) else { continue }
                dialect.columns[field] = .position(position)
            case .jsonArray, .ndjson:
                let path = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                if path.contains(where: \.isEmpty) { value.issue("a JSON path is member names joined by '.', like klant.postcode"); continue }
                dialect.columns[field] = .path(path)
            }
        }
    }

    /// Every row needs these fields; a dialect that cannot provide them can never store anything.
    private static func checkRequiredFields(_ dialect: Dialect, at node: LocatedNode) {
        func provided(_ field: EventField) -> Bool { dialect.columns[field] != nil || dialect.constants[field] != nil }
        var lacking: [String] = []
        for field in [EventField.sourceEventID, .type, .eventDate] where !provided(field) { lacking.append(field.rawValue) }
        if !provided(.customerNumber) && !provided(.connectionID) { lacking.append("customer_number or connection_id") }
        if !provided(.nisCode) && !provided(.postalCode) { lacking.append("nis_code or postal_code") }
        if !lacking.isEmpty {
            node.issue("columns must map \(lacking.joined(separator: ", ")) (or give a constant)")
        }
    }

    private static func field(named key: String, at node: LocatedNode) -> EventField? {
        if let field = EventField(rawValue: key) { return field }
        let closest = EventField.allCases.min { editDistance($0.rawValue, key) < editDistance($1.rawValue, key) }!
        let hint = editDistance(closest.rawValue, key) <= 3 ? " (did you mean \(closest.rawValue.debugDescription)?)" : ""
        node.issue("\(key.debugDescription) is not a canonical field\(hint); fields are \(EventField.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }
}
