import WaterHubStorage

/// The opaque position in a town's event sequence that `next` hands out and `after` takes back.
///
/// It encodes the town's sequence number; it is opaque so that clients do not build their own,
/// and versioned (`e1.`) so that the encoding can change without breaking stored cursors.
public enum Cursor {
    public static func encode(_ seq: Int64) -> String {
        Base64URL.encode(Array("e1.\(seq)".utf8))
    }

    /// The sequence number, or nil when the text is not a cursor this hub handed out.
    public static func decode(_ text: String) -> Int64? {
        guard text.utf8.count <= 40, let bytes = Base64URL.decode(text) else { return nil }
        let plain = String(decoding: bytes, as: UTF8.self)
        guard plain.hasPrefix("e1."), let seq = Int64(plain.dropFirst(3)), seq >= 0,
              encode(seq) == text else { return nil }
        return seq
    }
}
