/// A console described without code (YAML): how to recognise each screen, what to fill from the request, what to
/// assert, what to mask in screenshots, which buttons to press, how the confirmation, drafts, the active-grants
/// listing and the revoke screen look, and which banners and pages mean "stop".
///
/// Load with `ConsoleMap.load(yaml:)` / `load(file:)`: every rule is checked at load and every violation is reported
/// with its path (`screens[3].fields[0].value: unknown value source ...`). A console whose ids and layout differ is
/// handled by writing another map. The shipped map for the simulator is `config/consoles/reference.yaml`.
public struct ConsoleMap: Sendable, Hashable, Codable {
    public var name: String
    public var description: String?
    /// Path (relative to the console's base URL) where a flow starts, typically the login page.
    public var startPath: String
    public var timeouts: Timeouts
    /// What names the page the console shows (optional): the `attribute` of `selector`'s first match, or, without
    /// an attribute, its trimmed text (a heading: `{ selector: h1 }`). With it, a page that is not the expected one
    /// halts `CONSOLE_UNEXPECTED_SCREEN` naming what was seen; without it, `CONSOLE_TIMEOUT`.
    public var screenMarker: Marker?
    /// Checked on every page the flow reaches; the first that matches halts with its reason.
    public var watch: [Watch]
    /// Selectors covered in every screenshot (in addition to each screen's own `mask`).
    public var mask: [String]
    public var screens: [Screen]
    /// The screens of a grant, in order; the last one holds the submit button.
    public var flow: [String]
    public var submit: Submit
    public var confirmation: Confirmation
    public var draft: Draft?
    public var activeGrants: ActiveGrants
    public var revoke: Revoke?

    public struct Timeouts: Sendable, Hashable, Codable {
        /// Bound on recognising each screen after a navigation or click. Default 15000.
        public var screenMs: Int
        /// Bound on the confirmation after the final click. Default 20000.
        public var confirmationMs: Int
        /// Poll interval while waiting. Default 100.
        public var pollMs: Int

        public init(screenMs: Int = 15_000, confirmationMs: Int = 20_000, pollMs: Int = 100) {
            self.screenMs = screenMs
            self.confirmationMs = confirmationMs
            self.pollMs = pollMs
        }

        enum CodingKeys: String, CodingKey {
            case screenMs = "screen_ms", confirmationMs = "confirmation_ms", pollMs = "poll_ms"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            screenMs = try c.decodeIfPresent(Int.self, forKey: .screenMs) ?? 15_000
            confirmationMs = try c.decodeIfPresent(Int.self, forKey: .confirmationMs) ?? 20_000
            pollMs = try c.decodeIfPresent(Int.self, forKey: .pollMs) ?? 100
        }
    }

    public struct Marker: Sendable, Hashable, Codable {
        public var selector: String
        /// The attribute holding the page's name; nil: the element's trimmed text.
        public var attribute: String?
    }

    /// How to recognise a page: an element matching `selector` exists and, when `text` is given, the text of
    /// `text_selector` (default: the same element) contains it.
    public struct Recognize: Sendable, Hashable, Codable {
        public var selector: String
        public var text: String?
        public var textSelector: String?

        public init(selector: String, text: String? = nil, textSelector: String? = nil) {
            self.selector = selector
            self.text = text
            self.textSelector = textSelector
        }

        enum CodingKeys: String, CodingKey {
            case selector, text
            case textSelector = "text_selector"
        }
    }

    /// A banner or page that means "stop" wherever it shows up.
    public struct Watch: Sendable, Hashable, Codable {
        public var name: String
        public var selector: String
        /// A console reason code (`CONSOLE_ERROR`, `CONSOLE_EXISTING_SESSION`, ...).
        public var reason: String
        /// Screens where this selector is expected and not a reason to stop (the login page itself).
        public var except: [String]?
        public var note: String?
    }

