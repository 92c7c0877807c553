import Foundation
import Testing
@testable import WaterHubStorage
import WaterHubTestSupport

/// Files built apart are put in place by the publisher's thread: linked under their name, never
/// over a file already there, and the hidden name is gone in every case.
@Suite struct FilePublisherTests {
    let directory = TemporaryDirectory("publisher")

    func build(_ name: String, _ text: String) throws -> String {
        let path = "\(directory.path)/.\(name).new-\(UUID().uuidString)"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func hiddenFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
    }

    @Test func manyFilesPublishedAtOnceAreAllPlacedWithTheirOwnContent() async throws {
        let names = (0..<40).map { "town\($0).sqlite" }
        let placed = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for name in names {
                let building = try build(name, "content of \(name)")
                group.addTask { (name, try await FilePublisher.shared.publish(building, as: "\(directory.path)/\(name)")) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(placed.count == 40 && placed.values.allSatisfy { $0 })
        for name in names {
            #expect(try String(contentsOfFile: "\(directory.path)/\(name)", encoding: .utf8) == "content of \(name)")
        }
        #expect(try hiddenFiles().isEmpty)
    }

    @Test func aFileAlreadyThereStaysAndTheBuiltOneIsRemoved() async throws {
        let path = "\(directory.path)/gent.sqlite"
        try "written by another process".write(toFile: path, atomically: false, encoding: .utf8)
        let building = try build("gent.sqlite", "built here")
        #expect(try await FilePublisher.shared.publish(building, as: path) == false)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "written by another process")
        #expect(try hiddenFiles().isEmpty)
    }

    @Test func aFileThatCannotBePlacedFailsAndLeavesNothing() async throws {
        let building = try build("leuven.sqlite", "built here")
        await #expect(throws: (any Error).self) {
            try await FilePublisher.shared.publish(building, as: "\(directory.path)/no-such-folder/leuven.sqlite")
        }
        #expect(try hiddenFiles().isEmpty)
        let missing = "\(directory.path)/.gone.new-\(UUID().uuidString)"
        await #expect(throws: (any Error).self) { try await FilePublisher.shared.publish(missing, as: "\(directory.path)/gone.sqlite") }
        #expect(!FileManager.default.fileExists(atPath: "\(directory.path)/gone.sqlite"))
    }
}
