import Foundation
import WaterHubCore

/// Appends records (lists of optional byte strings) to a spool file, buffered.
///
/// A batch is split into spools first (one per town, one for quarantine) and applied from them
/// afterwards: the feed is parsed once, memory stays bounded, and a crash between towns is
/// finished from the spools exactly as it began, whatever happened to the configuration since.
public final class SpoolWriter {
    /// Where the bytes go: a file of the writer's own, or its chunks in a file shared with others.
    private enum Sink {
        case file(FileHandle)
        case chunks(SpoolChunks, key: String)
    }

    private let sink: Sink
    /// The bytes not written yet, in memory the writer owns (see `RecordBytes`).
    private var buffer: RecordBytes
    /// The file written (for a writer into `SpoolChunks`, the shared file).
    public let path: String
    /// How many records were written.
    public private(set) var count = 0

    /// Creates (or empties) the file (`SpoolFiles.create`).
    public init(path: String) throws {
        sink = .file(FileHandle(fileDescriptor: try SpoolFiles.create(path), closeOnDealloc: true))
        self.path = path
        buffer = RecordBytes(capacity: SpoolWriter.bufferSize + 4096)
    }

    /// Writes the spool as chunks of `chunks`, under `key` (`SpoolChunks.segments` says where
    /// they lie).
    public init(chunksIn chunks: SpoolChunks, key: String) {
        sink = .chunks(chunks, key: key)
        path = chunks.path
        buffer = RecordBytes(capacity: SpoolWriter.bufferSize + 4096)
    }

    deinit {
        buffer.deallocate()
    }

    /// Bytes buffered before a write: small, because a batch has one writer per town.
    static let bufferSize = 1 << 14

    /// Appends one record; a field longer than 65,534 bytes is cut there.
    public func append(_ fields: [[UInt8]?]) throws {
        try write { record in
            for field in fields {
                if let field { field.withUnsafeBufferPointer { record.field($0) } } else { record.field(nil) }
            }
        }
    }

    /// Appends one event in its spool form (each field's canonical text, then the line and the
    /// source), written straight into the buffer: the same bytes as `SpooledEvent.spoolFields`.
    /// The event is an `Event` or a feed's row read in place (`EventFields`).
    public func append(_ event: some EventFields, line: Int) throws {
        try write { record in
            for field in EventField.allCases {
                event.withCanonicalBytes(field) { record.field($0) }
            }
            record.integer(line)
            record.text(event.source)
        }
    }

    /// Writes one record into the buffer, moved out of the writer meanwhile: appending through a
    /// local value needs no exclusivity check per append, as a class's stored property does.
    private func write(_ body: (inout RecordBytes) -> Void) throws {
        var record = buffer
        record.begin()
        body(&record)
        record.end()
        buffer = record
        count += 1
        if buffer.count >= SpoolWriter.bufferSize { try flush() }
    }

    /// Writes what is buffered and closes the file. It is not forced to disk: a spool lost to a
    /// power cut is regenerated from the archived raw file (see `Hub.apply`), which is cheaper
    /// than one fsync per town per batch.
    public func close() throws {
        try flush()
        if case .file(let handle) = sink { try handle.close() }
    }

    private func flush() throws {
        guard buffer.count > 0 else { return }
        let bytes = UnsafeRawBufferPointer(start: buffer.base, count: buffer.count)
        switch sink {
        case .file(let handle): try handle.write(contentsOf: bytes)
        case .chunks(let chunks, let key): try chunks.write(bytes, key: key)
        }
        buffer.count = 0
    }
}

/// One file that holds many spools as chunks, written by one thread: routing writes all the
/// towns' spools of a batch (of a part of it) into one file instead of one file each. Each file
/// created costs more than its bytes (on ext4, finding a free inode past the ones deleted in
/// the last minutes), and a first load would create and delete two per town.
/// `segments(_:)` says where a town's chunks lie; `SpoolIndex` keeps that for the apply.
public final class SpoolChunks {
    public let path: String
    private let descriptor: Int32
    private var end: off_t = 0
    /// Where each key's chunks lie, in the order written.
    private var chunks: [String: [SpoolSegment]] = [:]

    /// Creates (or empties) the file (`SpoolFiles.create`).
    public init(path: String) throws {
        descriptor = try SpoolFiles.create(path)
        self.path = path
    }

    deinit {
        Glibc.close(descriptor)
    }

