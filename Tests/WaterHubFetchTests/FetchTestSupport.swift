import Foundation
import Synchronization
import WaterHubFetch
import WaterHubTestSupport

/// A small feed, the same in every test that needs one.
let sampleFeed = "nis;amount\n11002;12,50\n"
/// `printf 'nis;amount\n11002;12,50\n' | sha256sum`
let sampleFeedSHA256 = "a2bb359d17bdef8ee698926a636daa19e734f069eef1e2fd28732d75a1636c7d"

/// A replacement for `Task.sleep` that returns at once and remembers the delays it was asked for.
final class RecordingSleep: Sendable {
    private let delays = Mutex<[Duration]>([])

    /// The delays asked for so far.
    var recorded: [Duration] { delays.withLock { $0 } }

    /// The function to inject.
    var function: @Sendable (Duration) async throws -> Void {
        { [self] delay in delays.withLock { $0.append(delay) } }
    }
}

/// Whether a file is there.
func fileExists(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path)
}

/// The contents of a file as text (empty if it cannot be read).
func contents(of path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

/// Polls `condition` every 10 ms for at most `timeoutSeconds`; true once it holds.
func eventually(timeoutSeconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    for _ in 0..<Int(timeoutSeconds * 100) {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

extension TemporaryDirectory {
    /// A staging path inside the directory (the file itself is not created).
    var stagingPath: String { "\(path)/feed.part" }
}
