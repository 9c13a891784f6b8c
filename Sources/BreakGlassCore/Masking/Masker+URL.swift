import Foundation

extension Masker {
    /// A URL a person can read, with its secrets masked: scheme, host and port kept; a password in the userinfo, the
    /// query and the fragment dropped (`?***`, `#***`); each path segment masked on its own, so `/console/confirmation`
    /// stays readable while a token segment (`/reset/9f3c…`) does not. Text that is not a URL is masked as text.
    public func maskURL(_ text: String) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme, let host = components.host
        else {
            return mask(text)
        }
        var result = "\(scheme)://"
        if let user = components.user {
            result += mask(user) + (components.password == nil ? "@" : ":\(Self.replacement)@")
        }
        result += mask(host)
        if let port = components.port { result += ":\(port)" }
        result += components.path.split(separator: "/", omittingEmptySubsequences: false).map { mask(String($0)) }
            .joined(separator: "/")
        if components.query != nil { result += "?" + Self.replacement }
        if components.fragment != nil { result += "#" + Self.replacement }
        return result
    }
}
