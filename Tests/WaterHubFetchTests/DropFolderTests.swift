import Crypto
import Foundation
import Testing
import WaterHubFetch
import WaterHubTestSupport

/// Listing a local drop folder by glob, and fetching what it lists through libcurl as file://.
@Suite struct DropFolderTests {
    /// Writes a file and sets its modification time to `secondsAgo` before now.
    @discardableResult
    private func drop(_ name: String, in directory: TemporaryDirectory, secondsAgo: TimeInterval, _ text: String = sampleFeed) throws -> String {
        let path = directory.write(name, text)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -secondsAgo)], ofItemAtPath: path)
        return path
    }

    @Test func listsOnlyMatchingRegularFilesOrderedByName() throws {
        let directory = TemporaryDirectory("drop")
        try drop("aquaflan-2025-02.csv", in: directory, secondsAgo: 300)
        try drop("aquaflan-2024-12.csv", in: directory, secondsAgo: 100)
        try drop("aquaflan-2025-01.csv", in: directory, secondsAgo: 200)
        try drop("farys-2025-01.csv", in: directory, secondsAgo: 200)
        try drop("aquaflan-notes.txt", in: directory, secondsAgo: 200)
        try drop(".aquaflan-upload.csv", in: directory, secondsAgo: 200)
        try FileManager.default.createDirectory(atPath: "\(directory.path)/aquaflan-archive.csv", withIntermediateDirectories: true)

        let files = try DropFolder(pattern: "\(directory.path)/aquaflan-*.csv").files()

        #expect(files.map(\.name) == ["aquaflan-2024-12.csv", "aquaflan-2025-01.csv", "aquaflan-2025-02.csv"])
        #expect(files.allSatisfy { $0.size == Int64(sampleFeed.utf8.count) && $0.path.hasPrefix(directory.path + "/") })
    }

    @Test func sameNameInSeveralFoldersIsOrderedByModificationTime() throws {
        let directory = TemporaryDirectory("drop")
        try drop("b/aquaflan.csv", in: directory, secondsAgo: 100)
        try drop("a/aquaflan.csv", in: directory, secondsAgo: 50)
        try drop("c/aquaflan.csv", in: directory, secondsAgo: 300)

        let files = try DropFolder(pattern: "\(directory.path)/*/aquaflan.csv").files()

        #expect(files.map(\.path) == ["c", "b", "a"].map { "\(directory.path)/\($0)/aquaflan.csv" })
    }

    @Test func filesStillBeingWrittenAreLeftOutWhenAskedTo() throws {
        let directory = TemporaryDirectory("drop")
        try drop("aquaflan-old.csv", in: directory, secondsAgo: 600)
        try drop("aquaflan-new.csv", in: directory, secondsAgo: 5)

        let settled = try DropFolder(pattern: "\(directory.path)/aquaflan-*.csv").files(modifiedBefore: Date(timeIntervalSinceNow: -60))

        #expect(settled.map(\.name) == ["aquaflan-old.csv"])
    }

    @Test func noMatchIsAnEmptyListAndARelativePatternIsAnError() throws {
        let directory = TemporaryDirectory("drop")
        #expect(try DropFolder(pattern: "\(directory.path)/aquaflan-*.csv").files().isEmpty)
        #expect(throws: FetchError.self) { try DropFolder(pattern: "drop/aquaflan-*.csv").files() }
    }

    @Test func fileURLPatternNamesTheSameFolder() throws {
        let directory = TemporaryDirectory("drop")
        try drop("aquaflan 2025-03.csv", in: directory, secondsAgo: 100)
        let url = URL(fileURLWithPath: directory.path).absoluteString + "aquaflan*.csv"

        #expect(DropFolder.isPattern(url))
        #expect(!DropFolder.isPattern(URL(fileURLWithPath: "\(directory.path)/aquaflan.csv").absoluteString))
        #expect(!DropFolder.isPattern("https://example.invalid/feed?.csv"))
        #expect(try DropFolder(pattern: url).files().map(\.name) == ["aquaflan 2025-03.csv"])
    }

    @Test func listedFileIsFetchedThroughCurlAsFileURL() async throws {
        let directory = TemporaryDirectory("drop")
        try drop("aquaflan 2025-03.csv", in: directory, secondsAgo: 100)
        let file = try #require(try DropFolder(pattern: "\(directory.path)/aquaflan*.csv").files().first)
        let staging = TemporaryDirectory("fetch")

        let response = try await CurlFetcher().fetch(file.request(stagingPath: staging.stagingPath))

        #expect(file.url.hasPrefix("file:///") && file.url.contains("%20"))
        #expect(response.sha256 == sampleFeedSHA256)
        #expect(response.bytes == file.size)
    }

    /// A body of many of curl's 512 KiB chunks, hashed on another thread while it is written:
    /// the digest is the file's, chunk order and buffer reuse included.
    @Test func aLargeFileIsHashedExactlyWhileItIsFetched() async throws {
        let directory = TemporaryDirectory("drop")
        var body = [UInt8](repeating: 0, count: 6_000_001)
        for index in body.indices { body[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
        let path = directory.write("aquaflan-large.csv", Data(body))
        let staging = TemporaryDirectory("fetch")
        let response = try await CurlFetcher().fetch(FetchRequest(url: URL(fileURLWithPath: path).absoluteString, stagingPath: staging.stagingPath))
        #expect(response.bytes == Int64(body.count))
        #expect(response.sha256 == SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined())
        #expect(FileManager.default.contents(atPath: staging.stagingPath) == Data(body))
    }

    @Test func localFileOverMaxBytesIsRefusedAndLeavesNoStagingFile() async throws {
        let directory = TemporaryDirectory("drop")
        let path = directory.write("aquaflan-big.csv", String(repeating: "x", count: 10_000))
        let staging = TemporaryDirectory("fetch")
        var request = FetchRequest(url: URL(fileURLWithPath: path).absoluteString, stagingPath: staging.stagingPath)
        request.maxBytes = 1_000

        let error = await #expect(throws: FetchError.self) { try await CurlFetcher().fetch(request) }

        #expect(error?.kind == .permanent)
        #expect(error?.message.contains("larger than the source's limit") == true)
        #expect(!fileExists(staging.stagingPath))
    }
}
