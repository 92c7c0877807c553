/// Where one event goes.
public enum RoutingDecision: Sendable, Hashable {
    /// Stored for this tenant (the town's current NIS code).
    case tenant(String)
    /// A valid municipality that is not a tenant of this hub: counted, stored for nobody.
    case outsideRegion(String)
    /// Unknown or ambiguous location: to quarantine.
    case rejected(RowProblem)
}

/// Decides which municipality an event belongs to, and whether that town is a tenant.
///
/// By NIS code when the feed has one (a pre-2025 code of a merged town maps to the new town),
/// checked against the postal code when both are given; else by postal code, which is one-to-one
/// in Flanders except 1804 (Vilvoorde / Zemst), where the municipality name must decide.
public struct Router: Sendable {
    public let reference: ReferenceData
    public let tenants: Set<String>

    public init(reference: ReferenceData, tenants: Set<String>) {
        self.reference = reference
        self.tenants = tenants
    }

    public func route(_ event: some EventFields) -> RoutingDecision {
        switch municipality(of: event) {
        case .success(let nisCode):
            return tenants.contains(nisCode) ? .tenant(nisCode) : .outsideRegion(nisCode)
        case .failure(let problem):
            return .rejected(problem)
        }
    }

    /// The current NIS code of the municipality the event is about.
    public func municipality(of event: some EventFields) -> Result<String, RowProblem> {
        let postalCode = event.postalCode.flatMap { $0.isEmpty ? nil : $0 }
        let candidates = postalCode.map { reference.nisCodesByPostalCode[$0] ?? [] }
        if let postalCode, candidates?.isEmpty == true {
            return .failure(RowProblem(.unknownPostalCode, field: .postalCode, "postal code \(postalCode) is not a Belgian postal code in the 2025 table"))
        }
        if let given = event.nisCode, !given.isEmpty {
            guard let current = reference.currentNISCode(for: given) else {
                return .failure(RowProblem(.unknownNISCode, field: .nisCode, "NIS code \(given) is neither a current municipality nor a town merged in 2025"))
            }
            if let postalCode, let candidates, !candidates.contains(current) {
                let merged = current == given ? "" : " (merged into \(current) in 2025)"
                return .failure(RowProblem(.nisDoesNotMatchPostalCode, field: .nisCode,
                    "NIS code \(given)\(merged) does not match postal code \(postalCode), which belongs to \(candidates.joined(separator: ", "))"))
            }
            return .success(current)
        }
        guard let postalCode, let candidates else {
            return .failure(RowProblem(.noLocation, field: .postalCode, "neither a NIS code nor a postal code is given"))
        }
        if candidates.count == 1 { return .success(candidates[0]) }
        return disambiguate(postalCode: postalCode, candidates: candidates, by: event.municipality)
    }

    /// Picks one of several municipalities sharing a postal code by the municipality name.
    private func disambiguate(postalCode: String, candidates: [String], by name: String?) -> Result<String, RowProblem> {
        let options = candidates.compactMap { reference.municipalities[$0] }
        let names = options.map(\.dutchName).joined(separator: " or ")
        guard let name, !name.isEmpty else {
            return .failure(RowProblem(.ambiguousPostalCode, field: .postalCode,
                "postal code \(postalCode) is shared by \(names); the row needs a NIS code or the municipality name"))
        }
        let wanted = Router.normalized(name)
        let matches = options.filter { Router.normalized($0.dutchName) == wanted || Router.normalized($0.frenchName) == wanted }
        guard matches.count == 1 else {
            return .failure(RowProblem(.ambiguousPostalCode, field: .municipality,
                "postal code \(postalCode) is shared by \(names), and the municipality name matches neither"))
        }
        return .success(matches[0].nisCode)
    }

    /// Lower case, letters and digits only, accents folded: "Sint-Truiden" and "sint truiden" match.
    static func normalized(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.compactMap { scalar -> Character? in
            let folded = String(scalar).decomposedBase
            guard let base = folded.unicodeScalars.first,
                  base.properties.isAlphabetic || base.properties.numericType != nil else { return nil }
            return Character(base)
        })
    }
}

extension String {
    /// The first scalar of the canonical decomposition: "é" becomes "e", "ë" becomes "e".
    fileprivate var decomposedBase: String {
        guard let scalar = unicodeScalars.first else { return self }
        let table: [Character: Character] = [
            "à": "a", "á": "a", "â": "a", "ä": "a", "è": "e", "é": "e", "ê": "e", "ë": "e",
            "ì": "i", "í": "i", "î": "i", "ï": "i", "ò": "o", "ó": "o", "ô": "o", "ö": "o",
            "ù": "u", "ú": "u", "û": "u", "ü": "u", "ç": "c", "ÿ": "y", "ñ": "n",
        ]
        return table[Character(scalar)].map(String.init) ?? self
    }
}