    func write(_ bytes: UnsafeRawBufferPointer, key: String) throws {
        var written = 0
        while written < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, end + off_t(written))
            guard result >= 0 || errno == EINTR else {
                throw StorageError(.damagedFile, "cannot write spool file \(path): \(String(cString: strerror(errno)))")
            }
            written += max(result, 0)
        }
        chunks[key, default: []].append(SpoolSegment(path: path, offset: Int64(end), count: bytes.count))
        end += off_t(bytes.count)
    }

    /// Where the chunks written under `key` lie, in the order written.
    public func segments(_ key: String) -> [SpoolSegment] {
        chunks[key] ?? []
    }
}

/// A piece of a spool file: `count` bytes from `offset`, or the whole file (`count` nil). A
/// spool is the records of its pieces, one after the other.
public struct SpoolSegment: Sendable, Hashable {
    public var path: String
    public var offset: Int64
    public var count: Int?

    public init(path: String, offset: Int64, count: Int?) {
        self.path = path
        self.offset = offset
        self.count = count
    }

    /// A spool that is a file of its own.
    public static func wholeFile(_ path: String) -> SpoolSegment {
        SpoolSegment(path: path, offset: 0, count: nil)
    }
}

/// Where each town's spool of a batch lies in the batch's spool files (`SpoolChunks`, one per
/// part of the file routed at once): the file `towns.index` in the batch's spool folder,
/// written when routing ends. Text, one town a line: its NIS code, then each piece as
/// `file:offset:count`, files named relative to the folder; a last line `end <towns>` tells a
/// complete index from one cut short.
public struct SpoolIndex: Sendable, Equatable {
    public static let fileName = "towns.index"
    private static let header = "waterhub spool index 1"

    /// Each town's pieces, in order.
    public var towns: [String: [SpoolSegment]]

    public init(towns: [String: [SpoolSegment]]) {
        self.towns = towns
    }

    /// Writes the index into `folder` (where every piece's file must be). Not forced to disk,
    /// like the spools: a lost or damaged index is regenerated with them.
    public func write(to folder: String) throws {
        // Built as bytes: a first load's index has ~11,000 pieces.
        var text = Array((SpoolIndex.header + "\n").utf8)
        var names: [String: [UInt8]] = [:]
        func append(_ value: some BinaryInteger) { text.append(contentsOf: String(value).utf8) }
        for (town, segments) in towns.sorted(by: { $0.key < $1.key }) {
            text.append(contentsOf: town.utf8)
            for segment in segments {
                if names[segment.path] == nil {
                    let name = segment.path.hasPrefix(folder + "/") ? segment.path.dropFirst(folder.count + 1) : ""
                    guard !name.isEmpty, !name.contains("/") else {
                        throw StorageError(.inconsistent, "spool piece \(segment.path) is not in \(folder)")
                    }
                    names[segment.path] = Array(name.utf8)
                }
                guard let count = segment.count else { throw StorageError(.inconsistent, "spool piece \(segment.path) has no length") }
                text.append(0x20)
                text.append(contentsOf: names[segment.path]!)
                text.append(0x3A)
                append(segment.offset)
                text.append(0x3A)
                append(count)
            }
            text.append(0x0A)
        }
        text.append(contentsOf: "end \(towns.count)\n".utf8)
        let path = "\(folder)/\(SpoolIndex.fileName)"
        let file = FileHandle(fileDescriptor: try SpoolFiles.create(path), closeOnDealloc: true)
        do {
            try file.write(contentsOf: text)
            try file.close()
        } catch {
            throw StorageError(.damagedFile, "cannot write \(path): \(error)")
        }
    }

    /// Where each of `towns` has its spool in `folder`: through the index, or, for a batch
    /// routed before the index existed (2026-11-24), its file of its own (`<nis>.spool`; a
    /// release batch cannot be routed again, so such spools are read as they are). A missing
    /// or damaged index, or a town it lacks, is a damaged file: the batch's spools are then
    /// regenerated.
    public static func spools(of towns: some Collection<String>, in folder: String) throws -> [String: [SpoolSegment]] {
        let ownFile = { (town: String) in "\(folder)/\(town).spool" }
        if !FileManager.default.fileExists(atPath: "\(folder)/\(fileName)"),
           towns.allSatisfy({ FileManager.default.fileExists(atPath: ownFile($0)) }) {
            return Dictionary(uniqueKeysWithValues: towns.map { ($0, [SpoolSegment.wholeFile(ownFile($0))]) })
        }
        let index = try SpoolIndex(folder: folder)
        return try Dictionary(uniqueKeysWithValues: towns.map { town in
            guard let spool = index.towns[town] else {
                throw StorageError(.damagedFile, "the spool index in \(folder) has no spool for \(town)")
            }
            return (town, spool)
        })
    }

