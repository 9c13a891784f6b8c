import NIOHTTP1

/// The HTTP methods of the WebDriver protocol.
public enum WebDriverHTTPMethod: String, Sendable {
    case GET, POST, DELETE

    var nio: HTTPMethod {
        switch self {
        case .GET: .GET
        case .POST: .POST
        case .DELETE: .DELETE
        }
    }
}
