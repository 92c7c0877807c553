import Foundation
import WaterHubCore

/// Paths in the repository, found from this file's location (tests run from any directory).
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built-in demo configuration.
    public static var config: String { "\(root)/Config" }
    /// The committed demo feeds.
    public static var demoFeeds: String { "\(root)/Ops/demo-feeds" }

    /// The reference tables of `Config/reference/`, loaded once.
    public static let reference: ReferenceData = {
        func read(_ name: String) -> String {
            try! String(contentsOfFile: "\(config)/reference/\(name)", encoding: .utf8)
        }
        return try! ReferenceData(postalCodeTable: read("postcode_refnis_2025.csv"),
                                  flemishMunicipalityTable: read("municipalities_flanders_2025.csv"),
                                  mergerTable: read("fusies_2025.csv"))
    }()
}

/// A fresh directory under the system's temporary folder, removed when the test is done.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "waterhub") {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes a file (creating folders) and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String) -> String {
        write(name, Data(contents.utf8))
    }

    @discardableResult
    public func write(_ name: String, _ data: Data) -> String {
        let file = "\(path)/\(name)"
        try! FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: data)
        return file
    }
}

extension CalendarDate {
    /// A date from `yyyy-MM-dd`, for test literals.
    public static func day(_ iso: String) -> CalendarDate { CalendarDate(iso: iso)! }
}