    /// Reads the index of the batch whose spools are in `folder`; a missing, cut short or
    /// malformed index is a damaged file (the batch's spools are then regenerated).
    public init(folder: String) throws {
        let path = "\(folder)/\(SpoolIndex.fileName)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StorageError(.damagedFile, "spool index \(path) is missing")
        }
        func damaged(_ why: String) -> StorageError { StorageError(.damagedFile, "spool index \(path) is damaged: \(why)") }
        let bytes = [UInt8](data)
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.first.map({ String(decoding: $0, as: UTF8.self) }) == SpoolIndex.header else { throw damaged("no header") }
        guard lines.count >= 3, lines.last!.isEmpty, String(decoding: lines[lines.count - 2], as: UTF8.self) == "end \(lines.count - 3)" else {
            throw damaged("cut short")
        }
        /// A decimal number, nil when the bytes are not one.
        func number(_ digits: ArraySlice<UInt8>) -> Int64? {
            guard !digits.isEmpty, digits.count <= 18 else { return nil }
            var value: Int64 = 0
            for digit in digits {
                guard digit >= 0x30 && digit <= 0x39 else { return nil }
                value = value * 10 + Int64(digit - 0x30)
            }
            return value
        }
        var paths: [ArraySlice<UInt8>: String] = [:]
        var towns: [String: [SpoolSegment]] = [:]
        for line in lines[1..<(lines.count - 2)] {
            let words = line.split(separator: 0x20)
            guard let first = words.first else { throw damaged("a blank line") }
            let town = String(decoding: first, as: UTF8.self)
            guard towns[town] == nil else { throw damaged("\(town) twice") }
            towns[town] = try words.dropFirst().map { word in
                let parts = word.split(separator: 0x3A, omittingEmptySubsequences: false)
                guard parts.count == 3, !parts[0].isEmpty, !parts[0].contains(0x2F), let offset = number(parts[1]), let count = number(parts[2]) else {
                    throw damaged("a piece of \(town) reads `\(String(decoding: word, as: UTF8.self))`")
                }
                let file = paths[parts[0]] ?? "\(folder)/\(String(decoding: parts[0], as: UTF8.self))"
                paths[parts[0]] = file
                return SpoolSegment(path: file, offset: offset, count: Int(count))
            }
        }
        self.towns = towns
    }
}

/// Records being appended to a buffer: each a length (filled in at the end), then its fields,
/// each a little-endian 16-bit length (0xFFFF for an absent field) and its bytes.
///
/// The buffer is memory the spool writer allocates and frees itself, written through a pointer:
/// an array would check its uniqueness and capacity at every one of a record's forty appends.
/// A copy of this value shares the memory; the writer keeps exactly one.
struct RecordBytes {
    private(set) var base: UnsafeMutablePointer<UInt8>
    var count = 0
    private var capacity: Int
    private var start = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    func deallocate() {
        base.deallocate()
    }

    /// Makes room for `more` bytes after `count`.
    @inline(__always)
    private mutating func reserve(_ more: Int) {
        if count + more > capacity { grow(count + more) }
    }

