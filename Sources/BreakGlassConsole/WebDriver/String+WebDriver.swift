import Foundation

extension String {
    /// Percent-encoded for one URL path segment of a WebDriver command.
    var webDriverPathSegment: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? self
    }
}
