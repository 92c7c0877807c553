import Foundation
import WaterHubDialects

/// Reads a file chunk by chunk for the streaming decoders.
struct FileByteSource: ByteSource {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Foundation.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw CocoaError(.fileReadUnknown) }
        }
    }

    /// Closes the file; the decoders read to the end, the pipeline closes.
    func close() { _ = Foundation.close(descriptor) }
}
