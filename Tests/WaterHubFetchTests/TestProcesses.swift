import Foundation
import Synchronization
import WaterHubTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A command run by a test exited with an error, or ran too long.
struct CommandFailed: Error, CustomStringConvertible {
    var description: String
}

/// Runs a command to completion (killed after `timeoutSeconds`) and returns its standard output.
///
/// Waits with `Task.sleep`, so that no thread of the cooperative pool is held while it runs.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], in directory: String? = nil, timeoutSeconds: Int = 20) async throws -> String {
    let scratch = TemporaryDirectory("command")
    let process = try BackgroundProcess(executable, arguments, in: directory, logDirectory: scratch.path, name: "command")
    for _ in 0..<(timeoutSeconds * 200) where process.isRunning {
        try? await Task.sleep(for: .milliseconds(5))
    }
    if process.isRunning {
        process.stop()
        throw CommandFailed(description: "\(executable) ran longer than \(timeoutSeconds) s")
    }
    guard let status = process.exitStatus, status == 0 else {
        throw CommandFailed(description: "\(executable) \(arguments.first ?? "") failed (\(process.exitStatus.map(String.init) ?? "?")): \(process.errors)")
    }
    return process.output
}

/// A server process a test starts and stops by its PID; its output goes to files, not the test log.
///
/// Spawned with `posix_spawn` and reaped here with `waitpid`, not through Foundation's `Process`:
/// that one waits for each child on a single manager thread with a blocking `waitpid` as soon
/// as the child closes an inherited socket, which sshd and ssh-keygen do at start-up, so one
/// running sshd would hold up every other `Process` of the test run. The child gets no descriptor above
/// stderr, so it keeps no socket of a concurrently running test open.
final class BackgroundProcess: Sendable {
    /// The process id, the only handle used to stop it.
    let pid: pid_t
    /// Where its standard output goes.
    let outputPath: String
    /// Where its standard error goes.
    let errorPath: String
    /// The exit status once the process has been reaped; the lock makes the reaping happen once.
    private let reaped = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` in `directory`, logging into `logDirectory`.
    init(_ executable: String, _ arguments: [String], in directory: String? = nil, logDirectory: String, name: String) throws {
        outputPath = "\(logDirectory)/\(name).out"
        errorPath = "\(logDirectory)/\(name).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard GNUSpawnActions.closeFrom(&actions, 3) == 0 else { throw CommandFailed(description: "posix_spawn_file_actions_addclosefrom_np failed") }
        if let directory {
            guard GNUSpawnActions.changeDirectory(&actions, directory) == 0 else {
                throw CommandFailed(description: "posix_spawn_file_actions_addchdir_np failed")
            }
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The spawning thread may be a dispatch worker with most signals blocked, and the test
        // process may ignore some: the child starts with none blocked and default handlers,
        // or SIGTERM would not stop it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw CommandFailed(description: "cannot start \(executable): error \(result)") }
        pid = child
    }

    /// Whether it has not exited yet (reaping it once it has).
    var isRunning: Bool { exitStatus == nil }

    /// The exit code once it has exited (128 + signal number if a signal ended it), else nil.
    var exitStatus: Int32? {
        reaped.withLock { reaped in
            if let reaped { return reaped }
            var waitStatus: Int32 = 0
            guard waitpid(pid, &waitStatus, WNOHANG) == pid else { return nil }
            let signal = waitStatus & 0x7f
            reaped = signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal
            return reaped
        }
    }

    /// Its standard output so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Its standard error so far.
    var errors: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM to its PID, waits at most 3 s, then sends SIGKILL; reaps it.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<300 where isRunning { usleep(10_000) }
        if isRunning {
            kill(pid, SIGKILL)
            for _ in 0..<100 where isRunning { usleep(10_000) }
        }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34) and `_addchdir_np` (2.29), which
/// Swift does not import because they are GNU extensions; looked up by name, called as C.
private enum GNUSpawnActions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return -1 }
        return unsafeBitCast(symbol, to: CloseFrom.self)(actions, lowest)
    }

    static func changeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return -1 }
        return unsafeBitCast(symbol, to: ChangeDirectory.self)(actions, path)
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice).
func freeLoopbackPort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw CommandFailed(description: "socket() failed") }
    defer { close(socket) }
    var address = loopbackAddress(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let result = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length) == 0 ? getsockname(socket, pointer, &length) : -1
        }
    }
    guard result == 0 else { throw CommandFailed(description: "cannot bind a loopback port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` within `timeoutSeconds`.
func waitUntilAccepting(port: Int, timeoutSeconds: Double = 5) async -> Bool {
    for _ in 0..<Int(timeoutSeconds * 50) {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(socket)
        if connected == 0 { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}

private func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}
