/// Where a decoder reads a feed's bytes from, chunk by chunk, so that memory stays bounded.
///
/// The pure decoders read from this protocol; the adapters give them a file (the raw archive)
/// and the tests give them bytes in memory.
public protocol ByteSource {
    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Bytes in memory, read in chunks of at most `chunkSize` (small chunks test the seams).
public struct InMemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    private let chunkSize: Int

    public init(_ bytes: [UInt8], chunkSize: Int = 1 << 16) {
        self.bytes = bytes
        self.chunkSize = max(1, chunkSize)
    }

    public init(_ text: String, chunkSize: Int = 1 << 16) {
        self.init(Array(text.utf8), chunkSize: chunkSize)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, chunkSize, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// A window on a byte source: a buffer that refills as a scanner moves on, and keeps every byte
/// from `mark` on (the start of the record being scanned), so a record may span many chunks.
struct ChunkedBytes<Source: ByteSource> {
    private var source: Source
    private(set) var buffer: [UInt8]
    private(set) var end = 0
    private var finished = false
    /// Bytes before this index may be dropped at the next refill.
    var mark = 0
    /// How many bytes of the source were dropped from the front of the buffer so far: an index
    /// into `buffer` is `dropped + index` bytes into the source.
    private(set) var dropped = 0

    init(source: Source, chunkSize: Int = 1 << 18) {
        self.source = source
        self.buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    /// Makes sure `index` is inside the buffer, refilling when needed; returns false at the end.
    /// A refill may move the bytes: `index` and `mark` are adjusted, nothing else stays valid.
    @inline(__always)
    mutating func has(_ index: inout Int) throws -> Bool {
        if index < end { return true }
        return try refill(&index)
    }

    /// Appends to `field` the run of bytes from `index` (inside the buffer) up to the next
    /// delimiter or line end within the bytes read so far; returns where the run ends.
    @inline(__always)
    mutating func appendPlainRun(from index: Int, delimiter: UInt8, to field: inout [UInt8]) -> Int {
        let limit = end
        return buffer.withUnsafeBufferPointer { bytes in
            var stop = index + 1
            while stop < limit {
                let byte = bytes[stop]
                if byte == delimiter || byte == 0x0A || byte == 0x0D { break }
                stop += 1
            }
            field.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<stop]))
            return stop
        }
    }

    /// Where the record starting at `index` ends (after its LF, CRLF or lone CR), when that line
    /// end is within the bytes read so far and no quote comes before it; else nil.
    @inline(__always)
    func plainRecordEnd(from index: Int, quote: UInt8?) -> Int? {
        let quote = quote ?? 0x0A
        return buffer.withUnsafeBufferPointer { bytes -> Int? in
            var position = index
            // Eight bytes at a time while none of them is a line end or the quote (most of a
            // record), then byte by byte from the word that holds one.
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let lineFeeds = ones &* 0x0A, carriageReturns = ones &* 0x0D, quotes = ones &* UInt64(quote)
                @inline(__always) func hasZeroByte(_ word: UInt64) -> Bool { (word &- ones) & ~word & (ones &* 0x80) != 0 }
                while position + 8 <= end {
                    let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
                    if hasZeroByte(word ^ lineFeeds) || hasZeroByte(word ^ carriageReturns) || hasZeroByte(word ^ quotes) { break }
                    position += 8
                }
            }
            while position < end {
                let byte = bytes[position]
                if byte == 0x0A { return position + 1 }
                if byte == 0x0D {
                    guard position + 1 < end else { return nil }
                    return bytes[position + 1] == 0x0A ? position + 2 : position + 1
                }
                if byte == quote { return nil }
                position += 1
            }
            return nil
        }
    }

    /// At a quote inside a quoted field: moves past it and returns true when it closes the field,
    /// or past the pair and returns false when it is doubled (an escaped quote).
    @inline(__always)
    mutating func closesQuote(at index: inout Int, quote: UInt8) throws -> Bool {
        var lookahead = index + 1
        if try has(&lookahead), buffer[lookahead] == quote {
            index = lookahead + 1
            return false
        }
        index = lookahead
        return true
    }

    private mutating func refill(_ index: inout Int) throws -> Bool {
        while index >= end {
            if finished { return false }
            if mark > 0 {
                let kept = end - mark
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress!.copyMemory(from: raw.baseAddress! + mark, byteCount: kept)
                }
                index -= mark
                dropped += mark
                end = kept
                mark = 0
            }
            if end == buffer.count {
                buffer.append(contentsOf: repeatElement(0, count: buffer.count))
            }
            let read = try buffer.withUnsafeMutableBytes { raw in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
            }
            if read == 0 { finished = true } else { end += read }
        }
        return true
    }
}
