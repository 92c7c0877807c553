import Crypto
import Foundation

/// SHA-256 of a transfer's body, computed on another thread while the transfer goes on.
///
/// The transfer's thread only copies each chunk into one of a few buffers and queues it; the
/// chunks are hashed in order on a serial queue. A 169 MB feed read from disk through `file://`
/// took ~0.3 s on one core, 0.13 s of it hashing, while the routing that waits for it had
/// nothing to do (Ops/bench/README.md, "Profiling"). At most `slotCount` chunks wait: the
/// transfer's thread (a thread of its own, see `CurlFetcher`) waits for a free buffer.
final class BackgroundHasher: @unchecked Sendable {
    private static let slotCount = 4
    private let queue = DispatchQueue(label: "waterhub-fetch-sha256")
    private let free = DispatchSemaphore(value: BackgroundHasher.slotCount)
    /// The buffers, used in turn (touched by the transfer's thread only).
    private var slots: [UnsafeMutableRawBufferPointer] = []
    private var next = 0
    /// Touched on `queue` only.
    private var hasher = SHA256()

    deinit {
        // Every queued chunk holds the hasher: none is left when this runs (perhaps on the queue).
        for slot in slots { slot.deallocate() }
    }

    /// Queues a copy of `bytes` to be hashed after the chunks before it.
    func update(_ bytes: UnsafeRawBufferPointer) {
        free.wait()
        // The slot's previous chunk is hashed: the queue is serial and a slot is taken in turn.
        if next == slots.count {
            slots.append(.allocate(byteCount: Swift.max(bytes.count, 1), alignment: 16))
        } else if slots[next].count < bytes.count {
            slots[next].deallocate()
            slots[next] = .allocate(byteCount: bytes.count, alignment: 16)
        }
        let slot = slots[next]
        slot.copyMemory(from: bytes)
        next = (next + 1) % BackgroundHasher.slotCount
        nonisolated(unsafe) let chunk = UnsafeRawBufferPointer(rebasing: slot[0..<bytes.count])
        queue.async {
            self.hasher.update(bufferPointer: chunk)
            self.free.signal()
        }
    }

    /// The hex digest of everything queued (waits for the queued chunks).
    func digest() -> String {
        queue.sync { hasher.finalize() }.map { String(format: "%02x", $0) }.joined()
    }
}
