import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A local drop folder: the files a glob such as `/srv/drop/aquaflan-*.csv` matches, listed in
/// a stable order so that the caller can fetch each as `file://` and skip those it has seen.
public struct DropFolder: Sendable, Hashable {
    /// The absolute glob pattern (`*`, `?`, `[…]`; a leading dot is matched only explicitly).
    public let pattern: String

    /// A drop folder from an absolute glob path or a `file://` URL whose path holds the glob.
    public init(pattern: String) {
        if pattern.lowercased().hasPrefix("file://") {
            var path = String(pattern.dropFirst("file://".count))
            if path.lowercased().hasPrefix("localhost/") { path.removeFirst("localhost".count) }
            self.pattern = path.removingPercentEncoding ?? path
        } else {
            self.pattern = pattern
        }
    }

    /// Whether `url` (a `file://` URL or a path) holds glob characters, i.e. names a drop folder, not one file.
    public static func isPattern(_ url: String) -> Bool {
        let isLocal = url.lowercased().hasPrefix("file://") || url.hasPrefix("/")
        return isLocal && url.contains { "*?[".contains($0) }
    }

    /// The regular files the pattern matches, ordered by file name, then modification time, then
    /// full path; files modified at or after `modifiedBefore` (still being written) are left out.
    public func files(modifiedBefore: Date? = nil) throws(FetchError) -> [DropFile] {
        guard pattern.hasPrefix("/") else {
            throw FetchError(kind: .permanent, curlCode: 0, message: "the drop folder pattern \(pattern) is not an absolute path")
        }
        var matches = glob_t()
        defer { globfree(&matches) }
        let status = glob(pattern, 0, nil, &matches)
        if status == GLOB_NOMATCH { return [] }
        guard status == 0 else {
            let reason = status == GLOB_ABORTED ? "a folder cannot be read" : "glob failed with code \(status)"
            throw FetchError(kind: .temporary, curlCode: 0, message: "cannot list the drop folder \(pattern): \(reason)")
        }
        var files: [DropFile] = []
        for index in 0..<Int(matches.gl_pathc) {
            guard let pointer = matches.gl_pathv[index] else { continue }
            let path = String(cString: pointer)
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let modified = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9)
            if let modifiedBefore, modified >= modifiedBefore { continue }
            files.append(DropFile(path: path, modified: modified, size: Int64(info.st_size)))
        }
        return files.sorted { first, second in
            if first.name != second.name { return first.name < second.name }
            if first.modified != second.modified { return first.modified < second.modified }
            return first.path < second.path
        }
    }
}

/// One file found in a drop folder.
public struct DropFile: Sendable, Hashable {
    /// The absolute path.
    public var path: String
    /// When the file was last modified.
    public var modified: Date
    /// The size in bytes when it was listed.
    public var size: Int64

    /// A file found at `path`, last modified at `modified`, of `size` bytes.
    public init(path: String, modified: Date, size: Int64) {
        self.path = path
        self.modified = modified
        self.size = size
    }

    /// The last path component.
    public var name: String { (path as NSString).lastPathComponent }

    /// The `file://` URL to fetch the file through libcurl (percent-encoded).
    public var url: String { URL(fileURLWithPath: path).absoluteString }

    /// A request for this file, whose body goes to `stagingPath`.
    public func request(stagingPath: String) -> FetchRequest {
        FetchRequest(url: url, stagingPath: stagingPath)
    }
}
