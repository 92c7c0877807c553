import Crypto
import Foundation
import Synchronization

/// Turns a household's row id into its opaque key and back, without storing the key.
///
/// The key is a keyed permutation of the 64-bit id (a four-round Feistel network with
/// HMAC-SHA256 as its round function, keyed by a secret kept in the town file), written in a
/// 32-letter alphabet. It is stable (the same id always gives the same key), opaque (without
/// the secret it says nothing about the id or the number of households), and unique (a
/// permutation), so the database needs no index and no random numbers to find a household by
/// its key: the key decodes to the id.
struct HouseholdKeyCodec: Sendable {
    /// HMAC-SHA256 (RFC 2104) with its two keyed hash states made once: each round copies them
    /// and hashes its five bytes, then the inner digest, through SHA256's non-generic calls (a
    /// pull encodes a key per event; swift-crypto's generic HMAC calls cost more than the hashing).
    private let inner: SHA256
    private let outer: SHA256
    /// Keys encoded lately: a town pulls the same recent households again and again.
    private let recent = RecentKeys()
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
    private static let values: [UInt8: UInt64] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, UInt64($0)) })
    /// 13 letters of 5 bits hold the 64 bits.
    static let length = 13

    init(secret: Data) {
        var key = secret.count > SHA256.blockByteCount ? Array(SHA256.hash(data: secret)) : Array(secret)
        key += [UInt8](repeating: 0, count: SHA256.blockByteCount - key.count)
        var inner = SHA256(), outer = SHA256()
        inner.update(data: key.map { $0 ^ 0x36 })
        outer.update(data: key.map { $0 ^ 0x5C })
        self.inner = inner
        self.outer = outer
    }

    /// The key of household `id`.
    func encode(_ id: Int64) -> String {
        if let key = recent.key(of: id) { return key }
        let key = computeKey(id)
        recent.remember(key, of: id)
        return key
    }

    func computeKey(_ id: Int64) -> String {
        var block = permute(UInt64(bitPattern: id), inverse: false)
        var letters = [UInt8](repeating: 0, count: HouseholdKeyCodec.length)
        for index in (0..<HouseholdKeyCodec.length).reversed() {
            letters[index] = HouseholdKeyCodec.alphabet[Int(block & 31)]
            block >>= 5
        }
        return String(decoding: letters, as: UTF8.self)
    }

    /// The household id a key stands for, or nil when the text is not a key of this town.
    func decode(_ key: String) -> Int64? {
        let bytes = Array(key.utf8)
        guard bytes.count == HouseholdKeyCodec.length else { return nil }
        var block: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            guard let value = HouseholdKeyCodec.values[byte] else { return nil }
            if index == 0 && value > 15 { return nil }        // 13 × 5 = 65 bits: the top one must be 0
            block = block << 5 | value
        }
        let id = Int64(bitPattern: permute(block, inverse: true))
        return id > 0 ? id : nil
    }

    private func permute(_ block: UInt64, inverse: Bool) -> UInt64 {
        var left = UInt32(truncatingIfNeeded: block >> 32), right = UInt32(truncatingIfNeeded: block)
        let rounds: [UInt8] = inverse ? [3, 2, 1, 0] : [0, 1, 2, 3]
        for round in rounds {
            if inverse {
                (left, right) = (right ^ roundFunction(round, left), left)
            } else {
                (left, right) = (right, left ^ roundFunction(round, right))
            }
        }
        return UInt64(left) << 32 | UInt64(right)
    }

    /// The first four bytes of HMAC-SHA256(secret, round ‖ half in big-endian order).
    func roundFunction(_ round: UInt8, _ half: UInt32) -> UInt32 {
        var message = (round, UInt8(half >> 24), UInt8(half >> 16 & 0xFF), UInt8(half >> 8 & 0xFF), UInt8(half & 0xFF))
        var innerHash = inner
        withUnsafeBytes(of: &message) { innerHash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0.prefix(5))) }
        var outerHash = outer
        innerHash.finalize().withUnsafeBytes { outerHash.update(bufferPointer: $0) }
        return outerHash.finalize().withUnsafeBytes { $0.load(as: UInt32.self) }
    }
}

/// A small direct-mapped table of keys by household id (4,096 slots, made on first use; a new
/// key replaces whatever had its slot). A key never changes, so a hit is always right.
final class RecentKeys: Sendable {
    private static let slots = 4_096
    private let table = Mutex<[(id: Int64, key: String)?]>([])

    func key(of id: Int64) -> String? {
        table.withLock { table in
            guard !table.isEmpty, let entry = table[RecentKeys.slot(id)], entry.id == id else { return nil }
            return entry.key
        }
    }

    func remember(_ key: String, of id: Int64) {
        table.withLock { table in
            if table.isEmpty { table = Array(repeating: nil, count: RecentKeys.slots) }
            table[RecentKeys.slot(id)] = (id, key)
        }
    }

    private static func slot(_ id: Int64) -> Int { Int(UInt64(bitPattern: id) % UInt64(slots)) }
}
