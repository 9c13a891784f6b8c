public import BreakGlassCore
public import Foundation
import BreakGlassEvidence

/// What `breakglass console record` saw of a console (issue 19.6): each page the walk reached, as facts a map author
/// writes a map from (headings, form fields, buttons, elements that show a value), with a masked screenshot.
public struct ConsoleRecording: Sendable, Codable {
    public var map: String
    public var pages: [Page]
    /// Why the walk stopped: always before the final submit (`before the final submit`), or at the first page the
    /// map could not take (the failure, masked).
    public var stoppedBecause: String

    public struct Page: Sendable, Codable {
        /// 1-based, in the order reached.
        public var index: Int
        /// The map's screen the page was recognised as; nil for the page the walk stopped on unrecognised.
        public var screen: String?
        /// Path and query of the page (no scheme, host or fragment).
        public var path: String
        /// What `screen_marker` reads, when the map has one.
        public var marker: String?
        public var headings: [String]
        public var fields: [Field]
        public var buttons: [Button]
        /// Elements with an id or a `data-*` attribute and a short text of their own: candidates for assertions.
        public var values: [Value]
        /// The masked screenshot's file name in the output folder.
        public var screenshot: String?
    }

    public struct Field: Sendable, Codable {
        public var selector: String
        public var tag: String
        public var type: String?
        public var name: String?
        public var label: String?
        /// Masked; never the value of a password field.
        public var value: String?
        public var checked: Bool?
        public var disabled: Bool?
    }

    public struct Button: Sendable, Codable {
        public var selector: String
        public var text: String
        public var name: String?
        public var value: String?
    }

    public struct Value: Sendable, Codable {
        public var selector: String
        /// Masked.
        public var text: String
    }

    enum CodingKeys: String, CodingKey {
        case map, pages
        case stoppedBecause = "stopped_because"
    }
}

extension ConsoleDriver {
    /// Walks the map's flow with `request` in a real browser, recording every page it reaches, and stops **before**
    /// the final submit (the submit screen is recorded, its button never pressed), or at the first page the map
    /// cannot take (recorded too, unrecognised). Never saves a draft, never touches the ledger; the console keeps
    /// whatever the walk entered only in its own browser session. Screenshots are masked like evidence; recorded
    /// values go through the worker's masker and password fields are never read.
    public func record(_ request: RestorationRequest, into directory: URL) async -> ConsoleRecording {
        var recording = ConsoleRecording(map: map.name, pages: [], stoppedBecause: "")
        let browser: WebDriverSession
        do {
            browser = try await pool.lease()
        } catch {
            recording.stoppedBecause = "no browser session could be opened"
            return recording
        }
        let console = ConsoleSession(
            browser: browser, map: map, baseURL: configuration.baseURL,
            context: context(request), masker: masker)
        var state = newState(request)
        var healthy = true
        do {
            try await startClean(console, state: &state)
            for name in map.flow {
                guard let screen = map.screen(name) else { break }
                try await console.await(screen.recognize, screen: name)
                await recordPage(console, screen: name, into: directory, recording: &recording)
                // Fill and assert like a real flow; press next except on the submit screen.
                try await perform(name, console: console, state: &state, pressNext: name != map.submit.screen)
            }
            recording.stoppedBecause =
                "before the final submit (\(map.submit.button) on screen \(map.submit.screen) was not pressed)"
        } catch {
            healthy = !error.sessionBroken
            recording.stoppedBecause =
                "\(error.reasons.map(\.rawValue).joined(separator: ", ")): \(masker.mask(error.detail))"
            // The page the walk stopped on, as it is now (an unknown page, or a known one after filling).
            await recordPage(console, screen: nil, into: directory, recording: &recording)
        }
        await pool.release(browser, healthy: healthy)
        return recording
    }

