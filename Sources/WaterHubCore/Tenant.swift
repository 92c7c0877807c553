/// A municipality whose social welfare office (OCMW) is a tenant of this hub.
public struct Tenant: Sendable, Hashable, Codable {
    /// The municipality's current (2025) NIS code: the tenant's id everywhere.
    public let nisCode: String
    /// The municipality's Dutch name.
    public let name: String

    public init(nisCode: String, name: String) {
        self.nisCode = nisCode
        self.name = name
    }

    /// The town file's name without extension, NIS code first: `11002-antwerpen`.
    public var fileStem: String {
        let slug = name.lowercased().unicodeScalars.map { scalar -> String in
            switch scalar {
            case "a"..."z", "0"..."9": return String(scalar)
            case "à", "á", "â", "ä": return "a"
            case "è", "é", "ê", "ë": return "e"
            case "ì", "í", "î", "ï": return "i"
            case "ò", "ó", "ô", "ö": return "o"
            case "ù", "ú", "û", "ü": return "u"
            default: return "-"
            }
        }.joined()
        let collapsed = slug.split(separator: "-", omittingEmptySubsequences: true).joined(separator: "-")
        return "\(nisCode)-\(collapsed)"
    }
}
