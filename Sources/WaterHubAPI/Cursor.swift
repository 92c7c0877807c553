import WaterHubStorage

/// The opaque position in one of a town's lists that `next` hands out and `after` takes back.
///
/// It encodes a sequence number; it is opaque so that clients do not build their own, and
/// versioned and typed (`e1.` for events, `c1.` cases, `k1.` contacts) so that the encoding can
/// change without breaking stored cursors and a cursor of one list is refused by another.
public enum Cursor {
    /// The list a cursor belongs to.
    public enum List: String, Sendable {
        case events = "e1"
        case cases = "c1"
        case contacts = "k1"
    }

    /// The cursor after `position` in `list`.
    public static func encode(_ position: Int64, in list: List = .events) -> String {
        Base64URL.encode(Array("\(list.rawValue).\(position)".utf8))
    }

    /// The position, or nil when the text is not a cursor this hub handed out for this list.
    public static func decode(_ text: String, in list: List = .events) -> Int64? {
        guard text.utf8.count <= 40, let bytes = Base64URL.decode(text) else { return nil }
        let plain = String(decoding: bytes, as: UTF8.self)
        let prefix = "\(list.rawValue)."
        guard plain.hasPrefix(prefix), let position = Int64(plain.dropFirst(prefix.count)), position >= 0,
              encode(position, in: list) == text else { return nil }
        return position
    }
}
