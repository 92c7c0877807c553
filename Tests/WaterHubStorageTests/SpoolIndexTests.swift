import Foundation
import Testing
import WaterHubCore
@testable import WaterHubStorage
import WaterHubTestSupport

/// A batch's town spools are chunks of one file per routing part; the index says where each
/// town's lie, and a reader reads them as one spool.
@Suite struct SpoolIndexTests {
    let directory = TemporaryDirectory("spool-index")

    /// Two towns' records interleaved in chunks of two files, as two routing parts write them.
    func writeTwoParts() throws -> SpoolIndex {
        var towns: [String: [SpoolSegment]] = [:]
        for part in 0..<2 {
            let chunks = try SpoolChunks(path: "\(directory.path)/towns.spool" + (part == 0 ? "" : ".part\(part)"))
            let writers = ["11002": SpoolWriter(chunksIn: chunks, key: "11002"), "44021": SpoolWriter(chunksIn: chunks, key: "44021")]
            for index in 0..<600 {
                let town = index % 3 == 0 ? "44021" : "11002"
                try writers[town]!.append([Array("\(town) part \(part) record \(index)".utf8), Array(repeating: 0x78, count: 90)])
            }
            for (town, writer) in writers {
                try writer.close()
                towns[town, default: []] += chunks.segments(town)
            }
        }
        return SpoolIndex(towns: towns)
    }

    func records(_ segments: [SpoolSegment]) throws -> (texts: [String], damaged: Bool) {
        var reader = try SpoolReader(segments: segments)
        var texts: [String] = []
        while let fields = reader.next() { texts.append(String(decoding: fields[0]!, as: UTF8.self)) }
        return (texts, reader.damaged)
    }

    @Test func eachTownReadsItsRecordsInOrderThroughTheIndexWrittenAndReadBack() throws {
        let index = try writeTwoParts()
        #expect(index.towns["11002"]!.count > 4 && Set(index.towns["11002"]!.map(\.path)).count == 2)
        try index.write(to: directory.path)
        let read = try SpoolIndex(folder: directory.path)
        #expect(read == index)
        for town in ["11002", "44021"] {
            let expected = (0..<2).flatMap { part in
                (0..<600).filter { ($0 % 3 == 0) == (town == "44021") }.map { "\(town) part \(part) record \($0)" }
            }
            let (texts, damaged) = try records(read.towns[town]!)
            #expect(texts == expected && !damaged)
        }
    }

    @Test func aPieceShorterThanItsIndexSaysIsDamaged() throws {
        let index = try writeTwoParts()
        let handle = try #require(FileHandle(forUpdatingAtPath: "\(directory.path)/towns.spool.part1"))
        try handle.truncate(atOffset: 20_000)
        try handle.close()
        #expect(try records(index.towns["11002"]!).damaged)
        #expect(try records(index.towns["44021"]!).damaged)
    }

    @Test func aMissingCutShortOrMalformedIndexIsADamagedFile() throws {
        #expect(throws: StorageError.self) { try SpoolIndex(folder: directory.path) }
        try writeTwoParts().write(to: directory.path)
        let path = "\(directory.path)/\(SpoolIndex.fileName)"
        let whole = try String(contentsOfFile: path, encoding: .utf8)
        let lines = whole.split(separator: "\n", omittingEmptySubsequences: false)
        let damaged = [
            lines.dropLast(2).joined(separator: "\n") + "\n",                       // the end line lost
            whole.replacingOccurrences(of: "towns.spool.part1:", with: "../elsewhere:"), // a file outside the folder
            whole.replacingOccurrences(of: ":0:", with: ":-1:"),                     // an offset below zero
            lines[0] + "\n" + lines[1] + "\n" + lines[1] + "\nend 2\n",             // a town twice
        ]
        for text in damaged {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            #expect(throws: StorageError.self, "\(text.prefix(80))") { try SpoolIndex(folder: directory.path) }
        }
    }
}