    private mutating func grow(_ needed: Int) {
        let larger = Swift.max(needed, capacity * 2)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    /// Leaves room for the record's length.
    mutating func begin() {
        reserve(4)
        start = count
        count += 4
    }

    /// Writes the record's length (without its four bytes).
    mutating func end() {
        let length = UInt32(count - start - 4)
        for index in 0..<4 { base[start + index] = UInt8(truncatingIfNeeded: length >> (8 * index)) }
    }

    /// One field, cut at 65,534 bytes; nil for an absent one.
    mutating func field(_ bytes: UnsafeBufferPointer<UInt8>?) {
        guard let bytes else {
            reserve(2)
            base[count] = 0xFF
            base[count + 1] = 0xFF
            count += 2
            return
        }
        let length = Swift.min(bytes.count, 0xFFFE)
        reserve(2 + length)
        base[count] = UInt8(length & 0xFF)
        base[count + 1] = UInt8(length >> 8)
        if let source = bytes.baseAddress, length > 0 { (base + count + 2).update(from: source, count: length) }
        count += 2 + length
    }

    mutating func text(_ value: String?) {
        guard let value else { return field(nil) }
        // A native string's bytes in place; a bridged one is made contiguous first.
        if value.utf8.withContiguousStorageIfAvailable({ field($0) }) == nil {
            var copy = value
            copy.withUTF8 { field($0) }
        }
    }

    /// A non-negative integer as its decimal digits.
    mutating func integer(_ value: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = digits.count
            var rest = Swift.max(0, value)
            repeat {
                position -= 1
                digits[position] = 0x30 + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            field(UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }
}

/// Reads a spool back, record by record, from its file or from its pieces in the batch's spool
/// files (`SpoolSegment`); a record cut short, or a piece shorter than its index says, marks
/// the spool damaged.
public struct SpoolReader: Sequence, IteratorProtocol {
    private let files: SpoolPieces
    private var buffer: [UInt8] = []
    private var offset = 0
    /// Set when the spool ends in the middle of a record, or a piece ends early.
    public private(set) var damaged = false

    public init(path: String) throws {
        try self.init(segments: [.wholeFile(path)])
    }

    public init(segments: [SpoolSegment]) throws {
        files = try SpoolPieces(segments)
    }

    /// Calls `body` with the next record's bytes (valid only inside `body`); nil at the end.
    mutating func withNextRecordBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T? {
        guard ensure(4) else { return nil }
        let length = Int(buffer[offset]) | Int(buffer[offset + 1]) << 8 | Int(buffer[offset + 2]) << 16 | Int(buffer[offset + 3]) << 24
        guard ensure(4 + length) else { damaged = true; return nil }
        let start = offset + 4
        offset = start + length
        return try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<start + length])) }
    }

    /// The next record's fields, or nil at the end (or when the rest is damaged).
    public mutating func next() -> [ArraySlice<UInt8>?]? {
        var ranges: [Range<Int>?] = []
        var copy: [UInt8] = []
        let found = withNextRecordBytes { bytes -> Bool in
            copy = Array(bytes)
            return copy.withUnsafeBufferPointer { SpoolRecord.split($0, into: &ranges) }
        }
        guard let found else { return nil }
        guard found else { damaged = true; return nil }
        return ranges.map { $0.map { copy[$0] } }
    }

    private mutating func ensure(_ count: Int) -> Bool {
        if buffer.count - offset >= count { return true }
        buffer.removeFirst(offset)
        offset = 0
        while buffer.count < count {
            let wanted = Swift.max(SpoolReader.readSize, count - buffer.count)
            // Read by the kernel into uninitialised memory.
            var got = 0
            let chunk = [UInt8](unsafeUninitializedCapacity: wanted) { bytes, initialized in
                got = files.read(into: UnsafeMutableRawBufferPointer(bytes))
                initialized = got
            }
            if buffer.isEmpty { buffer = chunk } else { buffer.append(contentsOf: chunk) }
            guard got > 0 else {
                if !buffer.isEmpty || files.endedEarly { damaged = true }
                return false
            }
        }
        return true
    }

    /// Bytes asked for at each read.
    static let readSize = 1 << 18
}

/// The pieces of one spool, read one after the other (a class: it owns the open files).
private final class SpoolPieces {
    private let segments: [SpoolSegment]
    private var descriptors: [String: Int32] = [:]
    private var current = 0
    private var done = 0
    /// Set when a piece's file ended before the piece did.
    private(set) var endedEarly = false

    init(_ segments: [SpoolSegment]) throws {
        self.segments = segments
        for path in Set(segments.map(\.path)) {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                for opened in descriptors.values { close(opened) }
                throw StorageError(.damagedFile, "spool file \(path) is missing")
            }
            descriptors[path] = descriptor
        }
    }

    deinit {
        for descriptor in descriptors.values { close(descriptor) }
    }

    /// Reads up to `into.count` bytes of the spool; 0 at its end (or on a read error, which
    /// marks it ended early).
    func read(into bytes: UnsafeMutableRawBufferPointer) -> Int {
        while current < segments.count {
            let segment = segments[current]
            let left = segment.count.map { $0 - done } ?? bytes.count
            if left == 0 { current += 1; done = 0; continue }
            var got = 0
            repeat {
                got = pread(descriptors[segment.path]!, bytes.baseAddress, Swift.min(left, bytes.count), off_t(segment.offset) + off_t(done))
            } while got < 0 && errno == EINTR
            if got > 0 {
                done += got
                return got
            }
            if got < 0 || segment.count != nil { endedEarly = true; return 0 }
            current += 1
            done = 0
        }
        return 0
    }
}

/// One routed event on its way into a town file, with the line it was read from.
public struct SpooledEvent: Sendable, Hashable {
    public var event: Event
    /// The line of the raw file the event was read from (provenance).
    public var line: Int

    public init(event: Event, line: Int) {
        self.event = event
        self.line = line
    }

