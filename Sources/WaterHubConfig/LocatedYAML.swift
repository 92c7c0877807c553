import Yams

/// A YAML value with where it stands: the file, the line, and its key path.
///
/// The loader reads every value through this type, so that each complaint can say exactly
/// where the operator must look. Scalars are read as text and typed here (not by YAML's own
/// rules), so a postal code like `0800` or a NIS code like `11002` stays exactly as written.
struct LocatedNode {
    let node: Node
    let file: String
    let path: String
    let issues: IssueCollector
    /// The line of the key this value belongs to, when it is a mapping's value: a complaint
    /// about a nested section points at its key, not at its first child.
    var keyLine: Int?

    var line: Int? { keyLine ?? node.mark?.line }

    func issue(_ message: String) {
        issues.add(ConfigIssue(file: file, line: line, key: path, message))
    }

    func child(_ node: Node, key: String, keyLine: Int? = nil) -> LocatedNode {
        LocatedNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)", issues: issues, keyLine: keyLine)
    }

    /// The pairs of a mapping, or nil (with an issue) when this is not a mapping.
    var pairs: [(key: String, value: LocatedNode)]? {
        guard case .mapping(let mapping) = node else {
            issue("expected a mapping of keys to values")
            return nil
        }
        return mapping.map { pair in
            let key = pair.key.scalar?.string ?? "?"
            return (key, child(pair.value, key: key, keyLine: pair.key.mark?.line))
        }
    }

    /// The elements of a sequence, or nil (with an issue) when this is not a sequence.
    var elements: [LocatedNode]? {
        guard case .sequence(let sequence) = node else {
            issue("expected a list")
            return nil
        }
        return sequence.enumerated().map { index, element in
            LocatedNode(node: element, file: file, path: "\(path)[\(index + 1)]", issues: issues)
        }
    }

    /// The scalar text, or nil (with an issue) when this is a mapping or a list.
    var text: String? {
        guard case .scalar(let scalar) = node else {
            issue("expected a single value, not a mapping or a list")
            return nil
        }
        return scalar.string
    }

    /// A whole number within `range`.
    func integer(in range: ClosedRange<Int>) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            issue("expected a whole number from \(range.lowerBound) to \(range.upperBound), got \(text.debugDescription)")
            return nil
        }
        return value
    }

    /// `true`/`false` (also `yes`/`no`).
    var flag: Bool? {
        guard let text else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            issue("expected true or false, got \(text.debugDescription)")
            return nil
        }
    }

    /// A list of text values; a single value counts as a list of one.
    var texts: [String]? {
        if case .scalar(let scalar) = node { return [scalar.string] }
        return elements?.compactMap(\.text)
    }

    /// One of a fixed set of words.
    func choice<T>(_ options: [(String, T)]) -> T? {
        guard let text else { return nil }
        if let match = options.first(where: { $0.0 == text.lowercased() }) { return match.1 }
        issue("expected one of \(options.map { $0.0 }.joined(separator: ", ")), got \(text.debugDescription)")
        return nil
    }
}

/// A mapping read key by key; at the end, every key nobody asked for is reported as unknown,
/// with the closest known key as a hint (a misspelt key must not be silently ignored).
struct LocatedMapping {
    let owner: LocatedNode
    private var values: [String: LocatedNode] = [:]
    private var order: [String] = []
    private var asked = Set<String>()

    init?(_ node: LocatedNode) {
        guard let pairs = node.pairs else { return nil }
        owner = node
        for (key, value) in pairs {
            if values[key] != nil { value.issue("the key appears twice") }
            values[key] = value
            order.append(key)
        }
    }

    /// The value of an optional key.
    mutating func optional(_ key: String) -> LocatedNode? {
        asked.insert(key)
        return values[key]
    }

    /// The value of a required key; reports it missing otherwise.
    mutating func required(_ key: String) -> LocatedNode? {
        asked.insert(key)
        guard let value = values[key] else {
            owner.issues.add(ConfigIssue(file: owner.file, line: owner.line, key: owner.path.isEmpty ? key : "\(owner.path).\(key)",
                                         "this key is required"))
            return nil
        }
        return value
    }

    /// Every key in file order (for maps whose keys are data, such as column mappings).
    mutating func all() -> [(key: String, value: LocatedNode)] {
        asked.formUnion(order)
        return order.map { ($0, values[$0]!) }
    }

    /// Reports the keys nobody asked for.
    func reportUnknownKeys() {
        for key in order where !asked.contains(key) {
            let hint = asked.min { editDistance($0, key) < editDistance($1, key) }
                .flatMap { editDistance($0, key) <= 2 ? " (did you mean \($0.debugDescription)?)" : nil } ?? ""
            let known = asked.sorted().joined(separator: ", ")
            values[key]!.issue("unknown key\(hint); known keys here: \(known)")
        }
    }
}

/// Collects issues from everywhere in the loader (a class so nested readers can share it).
final class IssueCollector: @unchecked Sendable {
    // Only used on the loading thread, from start to end of one `ConfigurationLoader.load`;
    // never shared across threads, so no lock is needed.
    private(set) var issues: [ConfigIssue] = []

    func add(_ issue: ConfigIssue) { issues.append(issue) }
}

/// Levenshtein distance, for "did you mean" hints on misspelt keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// Parses a YAML file's text into a located root, or reports the syntax error with its line.
func parseYAML(_ text: String, file: String, issues: IssueCollector) -> LocatedNode? {
    do {
        // Only the texts are read (LocatedNode converts them itself), so no tag is resolved: the
        // default resolver compiles seven ICU regular expressions at start for tags nobody reads.
        guard let root = try Yams.compose(yaml: text, .basic) else {
            issues.add(ConfigIssue(file: file, line: nil, key: nil, "the file is empty"))
            return nil
        }
        return LocatedNode(node: root, file: file, path: "", issues: issues)
    } catch let error as YamlError {
        issues.add(yamlIssue(error, file: file))
        return nil
    } catch {
        issues.add(ConfigIssue(file: file, line: nil, key: nil, "cannot read the YAML: \(error)"))
        return nil
    }
}

private func yamlIssue(_ error: YamlError, file: String) -> ConfigIssue {
    switch error {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
         .composer(let context, let problem, let mark, _):
        let detail = context.map { "\($0.text) " } ?? ""
        return ConfigIssue(file: file, line: mark.line, key: nil, "YAML syntax: \(detail)\(problem)")
    case .duplicatedKeysInMapping(let duplicates, let context):
        return ConfigIssue(file: file, line: context.mark.line, key: nil, "a key appears twice: \(duplicates.joined(separator: ", "))")
    default:
        return ConfigIssue(file: file, line: nil, key: nil, "YAML: \(error)")
    }
}
