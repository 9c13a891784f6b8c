import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import Crypto
import Foundation
import Hummingbird
import BreakGlassEvidence

/// The restoration status API on the ops server (issue 20.2; `docs/status-api.openapi.yaml`): what happened to a
/// case and tenant, the open hand-offs, and a sealed evidence bundle as an archive, for an escalation system, a bot
/// or a person holding the bearer token (`status.token_file`). Read-only; off unless the token is configured.
///
/// - `GET /v1/restorations/{case_id}/{tenant_id}`: state, result, reasons, takeover, confirmation, expiry, evidence,
///   resumes, revocation.
/// - `GET /v1/takeovers`: the open takeover records.
/// - `GET /v1/evidence/{bundle_id}`: the bundle directory as a POSIX tar archive.
///
/// 401 without the right token (compared in constant time), 400 for an id the contract forbids, 404 when unknown.
/// Errors are JSON `{"error": CODE, "detail": TEXT}` and never echo the token.
public struct StatusAPI: Sendable {
    let ledger: any Ledger
    let evidenceRoot: URL
    let tokenDigest: [UInt8]

    init(ledger: any Ledger, evidenceRoot: URL, token: Secret) {
        self.ledger = ledger
        self.evidenceRoot = evidenceRoot
        self.tokenDigest = Array(SHA256.hash(data: Data(token.revealed.utf8)))
    }

    /// Identifiers as the contract allows them (case and tenant ids, bundle ids).
    static func isValidIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 200,
            CharacterSet.alphanumerics.contains(first), first.isASCII
        else { return false }
        return text.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._:-".unicodeScalars.contains($0))
        }
    }

    /// Whether the request carries `Authorization: Bearer <token>` (digest compared in constant time).
    func authorized(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let presented = Array(SHA256.hash(data: Data(header.dropFirst("Bearer ".count).utf8)))
        return zip(presented, tokenDigest).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func json(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ detail: String) -> Response {
        var response = json(status, ["error": code, "detail": detail])
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer realm=\"breakglass\"" }
        return response
    }

    func register(on router: Router<BasicRequestContext>) {
        let api = self
        // Read-only: any other method under /v1/ is 405 with `Allow: GET` (not a 404 that reads as "no such").
        router.add(middleware: ReadOnlyMiddleware())
        router.get("v1/restorations/:case_id/:tenant_id") { request, context -> Response in
            guard api.authorized(request) else {
                return Self.error(.unauthorized, "unauthorized", "a bearer token is required")
            }
            let caseID = context.parameters.get("case_id") ?? ""
            let tenantID = context.parameters.get("tenant_id") ?? ""
            guard Self.isValidIdentifier(caseID), Self.isValidIdentifier(tenantID) else {
                return Self.error(
                    .badRequest, "invalid-id", "case and tenant ids are letters, digits and . _ : - (contract §2)")
            }
            return await api.restoration(RestorationKey(caseID: caseID, tenantID: tenantID))
        }
        router.get("v1/takeovers") { request, _ -> Response in
            guard api.authorized(request) else {
                return Self.error(.unauthorized, "unauthorized", "a bearer token is required")
            }
            return await api.openTakeovers()
        }
        router.get("v1/evidence/:bundle_id") { request, context -> Response in
            guard api.authorized(request) else {
                return Self.error(.unauthorized, "unauthorized", "a bearer token is required")
            }
            let bundleID = context.parameters.get("bundle_id") ?? ""
            guard Self.isValidIdentifier(bundleID), !bundleID.contains("..") else {
                return Self.error(.badRequest, "invalid-id", "a bundle id is letters, digits and . _ : -")
            }
            return api.evidenceArchive(bundleID)
        }
    }

    func restoration(_ key: RestorationKey) async -> Response {
        let entry: LedgerEntry?
        do { entry = try await ledger.entry(for: key) } catch {
            return Self.error(.serviceUnavailable, "ledger-unavailable", "the ledger could not be read")
        }
        guard let entry else { return Self.error(.notFound, "not-found", "no restoration for \(key)") }
        let takeover = try? await ledger.takeovers(for: key, openOnly: false, limit: 1).first
        let sightings = (try? await ledger.requestSightings(for: key)) ?? []
        var evidence: [[String: Any]] = []
        let events = (try? await ledger.events(for: key)) ?? []
        for row in events where row.message.routingKey == EventType.evidenceReady.rawValue {
            guard let object = try? JSONSerialization.jsonObject(with: row.message.body) as? [String: Any],
                let data = object["data"] as? [String: Any], let bundleID = data["bundle_id"] as? String
            else { continue }
            evidence.append([
                "bundle_id": bundleID, "manifest_sha256": data["manifest_sha256"] ?? NSNull(),
                "href": "/v1/evidence/\(bundleID)",
            ])
        }
        let result: Any =
            switch entry.state {
            case .granted: "granted"
            case .halted: "halted"
            case .rejected: "rejected"
            case .resolved: "resolved"
            default: NSNull()
            }
        var body: [String: Any] = [
            "case_id": key.caseID, "tenant_id": key.tenantID, "state": entry.state.rawValue, "result": result,
            "reasons": entry.reasons.map(\.rawValue), "request_id": entry.requestID,
            "request_ids_seen": sightings.map(\.requestID), "resumes": entry.resumeCount, "escalate": entry.escalate,
            "confirmation_id": entry.confirmationID ?? NSNull(),
            "grant_expires_at": entry.grantExpiresAt.map { Timestamp.format($0) } ?? NSNull(),
            "updated_at": Timestamp.format(entry.updatedAt), "evidence": evidence,
        ]
        body["takeover"] =
            takeover.map { takeover -> [String: Any] in
                [
                    "id": takeover.id, "stage": takeover.record.stage.rawValue, "escalate": takeover.record.escalate,
                    "reasons": takeover.record.reasons.map(\.rawValue),
                    "resolution": takeover.resolution?.rawValue ?? NSNull(),
                    "created_at": Timestamp.format(takeover.createdAt),
                ]
            } ?? NSNull()
        body["revocation"] =
            entry.revocation.map { revocation -> [String: Any] in
                [
                    "result": revocation.rawValue, "by": entry.revokedBy.map { Masker().mask($0) } ?? NSNull(),
                    "at": entry.revokedAt.map { Timestamp.format($0) } ?? NSNull(),
                ]
            } ?? NSNull()
        return Self.json(.ok, body)
    }

    func openTakeovers() async -> Response {
        let takeovers: [TakeoverEntry]
        do { takeovers = try await ledger.takeovers(for: nil, openOnly: true, limit: 1000) } catch {
            return Self.error(.serviceUnavailable, "ledger-unavailable", "the ledger could not be read")
        }
        return Self.json(
            .ok,
            [
                "takeovers": takeovers.map { takeover -> [String: Any] in
                    [
                        "id": takeover.id, "case_id": takeover.key.caseID, "tenant_id": takeover.key.tenantID,
                        "stage": takeover.record.stage.rawValue, "escalate": takeover.record.escalate,
                        "reasons": takeover.record.reasons.map(\.rawValue), "request_id": takeover.requestID,
                        "created_at": Timestamp.format(takeover.createdAt),
                    ]
                }
            ])
    }

    func evidenceArchive(_ bundleID: String) -> Response {
        let directory = evidenceRoot.appendingPathComponent(bundleID, isDirectory: true)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(EvidenceManifest.fileName).path)
        else {
            return Self.error(.notFound, "not-found", "no evidence bundle \(bundleID)")
        }
        guard let archive = try? TarArchive.directory(directory, prefix: bundleID) else {
            return Self.error(.serviceUnavailable, "evidence-unreadable", "the bundle could not be read")
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/x-tar", .contentDisposition: "attachment; filename=\"\(bundleID).tar\"",
            ], body: .init(byteBuffer: ByteBuffer(bytes: archive)))
    }
}

