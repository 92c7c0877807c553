import Dispatch

extension Array where Element: Sendable {
    /// The transform of every element, computed on all cores, in the array's order. It blocks the
    /// calling thread until all are done, so call it off the cooperative pool for long work.
    func concurrentMap<Result: Sendable>(_ transform: @Sendable (Element) -> Result) -> [Result] {
        var results = [Result?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: count) { index in
                slots[index] = transform(self[index])
            }
        }
        return results.map { $0! }
    }
}
