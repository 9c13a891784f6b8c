/// Renders one console page: the layout, the `data-screen` marker, element ids (renamed under `id_drift`) and the
/// CSRF field of its forms.
struct ConsolePage {
    let screen: ConsoleScreen
    /// Element ids get the suffix `-v2` (the `id_drift` fault).
    let drift: Bool
    /// The session's CSRF token; `nil` on pages without a session.
    let csrfToken: String?
    /// Whether to show the signed-in navigation.
    let signedIn: Bool
    /// How the console is built.
    var layout: ConsoleLayout = .reference

    /// ` id="name"` (or the drifted name); the alternate console has no ids: ` data-field="name"`.
    func id(_ name: String) -> String {
        let value = drift ? name + "-v2" : name
        return layout == .alternate ? " data-field=\"\(value)\"" : " id=\"\(value)\""
    }

    /// The hidden CSRF input of a form.
    var csrfField: String {
        guard let csrfToken else { return "" }
        return "<input type=\"hidden\" name=\"csrf_token\" value=\"\(csrfToken.html)\">"
    }

    /// "Continue" and "Save draft" buttons of a flow screen.
    func flowButtons(next: String = "Continue") -> String {
        """
        <div class="actions">
          <button type="submit" name="action" value="next"\(id("next")) class="primary">\(next.html)</button>
          <button type="submit" name="action" value="save-draft"\(id("save-draft")) formnovalidate>Save draft</button>
        </div>
        """
    }

    /// An error line under a form's title, or nothing.
    func formError(_ message: String?) -> String {
        guard let message else { return "" }
        return "<p\(id("form-error")) class=\"form-error\" role=\"alert\">\(message.html)</p>"
    }

    func render(_ body: String, script: String? = nil) -> String {
        var nav = ""
        if signedIn {
            nav = """
                <nav\(id("console-nav"))>
                  <a\(id("nav-new")) href="/console/tenant?new=1">New break-glass request</a>
                  <a\(id("nav-grants")) href="/console/grants">Active grants</a>
                  <form method="post" action="/console/logout" class="inline">\(csrfField)<button type="submit"\(id("logout"))>Sign out</button></form>
                </nav>
                """
        }
        let scriptTag = script.map { "<script>\($0)</script>" } ?? ""
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(screen.title.html) · Emergency Admin Console</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
            header { background: #1d2330; color: #fff; padding: 12px 24px; display: flex; justify-content: space-between; align-items: center; }
            header a, header button { color: #fff; margin-left: 16px; background: none; border: 0; font: inherit; cursor: pointer; text-decoration: underline; }
            form.inline { display: inline; }
            main { max-width: 760px; margin: 24px auto; background: #fff; padding: 24px 32px; border-radius: 6px; }
            label { display: block; margin-top: 12px; font-weight: 600; }
            input[type=text], input[type=password], input[type=number], textarea { width: 100%; padding: 6px; box-sizing: border-box; }
            .actions { margin-top: 20px; }
            .actions button { padding: 8px 16px; margin-right: 8px; }
            .primary { background: #0b5cad; color: #fff; border: 0; border-radius: 4px; }
            .banner { padding: 12px; border-radius: 4px; margin: 12px 0; }
            .banner-warning { background: #fff3cd; border: 1px solid #e0b000; }
            .banner-info { background: #e7f1ff; border: 1px solid #5a8dd6; }
            .form-error { color: #a40000; font-weight: 600; }
            dl.values dt { font-weight: 600; margin-top: 8px; }
            dl.values dd { margin-left: 0; font-family: ui-monospace, monospace; }
            table { border-collapse: collapse; width: 100%; }
            td, th { border-bottom: 1px solid #ddd; padding: 6px; text-align: left; }
            .scope-option label { display: inline; font-weight: normal; }
            </style>
            </head>
            <body>
            <header><span class="brand">Emergency Admin Console</span>\(nav)</header>
            \(layout == .alternate ? "<main>" : "<main data-screen=\"\(screen.rawValue)\">")
            <h1\(id("screen-title"))>\(screen.title.html)</h1>
            \(body)
            </main>
            \(scriptTag)
            </body>
            </html>
            """
    }
}
