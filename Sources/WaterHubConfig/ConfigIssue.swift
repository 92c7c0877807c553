/// One thing wrong in the configuration: the file, the line, the key, and what to do.
public struct ConfigIssue: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, as the operator would type it (relative to the working directory when it can be).
    public let file: String
    /// The 1-based line, when the problem has one.
    public let line: Int?
    /// The dotted key path (`dialect.columns.postal_code`), when the problem is at a key.
    public let key: String?
    public let message: String

    public init(file: String, line: Int?, key: String?, _ message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `Config/sources/aquaflan.yaml:14: dialect.delimiter: expected ...`, the form editors jump to.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key, !key.isEmpty { text += "\(key): " }
        return text + message
    }
}

/// Everything wrong with a configuration, in file and line order.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues.sorted { ($0.file, $0.line ?? 0) < ($1.file, $1.line ?? 0) }
    }

    public var description: String {
        let count = issues.count == 1 ? "1 problem" : "\(issues.count) problems"
        return "The configuration has \(count):\n" + issues.map { "  " + $0.description }.joined(separator: "\n")
    }
}
