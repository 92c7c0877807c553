/// A Belgian municipality as the 2025 map knows it.
public struct Municipality: Sendable, Hashable {
    /// The 5-digit NIS (REFNIS) code; a tenant's id when the town is a tenant.
    public let nisCode: String
    public let dutchName: String
    public let frenchName: String
    /// The postal codes that lie (wholly or partly) in the municipality.
    public let postalCodes: [String]
    /// The Flemish province, or nil for Brussels and Wallonia.
    public let province: String?

    public var isFlemish: Bool { province != nil }
}

/// A municipality that ceased to exist on 1 January 2025, and the one it merged into.
public struct Merger: Sendable, Hashable {
    public let oldNISCode: String
    public let oldName: String
    public let newNISCode: String
}

/// Problems in the reference tables themselves, with the table and line.
public struct ReferenceDataError: Error, Sendable, CustomStringConvertible {
    public let table: String
    public let line: Int
    public let message: String

    public var description: String { "\(table):\(line): \(message)" }
}

/// The postal-code and NIS tables the router works from (Statbel's 2025 map and the 2025 mergers).
///
/// Built from the text of the three CSV files under `Config/reference/`; reading the files is the
/// configuration loader's job, so that this type stays free of I/O.
public struct ReferenceData: Sendable {
    /// Every Belgian municipality by NIS code.
    public let municipalities: [String: Municipality]
    /// Postal code to the NIS codes of the municipalities it serves (two for 1040, 1050, 1804).
    public let nisCodesByPostalCode: [String: [String]]
    /// Pre-2025 NIS codes of merged towns, to their merger.
    public let mergersByOldNISCode: [String: Merger]

    /// The Flemish municipalities, sorted by NIS code.
    public var flemishMunicipalities: [Municipality] {
        municipalities.values.filter(\.isFlemish).sorted { $0.nisCode < $1.nisCode }
    }

    /// Parses the tables: `postcode_refnis_2025.csv`, `municipalities_flanders_2025.csv`, `fusies_2025.csv`.
    public init(postalCodeTable: String, flemishMunicipalityTable: String, mergerTable: String) throws {
        var names: [String: (dutch: String, french: String)] = [:]
        var postalCodes: [String: [String]] = [:]
        var codesByNIS: [String: [String]] = [:]
        for (line, fields) in try ReferenceData.rows(postalCodeTable, table: "postcode_refnis_2025.csv", columns: 4) {
            let (postalCode, nisCode) = (fields[0], fields[1])
            guard ReferenceData.isDigits(postalCode, count: 4) else {
                throw ReferenceDataError(table: "postcode_refnis_2025.csv", line: line, message: "postal code must be 4 digits, got \(postalCode.debugDescription)")
            }
            guard ReferenceData.isDigits(nisCode, count: 5) else {
                throw ReferenceDataError(table: "postcode_refnis_2025.csv", line: line, message: "NIS code must be 5 digits, got \(nisCode.debugDescription)")
            }
            names[nisCode] = (fields[2], fields[3])
            postalCodes[postalCode, default: []].append(nisCode)
            codesByNIS[nisCode, default: []].append(postalCode)
        }
        var provinces: [String: String] = [:]
        for (line, fields) in try ReferenceData.rows(flemishMunicipalityTable, table: "municipalities_flanders_2025.csv", columns: 5) {
            guard names[fields[0]] != nil else {
                throw ReferenceDataError(table: "municipalities_flanders_2025.csv", line: line, message: "NIS code \(fields[0]) is not in postcode_refnis_2025.csv")
            }
            provinces[fields[0]] = fields[3]
        }
        var municipalities: [String: Municipality] = [:]
        for (nisCode, name) in names {
            municipalities[nisCode] = Municipality(
                nisCode: nisCode, dutchName: name.dutch, frenchName: name.french,
                postalCodes: codesByNIS[nisCode, default: []], province: provinces[nisCode])
        }
        var mergers: [String: Merger] = [:]
        for (line, fields) in try ReferenceData.rows(mergerTable, table: "fusies_2025.csv", columns: 5) {
            guard municipalities[fields[2]] != nil else {
                throw ReferenceDataError(table: "fusies_2025.csv", line: line, message: "new NIS code \(fields[2]) is not in postcode_refnis_2025.csv")
            }
            mergers[fields[0]] = Merger(oldNISCode: fields[0], oldName: fields[1], newNISCode: fields[2])
        }
        self.municipalities = municipalities
        self.nisCodesByPostalCode = postalCodes
        self.mergersByOldNISCode = mergers
    }

    /// The NIS code in force since 2025 for a code that may be a pre-2025 code of a merged town.
    public func currentNISCode(for code: String) -> String? {
        if let merger = mergersByOldNISCode[code] { return merger.newNISCode }
        return municipalities[code] == nil ? nil : code
    }

    /// Data rows of a `;`-separated table with a header, with their 1-based line numbers.
    static func rows(_ text: String, table: String, columns: Int) throws -> [(Int, [String])] {
        var result: [(Int, [String])] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where index > 0 {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty { continue }
            let fields = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == columns else {
                throw ReferenceDataError(table: table, line: index + 1, message: "expected \(columns) fields separated by ';', got \(fields.count)")
            }
            result.append((index + 1, fields))
        }
        return result
    }

    static func isDigits(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
