import Foundation
import Synchronization

/// Puts files that were built apart under a hidden name in place, durably: the file is forced to
/// disk, linked under its name (never replacing a file already there), and its folder's entries
/// are forced to disk; only then is the caller told the file is in place.
///
/// The waiting happens on a thread of the publisher's own, started while there is work and
/// ended when there is none. The threads that build files (GCD's, as many as the cores) go on to
/// the next file instead of waiting for the disk: with a first load's 285 town files built two at
/// a time, each of them waiting for its two syncs left a core idle for ~0.5 s of a 6 s ingest
/// (Ops/bench/README.md, "Profiling"). Files that wait together share one sync of their folder.
public final class FilePublisher: Sendable {
    /// The one publisher of the process: its thread runs only while a file waits.
    public static let shared = FilePublisher()

    /// Whether a file was put in place: false when a file of that name was there already (that
    /// file stays, the built one is removed).
    public typealias Placed = Bool

    private struct Job: Sendable {
        let building: String
        let path: String
        let done: @Sendable (Result<Placed, any Error>) -> Void
    }

    private struct State {
        var jobs: [Job] = []
        var running = false
    }

    private let state = Mutex(State())

    /// Puts the file built at `building` in place as `path` (same folder), and removes the
    /// hidden name. On an error the built file is removed and nothing is put in place.
    public func publish(_ building: String, as path: String) async throws -> Placed {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(building: building, path: path) { continuation.resume(with: $0) }
            let start = state.withLock { state -> Bool in
                state.jobs.append(job)
                if state.running { return false }
                state.running = true
                return true
            }
            if start { Thread.detachNewThread { self.work() } }
        }
    }

    /// Takes the waiting files in rounds until none is left.
    private func work() {
        while true {
            let jobs = state.withLock { state -> [Job] in
                let jobs = state.jobs
                state.jobs = []
                if jobs.isEmpty { state.running = false }
                return jobs
            }
            if jobs.isEmpty { return }
            FilePublisher.place(jobs)
        }
    }

    /// One round: each file to disk and linked, then each folder that got one to disk once.
    private static func place(_ jobs: [Job]) {
        var linked: [(job: Job, placed: Placed)] = []
        for job in jobs {
            do {
                linked.append((job, try syncAndLink(job.building, as: job.path)))
            } catch {
                unlink(job.building)
                job.done(.failure(error))
            }
        }
        var folders: [String: Result<Void, any Error>] = [:]
        for (job, placed) in linked where placed {
            let folder = (job.path as NSString).deletingLastPathComponent
            if folders[folder] == nil { folders[folder] = Result { try sync(folder) } }
        }
        for (job, placed) in linked {
            unlink(job.building)
            let folder = (job.path as NSString).deletingLastPathComponent
            switch folders[folder] {
            case .failure(let error) where placed: job.done(.failure(error))
            default: job.done(.success(placed))
            }
        }
    }

    /// Puts one file in place now, on the calling thread: to disk, linked, its folder to disk,
    /// the hidden name removed (whatever happens).
    static func placeNow(_ building: String, as path: String) throws -> Placed {
        defer { unlink(building) }
        let placed = try syncAndLink(building, as: path)
        if placed { try sync((path as NSString).deletingLastPathComponent) }
        return placed
    }

    /// Forces the built file to disk and links it under its name; false when a file of that
    /// name is there already (`link` never replaces one).
    private static func syncAndLink(_ building: String, as path: String) throws -> Placed {
        try sync(building)
        if link(building, path) == 0 { return true }
        if errno == EEXIST { return false }
        throw FileFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))")
    }

    /// Forces a file (or a folder's entries) to disk.
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw FileFailure(message: "cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileFailure(message: "cannot sync \(path) to disk: \(String(cString: strerror(errno)))") }
    }
}

/// A file system call that failed (not a damaged file: nothing is regenerated for it).
struct FileFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
