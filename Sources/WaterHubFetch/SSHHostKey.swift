import CCurl
import Crypto
import Foundation

/// SHA-256 fingerprints of SSH host keys, in the form `ssh-keygen -l -E sha256` prints them.
public enum SSHFingerprint {
    /// `SHA256:` and the unpadded base64 of the SHA-256 of a key blob (the public key in SSH wire format).
    public static func sha256(ofKeyBlob blob: some DataProtocol) -> String {
        var base64 = Data(SHA256.hash(data: blob)).base64EncodedString()
        while base64.hasSuffix("=") { base64.removeLast() }
        return "SHA256:" + base64
    }

    /// The fingerprint of an OpenSSH public key line (`ssh-ed25519 AAAA… comment`, or a known_hosts line), or nil.
    public static func sha256(ofPublicKeyLine line: String) -> String? {
        let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
        for (index, field) in fields.enumerated().dropLast() where isKeyType(field) {
            guard let blob = Data(base64Encoded: fields[index + 1]) else { continue }
            return sha256(ofKeyBlob: blob)
        }
        return nil
    }

    /// Whether `configured` (with or without `SHA256:` and `=` padding) names the fingerprint `seen`.
    static func configured(_ configured: String, matches seen: String) -> Bool {
        let wanted = normalized(configured)
        return !wanted.isEmpty && wanted == normalized(seen)
    }

    /// The base64 part only: no `SHA256:` prefix, no padding, no surrounding blanks.
    static func normalized(_ fingerprint: String) -> String {
        var text = Substring(fingerprint.trimmingCharacters(in: .whitespacesAndNewlines))
        if text.lowercased().hasPrefix("sha256:") { text = text.dropFirst("sha256:".count) }
        while text.hasSuffix("=") { text = text.dropLast() }
        return String(text)
    }

    private static func isKeyType(_ field: String) -> Bool {
        field.hasPrefix("ssh-") || field.hasPrefix("ecdsa-") || field.hasPrefix("sk-")
    }
}

/// What the host-key check of one SFTP transfer expects and what it saw.
///
/// Lives inside `Transfer`, so only the transfer's own thread touches it.
struct HostKeyCheck {
    /// The configured fingerprint, if any.
    let expectedFingerprint: String?
    /// Why the key was refused, in words an operator can act on (nil while accepted).
    var rejection: String?

    /// Decides on the server's key: it must be in known_hosts (when one is configured) and
    /// match the configured fingerprint (when one is configured).
    mutating func accepts(blob: Data, type: curl_khtype, knownHostsMatch: curl_khmatch?) -> Bool {
        let fingerprint = SSHFingerprint.sha256(ofKeyBlob: blob)
        let seen = "\(fingerprint) (\(HostKeyCheck.name(of: type)))"
        let advice = "if the server's key really changed, confirm the new fingerprint with its operator before trusting it"
        if let knownHostsMatch, knownHostsMatch != CURLKHMATCH_OK {
            let problem = knownHostsMatch == CURLKHMATCH_MISMATCH
                ? "differs from the key the known_hosts file has for this host"
                : "is not in the known_hosts file"
            rejection = "refused the SFTP server: its host key \(seen) \(problem); \(advice)"
            return false
        }
        if let expectedFingerprint, !SSHFingerprint.configured(expectedFingerprint, matches: fingerprint) {
            rejection = "refused the SFTP server: its host key \(seen) does not match the configured fingerprint "
                + "SHA256:\(SSHFingerprint.normalized(expectedFingerprint)); \(advice)"
            return false
        }
        return true
    }

    static func name(of type: curl_khtype) -> String {
        switch type {
        case CURLKHTYPE_ED25519: "ED25519"
        case CURLKHTYPE_ECDSA: "ECDSA"
        case CURLKHTYPE_RSA: "RSA"
        case CURLKHTYPE_DSS: "DSA"
        case CURLKHTYPE_RSA1: "RSA1"
        default: "unknown key type"
        }
    }
}

/// CURLOPT_SSH_KEYFUNCTION: libcurl has looked the server's key up in the known_hosts file.
let curlKnownHostsKey: waterhub_sshkey_callback = { _, _, found, match, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    guard let found = found?.pointee, let key = found.key else {
        transfer.hostKey.rejection = "refused the SFTP server: it presented no host key"
        return Int32(CURLKHSTAT_REJECT.rawValue)
    }
    // `len` 0 means a NUL-terminated base64 string; otherwise raw bytes.
    let blob = found.len == 0 ? Data(base64Encoded: String(cString: key)) : Data(bytes: key, count: found.len)
    guard let blob, transfer.hostKey.accepts(blob: blob, type: found.keytype, knownHostsMatch: match) else {
        if transfer.hostKey.rejection == nil { transfer.hostKey.rejection = "refused the SFTP server: its host key cannot be read" }
        return Int32(CURLKHSTAT_REJECT.rawValue)
    }
    return Int32(CURLKHSTAT_FINE.rawValue)
}

/// CURLOPT_SSH_HOSTKEYFUNCTION: the server's raw key, when only a fingerprint is configured.
let curlHostKey: waterhub_sshhostkey_callback = { context, type, key, length in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    guard let key, length > 0 else {
        transfer.hostKey.rejection = "refused the SFTP server: it presented no host key"
        return Int32(CURLKHMATCH_MISMATCH.rawValue)
    }
    let blob = Data(bytes: key, count: length)
    let accepted = transfer.hostKey.accepts(blob: blob, type: curl_khtype(rawValue: UInt32(bitPattern: type)), knownHostsMatch: nil)
    return Int32((accepted ? CURLKHMATCH_OK : CURLKHMATCH_MISMATCH).rawValue)
}
