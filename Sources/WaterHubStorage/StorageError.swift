/// A storage failure with what the operator needs to act: which file, and what happened.
///
/// Messages name files and counts, never the personal data inside them.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A file was written by a newer WaterHub (it knows migrations this one does not).
        case newerSchema = "newer_schema"
        /// A spool or archive file is missing or damaged.
        case damagedFile = "damaged_file"
        /// Counts do not add up (a batch that does not balance, a town file that disagrees with the ledger).
        case inconsistent
        /// A token, batch or tenant that does not exist.
        case notFound = "not_found"
        /// The data directory is unsafe (readable by others).
        case unsafePermissions = "unsafe_permissions"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
