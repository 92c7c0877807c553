import Foundation
import GRDB

/// CHECK constraints for a column restricted to a list of codes, in the form SQLite evaluates
/// cheaply.
///
/// SQLite evaluates `x IN ('a', 'b', 'c')` (three or more constants) through a temporary lookup
/// table, which it builds anew for every execution of a statement: for the ingest's prepared
/// INSERT, run once per event, that is on every row. On a 1,000,000-row ingest the town files'
/// CHECKs written that way took about a third of the CPU time (Ops/bench: 19.4 s -> 14.4 s
/// with them switched off). The same rule written as a chain of `=` costs a few comparisons.
enum CodeCheck {
    /// `column IN ('a', 'b', 'c')`: how the first migrations wrote the rule.
    static func inList(_ column: String, _ codes: [String]) -> String {
        "\(column) IN (\(codes.map { "'\($0)'" }.joined(separator: ", ")))"
    }

    /// `(column = 'a' OR column = 'b' OR column = 'c')`: the same rule (NULL passes both, as
    /// CHECK lets NULL pass).
    static func oneOf(_ column: String, _ codes: [String]) -> String {
        "(\(codes.map { "\(column) = '\($0)'" }.joined(separator: " OR ")))"
    }

    /// The rewrites that turn `IN` lists into `oneOf` chains (migration v6).
    static func inListsAsOneOf(_ lists: [(column: String, codes: [String])]) -> [(old: String, new: String)] {
        lists.map { (inList($0.column, $0.codes), oneOf($0.column, $0.codes)) }
    }

    /// Rebuilds a table with parts of its definition rewritten (SQLite cannot change a CHECK or
    /// a column's AUTOINCREMENT or NOT NULL in place): `IN` lists into `oneOf` chains, a chain into
    /// one with a new code, `AUTOINCREMENT` or `NOT NULL` dropped. The same columns in the same
    /// order, every row, its indexes, and its AUTOINCREMENT counter (which may be above the
    /// largest row id left after rows were deleted): kept in `sqlite_sequence` while the rebuilt
    /// table is AUTOINCREMENT, returned either way. Runs inside a migration (foreign keys are checked at its end).
    @discardableResult
    static func rebuild(_ table: String, rewriting rewrites: [(old: String, new: String)], in db: Database) throws -> Int64? {
        guard var sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", arguments: [table]) else {
            throw StorageError(.damagedFile, "the table \(table) is missing")
        }
        for (old, new) in rewrites {
            guard sql.contains(old) else { throw StorageError(.inconsistent, "the table \(table) has no `\(old)` to rewrite") }
            sql = sql.replacingOccurrences(of: old, with: new)
        }
        // `CREATE TABLE name (` as created, `CREATE TABLE "name" (` after an earlier rebuild's rename.
        guard let columns = sql.firstIndex(of: "("),
              sql[..<columns].replacingOccurrences(of: "\"", with: "").trimmingCharacters(in: .whitespaces) == "CREATE TABLE \(table)" else {
            throw StorageError(.inconsistent, "unexpected definition of the table \(table)")
        }
        let rebuilt = "\(table)_rebuilt"
        let indexes = try String.fetchAll(db, sql: "SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                                          arguments: [table])
        let counter = try db.tableExists("sqlite_sequence")
            ? Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table]) : nil
        try db.execute(sql: "CREATE TABLE \(rebuilt) " + sql[columns...])
        try db.execute(sql: "INSERT INTO \(rebuilt) SELECT * FROM \(table)")
        try db.execute(sql: "DROP TABLE \(table)")
        try db.execute(sql: "ALTER TABLE \(rebuilt) RENAME TO \(table)")
        for index in indexes { try db.execute(sql: index) }
        if let counter, sql.range(of: "AUTOINCREMENT", options: .caseInsensitive) != nil {
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", arguments: [counter, table])
            if db.changesCount == 0 {
                try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", arguments: [table, counter])
            }
        }
        return counter
    }
}
