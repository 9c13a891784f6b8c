public import BreakGlassCore
public import Foundation

// Key files, read at the edge: BreakGlassCore parses key material from bytes and text and never touches the file
// system (issue 14.6). Errors name the path, never the key material.

extension TrustedKeys {
    /// The trusted-keys JSON document at `url` (contract §3).
    public init(contentsOf url: URL) throws(KeyFileError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(url.path) }
        try self.init(json: data)
    }
}

extension RequestSigner {
    /// A seed file (the standard base64 of 32 bytes, surrounding whitespace ignored).
    public init(keyID: String, seedFile url: URL) throws(KeyFileError) {
        guard let data = try? Data(contentsOf: url) else { throw .unreadable(url.path) }
        try self.init(keyID: keyID, seedBase64: String(decoding: data, as: UTF8.self))
    }
}