    /// The spool form: the canonical text of every field, then the line.
    public var spoolFields: [[UInt8]?] {
        var fields: [[UInt8]?] = EventField.allCases.map { field in event.value(of: field).map { Array($0.utf8) } }
        fields.append(Array(String(line).utf8))
        fields.append(Array(event.source.utf8))
        return fields
    }

    /// The spool form as one record's bytes (length-prefixed fields, without the record length).
    var recordBytes: [UInt8] {
        var bytes: [UInt8] = []
        for field in spoolFields {
            guard let field else { bytes += [0xFF, 0xFF]; continue }
            let length = min(field.count, 0xFFFE)
            bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
            bytes += field[0..<length]
        }
        return bytes
    }

    /// Reads the spool form back.
    public init?(spoolFields fields: [ArraySlice<UInt8>?]) {
        let all = EventField.allCases
        guard fields.count == all.count + 2 else { return nil }
        func text(_ index: Int) -> String? { fields[index].map { String(decoding: $0, as: UTF8.self) } }
        func value(_ field: EventField) -> String? { text(field.index) }
        guard let source = text(all.count + 1), let line = text(all.count).flatMap({ Int($0) }),
              let id = value(.sourceEventID), let type = value(.type).flatMap(EventType.init(rawValue:)),
              let date = value(.eventDate).flatMap({ CalendarDate(iso: $0) }),
              let protected = value(.protectedCustomer).flatMap(ProtectedStatus.init(rawValue:)) else { return nil }
        var amount: Int64?
        if let text = value(.amountDue) {
            let parts = text.split(separator: ".")
            guard parts.count == 2, let euros = Int64(parts[0]), let cents = Int64(parts[1]) else { return nil }
            amount = euros * 100 + cents
        }
        event = Event(
            source: source, sourceEventID: id, type: type, eventDate: date,
            customerNumber: value(.customerNumber), connectionID: value(.connectionID), name: value(.name),
            street: value(.street), houseNumber: value(.houseNumber), box: value(.box), postalCode: value(.postalCode),
            municipality: value(.municipality), nisCode: value(.nisCode), phone: value(.phone), email: value(.email),
            amountDueCents: amount, protectedCustomer: protected, note: value(.note))
        self.line = line
    }
}

/// A row held back from a batch: its line, why, and its raw bytes (personal data: operator only).
public struct QuarantinedRow: Sendable, Hashable {
    public var line: Int
    public var problem: RowProblem
    public var raw: [UInt8]

    public init(line: Int, problem: RowProblem, raw: [UInt8]) {
        self.line = line
        self.problem = problem
        self.raw = raw
    }

    public var spoolFields: [[UInt8]?] {
        [Array(String(line).utf8), Array(problem.code.rawValue.utf8), problem.field.map { Array($0.utf8) }, Array(problem.message.utf8), raw]
    }

    public init?(spoolFields fields: [ArraySlice<UInt8>?]) {
        guard fields.count == 5, let line = fields[0].flatMap({ Int(String(decoding: $0, as: UTF8.self)) }),
              let code = fields[1].flatMap({ RowProblem.Code(rawValue: String(decoding: $0, as: UTF8.self)) }),
              let message = fields[3], let raw = fields[4] else { return nil }
        self.line = line
        self.problem = RowProblem(code, field: fields[2].map { String(decoding: $0, as: UTF8.self) }, String(decoding: message, as: UTF8.self))
        self.raw = Array(raw)
    }
}

/// The file operations of spools: created private, appended to by the kernel (sendfile).
public enum SpoolFiles {
    /// Creates (or empties) a spool file for writing, readable by the hub's user only: it holds
    /// personal data. open(2) itself: FileManager.createFile writes a temporary file and renames
    /// it, two file creations for every file.
    static func create(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StorageError(.damagedFile, "cannot create spool file \(path): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// Appends one spool file to another (created when missing) and removes it.
    public static func append(_ path: String, to target: String) throws {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw StorageError(.damagedFile, "spool file \(path) is missing") }
        defer { Glibc.close(input) }
        // At its end by lseek: sendfile refuses an output opened with O_APPEND.
        let output = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw StorageError(.damagedFile, "cannot append to spool file \(target)") }
        defer { Glibc.close(output) }
        guard lseek(output, 0, SEEK_END) >= 0 else { throw StorageError(.damagedFile, "cannot append to spool file \(target)") }
        // The kernel copies the bytes, nothing passes through the process.
        while true {
            let copied = sendfile(output, input, nil, 1 << 30)
            if copied == 0 { break }
            guard copied > 0 || errno == EINTR else { throw StorageError(.damagedFile, "cannot append \(path) to \(target)") }
        }
        unlink(path)
    }
}