    public struct Field: Sendable, Hashable, Codable {
        /// The logical field name (`tenant_id`, `scopes`, ...), used in takeover records.
        public var field: String
        public var selector: String
        /// `text` (default), `checkbox` (tick when the value is true) or `checkboxes` (a group: exactly the listed
        /// values end up checked).
        public var kind: String?
        /// Value source: see `ConsoleValue`.
        public var value: String
        /// For `checkboxes`: the attribute holding each box's value. Default `value`.
        public var valueAttribute: String?
        /// Never shown in evidence or takeover records, even masked.
        public var secret: Bool?

        enum CodingKeys: String, CodingKey {
            case field, selector, kind, value, secret
            case valueAttribute = "value_attribute"
        }
    }

    public struct Assertion: Sendable, Hashable, Codable {
        /// `text_equals`, `text_contains`, `value_equals`, `present`, `absent`, `checked_exactly`, `checked_subset_of`,
        /// `list_equals`, `text_set_equals`, `count_equals` (`ConsoleAssertionKind`).
        public var kind: String
        public var selector: String
        /// Value source for the comparisons (not for `present`/`absent`).
        public var value: String?
        /// For `checked_exactly` / `list_equals`: attribute of each element (default `value` / the element text).
        public var attribute: String?
        /// For `text_set_equals`: what separates the items in the element's text (`", "`, `";"`, `"\n"`).
        public var separator: String?
        /// The console reason code when the assertion fails.
        public var reason: String
        /// `before_fill` or `after_fill` (default).
        public var phase: String?
        public var note: String?
    }

    public struct Buttons: Sendable, Hashable, Codable {
        public var next: String?
        public var saveDraft: String?

        enum CodingKeys: String, CodingKey {
            case next
            case saveDraft = "save_draft"
        }
    }

    public struct Screen: Sendable, Hashable, Codable {
        public var name: String
        /// What `screen_marker` reads on this screen (its heading, or its attribute value), when it differs from
        /// `name`: lets a report name the screen the console showed instead of its raw marker.
        public var marker: String?
        public var recognize: Recognize
        public var fields: [Field]
        public var assertions: [Assertion]
        public var mask: [String]
        public var buttons: Buttons

        enum CodingKeys: String, CodingKey {
            case name, marker, recognize, fields, assertions, mask, buttons
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            marker = try c.decodeIfPresent(String.self, forKey: .marker)
            recognize = try c.decode(Recognize.self, forKey: .recognize)
            fields = try c.decodeIfPresent([Field].self, forKey: .fields) ?? []
            assertions = try c.decodeIfPresent([Assertion].self, forKey: .assertions) ?? []
            mask = try c.decodeIfPresent([String].self, forKey: .mask) ?? []
            buttons = try c.decodeIfPresent(Buttons.self, forKey: .buttons) ?? Buttons(next: nil, saveDraft: nil)
        }
    }

    public struct Submit: Sendable, Hashable, Codable {
        /// The flow screen holding the final button (the last of `flow`).
        public var screen: String
        public var button: String
    }

    public struct Extract: Sendable, Hashable, Codable {
        public var selector: String
        /// A regular expression the whole trimmed text must match; with one capture group, the id is the group
        /// (`ConsoleIDPattern`).
        public var pattern: String?
        /// Accepted values (trimmed text), when given.
        public var expected: [String]?
    }

    public struct Confirmation: Sendable, Hashable, Codable {
        public var recognize: Recognize
        public var id: Extract
        public var status: Extract
        public var expiresAt: Extract?
        /// The console's "grant already exists" page, when it has one.
        public var duplicate: Duplicate?

        public struct Duplicate: Sendable, Hashable, Codable {
            public var recognize: Recognize
            public var idSelector: String
            /// How the existing grant's id is read from `id_selector`'s text (`ConsoleIDPattern`). Default: the
            /// confirmation id's pattern.
            public var idPattern: String?

            enum CodingKeys: String, CodingKey {
                case recognize
                case idSelector = "id_selector"
                case idPattern = "id_pattern"
            }
        }

