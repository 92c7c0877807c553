/// The fingerprints of the event ids a feed has given so far (see `FeedDecoder.fingerprint`):
/// a set of 64-bit numbers in one open-addressing table.
///
/// The fingerprints are hashes already, so a multiply and a shift place them; `Set<UInt64>`
/// hashed each one again with SipHash, about a tenth of a million-row file's routing time.
/// 8 bytes a slot, at most half of them full: 16 MB for a million ids, as `Set<UInt64>` takes.
public struct FingerprintSet: Sendable {
    /// 0 marks an empty slot; the fingerprint 0 itself is kept apart.
    private var slots: [UInt64]
    private var holdsZero = false
    private var shift: UInt64
    public private(set) var count = 0

    public init() {
        slots = Array(repeating: 0, count: 1 << 10)
        shift = 64 - 10
    }

    /// Adds a fingerprint; false when it was there already.
    @discardableResult
    public mutating func insert(_ fingerprint: UInt64) -> Bool {
        if fingerprint == 0 {
            if holdsZero { return false }
            holdsZero = true
            count += 1
            return true
        }
        if (count + 1) * 2 > slots.count { grow() }
        let (index, found) = position(of: fingerprint)
        if found { return false }
        slots[index] = fingerprint
        count += 1
        return true
    }

    public func contains(_ fingerprint: UInt64) -> Bool {
        fingerprint == 0 ? holdsZero : position(of: fingerprint).found
    }

    /// Whether no fingerprint is in both sets.
    public func isDisjoint(with other: FingerprintSet) -> Bool {
        if count > other.count { return other.isDisjoint(with: self) }
        if holdsZero && other.holdsZero { return false }
        return !slots.contains { $0 != 0 && other.contains($0) }
    }

    /// The slot that holds a (nonzero) fingerprint, or the empty slot where it would go.
    private func position(of fingerprint: UInt64) -> (index: Int, found: Bool) {
        var index = Int(truncatingIfNeeded: (fingerprint &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let held = slots[index]
            if held == 0 { return (index, false) }
            if held == fingerprint { return (index, true) }
            index = (index + 1) & (slots.count - 1)
        }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: 0, count: old.count * 2)
        shift -= 1
        for fingerprint in old where fingerprint != 0 { slots[position(of: fingerprint).index] = fingerprint }
    }
}
