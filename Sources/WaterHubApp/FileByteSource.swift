import Foundation
import WaterHubDialects

/// Reads a file (or a range of its bytes) chunk by chunk for the streaming decoders.
struct FileByteSource: ByteSource {
    private let descriptor: Int32
    /// The offset of the next read, and where reading stops.
    private var offset: Int
    private let end: Int

    init(path: String, range: Range<Int>? = nil) throws {
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? Int.max
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, end - offset)
        guard wanted > 0 else { return 0 }
        while true {
            let count = pread(descriptor, buffer.baseAddress, wanted, off_t(offset))
            if count >= 0 {
                offset += count
                return count
            }
            if errno != EINTR { throw CocoaError(.fileReadUnknown) }
        }
    }

    /// Closes the file; the decoders read to the end, the pipeline closes.
    func close() { _ = Foundation.close(descriptor) }
}