        enum CodingKeys: String, CodingKey {
            case recognize, id, status, duplicate
            case expiresAt = "expires_at"
        }
    }

    public struct Draft: Sendable, Hashable, Codable {
        /// The page shown after "Save draft".
        public var recognize: Recognize
        public var idSelector: String
        /// How the draft id is read from `id_selector`'s text (`ConsoleIDPattern`). Default: the whole text.
        public var idPattern: String?
        /// Path that reopens a draft, with `{draft_id}`.
        public var openPath: String?

        enum CodingKeys: String, CodingKey {
            case recognize
            case idSelector = "id_selector"
            case idPattern = "id_pattern"
            case openPath = "open_path"
        }
    }

    public struct ActiveGrants: Sendable, Hashable, Codable {
        /// Path of the listing, with placeholders (`{tenant.id}`, `{external_reference}`), URL-encoded when filled.
        public var path: String
        public var recognize: Recognize
        /// One element per grant.
        public var row: String
        /// Where each column is read in a row: `attribute` of the row, or the text of `selector` inside it.
        /// Required: `confirmation_id`, `external_reference`; optional: `status`, `tenant_id`, `expires_at`.
        public var columns: [String: Column]
        /// Statuses that count as an active grant. Default: every status.
        public var activeStatus: [String]?

        public struct Column: Sendable, Hashable, Codable {
            public var attribute: String?
            public var selector: String?
            /// How the value is read from the attribute or text (`ConsoleIDPattern`). Default: the whole text.
            public var pattern: String?
        }

        enum CodingKeys: String, CodingKey {
            case path, recognize, row, columns
            case activeStatus = "active_status"
        }
    }

    public struct Revoke: Sendable, Hashable, Codable {
        /// Path of the revoke screen, with `{confirmation_id}`.
        public var path: String
        public var recognize: Recognize
        public var assertions: [Assertion]
        public var fields: [Field]
        public var button: String
        public var result: Result

        public struct Result: Sendable, Hashable, Codable {
            public var recognize: Recognize
            public var status: Extract
        }

        enum CodingKeys: String, CodingKey {
            case path, recognize, assertions, fields, button, result
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decode(String.self, forKey: .path)
            recognize = try c.decode(Recognize.self, forKey: .recognize)
            assertions = try c.decodeIfPresent([Assertion].self, forKey: .assertions) ?? []
            fields = try c.decodeIfPresent([Field].self, forKey: .fields) ?? []
            button = try c.decode(String.self, forKey: .button)
            result = try c.decode(Result.self, forKey: .result)
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, description, timeouts, watch, mask, screens, flow, submit, confirmation, draft, revoke
        case startPath = "start_path"
        case screenMarker = "screen_marker"
        case activeGrants = "active_grants"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        startPath = try c.decode(String.self, forKey: .startPath)
        timeouts = try c.decodeIfPresent(Timeouts.self, forKey: .timeouts) ?? Timeouts()
        screenMarker = try c.decodeIfPresent(Marker.self, forKey: .screenMarker)
        watch = try c.decodeIfPresent([Watch].self, forKey: .watch) ?? []
        mask = try c.decodeIfPresent([String].self, forKey: .mask) ?? []
        screens = try c.decode([Screen].self, forKey: .screens)
        flow = try c.decode([String].self, forKey: .flow)
        submit = try c.decode(Submit.self, forKey: .submit)
        confirmation = try c.decode(Confirmation.self, forKey: .confirmation)
        draft = try c.decodeIfPresent(Draft.self, forKey: .draft)
        activeGrants = try c.decode(ActiveGrants.self, forKey: .activeGrants)
        revoke = try c.decodeIfPresent(Revoke.self, forKey: .revoke)
    }

    /// The screen named `name`.
    public func screen(_ name: String) -> Screen? { screens.first { $0.name == name } }

    /// The screen whose marker is `value` (its `marker`, else its name), if any.
    public func screen(marked value: String) -> Screen? {
        screens.first { ($0.marker ?? $0.name) == value }
    }
}