/// Answers every method but GET and HEAD under `/v1/` with 405 and `Allow: GET, HEAD`.
struct ReadOnlyMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/"), request.method != .get, request.method != .head else {
            return try await next(request, context)
        }
        var response = StatusAPI.error(.methodNotAllowed, "method-not-allowed", "this API is read-only: GET")
        response.headers[.allow] = "GET, HEAD"
        return response
    }
}

/// A minimal POSIX ustar writer (regular files and directories; names up to 100 bytes, or 255 with the prefix).
enum TarArchive {
    static func directory(_ root: URL, prefix: String) throws -> [UInt8] {
        var output: [UInt8] = []
        let files = try FileManager.default.subpathsOfDirectory(atPath: root.path).sorted()
        output += header(name: prefix + "/", size: 0, directory: true)
        for path in files {
            let url = root.appendingPathComponent(path)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                output += header(name: "\(prefix)/\(path)/", size: 0, directory: true)
                continue
            }
            let data = try Data(contentsOf: url)
            output += header(name: "\(prefix)/\(path)", size: data.count, directory: false)
            output += data
            output += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        output += [UInt8](repeating: 0, count: 1024)
        return output
    }

    static func header(name: String, size: Int, directory: Bool) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, length: Int) {
            put(
                String(String(value, radix: 8).suffix(length - 1)).leftPadded(length - 1), at: offset,
                length: length - 1)
        }
        var fileName = name
        var prefixField = ""
        if name.utf8.count > 100, let slash = name.utf8.prefix(155).lastIndex(of: UInt8(ascii: "/")) {
            prefixField = String(decoding: name.utf8[..<slash], as: UTF8.self)
            fileName = String(decoding: name.utf8[name.utf8.index(after: slash)...], as: UTF8.self)
        }
        put(fileName, at: 0, length: 100)
        octal(directory ? 0o700 : 0o600, at: 100, length: 8)
        octal(0, at: 108, length: 8)
        octal(0, at: 116, length: 8)
        octal(size, at: 124, length: 12)
        octal(Int(Date().timeIntervalSince1970), at: 136, length: 12)
        for index in 148..<156 { block[index] = 0x20 }
        block[156] = directory ? UInt8(ascii: "5") : UInt8(ascii: "0")
        put("ustar", at: 257, length: 6)
        put("00", at: 263, length: 2)
        put(prefixField, at: 345, length: 155)
        let checksum = block.reduce(0) { $0 + Int($1) }
        put(String(String(checksum, radix: 8)).leftPadded(6), at: 148, length: 6)
        block[154] = 0
        block[155] = 0x20
        return block
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