    /// One page's facts, read with one script, plus a masked screenshot.
    func recordPage(
        _ console: ConsoleSession, screen: String?, into directory: URL, recording: inout ConsoleRecording
    ) async {
        let index = recording.pages.count + 1
        var page = ConsoleRecording.Page(
            index: index, screen: screen, path: "", marker: await console.currentMarker(),
            headings: [], fields: [], buttons: [], values: [], screenshot: nil)
        if let url = try? await console.browser.currentURL(), let components = URLComponents(string: url) {
            page.path = components.path + (components.query.map { "?" + masker.mask($0) } ?? "")
        }
        if let facts = try? await console.browser.executeScript(Self.recordScript), let text = facts.string,
            let decoded = try? JSONDecoder().decode(PageFacts.self, from: Data(text.utf8))
        {
            page.headings = decoded.headings.map { masker.mask($0) }
            page.fields = decoded.fields.map { field in
                var field = field
                field.value = field.type == "password" ? nil : field.value.map { masker.mask($0) }
                field.label = field.label.map { masker.mask($0) }
                return field
            }
            page.buttons = decoded.buttons.map { button in
                var button = button
                button.text = masker.mask(button.text)
                return button
            }
            page.values = decoded.values.map { .init(selector: $0.selector, text: masker.mask($0.text)) }
        }
        if let png = await console.maskedScreenshot(screen: screen) {
            let name = String(format: "%02d-%@.png", index, screen ?? "unrecognised")
            do {
                try DurableFiles.write(png, to: directory.appendingPathComponent(name).path)
                page.screenshot = name
            } catch {
                logger.warning(
                    "console record: the screenshot could not be written", metadata: ["breakglass.path": "\(name)"])
            }
        }
        recording.pages.append(page)
    }

    struct PageFacts: Decodable {
        var headings: [String]
        var fields: [ConsoleRecording.Field]
        var buttons: [ConsoleRecording.Button]
        var values: [ConsoleRecording.Value]
    }

    /// Reads a page's headings, form fields (with a selector for each: id, else name, else data-field), buttons and
    /// short texts of elements with an id or a data-field; returns JSON. Password values are never read.
    static let recordScript = """
        function sel(e) {
          var tag = e.tagName.toLowerCase();
          if (e.id) return '#' + CSS.escape(e.id);
          var name = e.getAttribute('name');
          if (name) {
            var s = tag + '[name="' + name + '"]';
            if (e.type === 'checkbox' || e.type === 'radio' || tag === 'button') s += '[value="' + (e.getAttribute('value') || '') + '"]';
            return s;
          }
          var df = e.getAttribute('data-field');
          if (df) return '[data-field="' + df + '"]';
          var cls = (e.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean)[0];
          return cls ? tag + '.' + CSS.escape(cls) : tag;
        }
        function clip(t) { t = (t || '').replace(/\\s+/g, ' ').trim(); return t.length > 200 ? t.slice(0, 200) + '…' : t; }
        function label(e) {
          if (e.id) { var l = document.querySelector('label[for="' + CSS.escape(e.id) + '"]'); if (l) return clip(l.innerText); }
          var p = e.closest('label'); return p ? clip(p.innerText) : null;
        }
        var out = {headings: [], fields: [], buttons: [], values: []};
        document.querySelectorAll('h1, h2, h3').forEach(function (h) { out.headings.push(clip(h.innerText)); });
        document.querySelectorAll('input, select, textarea').forEach(function (e) {
          if (e.type === 'hidden') return;
          out.fields.push({selector: sel(e), tag: e.tagName.toLowerCase(), type: e.type || null,
            name: e.getAttribute('name'), label: label(e),
            value: e.type === 'password' || e.type === 'checkbox' || e.type === 'radio' ? null : clip(e.value),
            checked: (e.type === 'checkbox' || e.type === 'radio') ? e.checked : null, disabled: e.disabled || null});
        });
        document.querySelectorAll('button, input[type=submit]').forEach(function (e) {
          out.buttons.push({selector: sel(e), text: clip(e.innerText || e.value), name: e.getAttribute('name'),
            value: e.getAttribute('value')});
        });
        document.querySelectorAll('[id], [data-field]').forEach(function (e) {
          var tag = e.tagName.toLowerCase();
          if (['input', 'select', 'textarea', 'button', 'form', 'main', 'nav', 'html', 'body', 'script', 'style'].indexOf(tag) >= 0) return;
          var text = clip(e.innerText);
          if (text && text.length <= 200 && e.children.length <= 1) out.values.push({selector: sel(e), text: text});
        });
        return JSON.stringify(out);
        """
}
