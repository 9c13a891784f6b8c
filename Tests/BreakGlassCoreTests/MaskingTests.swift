import BreakGlassCore
import Testing

@Suite("Masking")
struct MaskingTests {
    @Test("literal secrets are replaced wherever they appear")
    func literals() {
        let masker = Masker(literals: ["sample-console-password", "tok-abc"])
        let text = "typed sample-console-password into #password; header tok-abc"
        let masked = masker.mask(text)
        #expect(!masked.contains("sample-console-password"))
        #expect(!masked.contains("tok-abc"))
        #expect(masked.contains("#password"))
    }

    @Test(
        "a URL in a takeover record stays readable: host, port and path kept, userinfo password, query and tokens masked"
    )
    func urls() {
        let masker = Masker(literals: ["sample-console-password"])
        #expect(
            masker.maskURL("http://127.0.0.1:40123/console/confirmation")
                == "http://127.0.0.1:40123/console/confirmation")
        #expect(
            masker.mask("http://127.0.0.1:40123/console/confirmation") != "http://127.0.0.1:40123/console/confirmation")
        let masked = masker.maskURL(
            "https://ops:sample-console-password@console.example:8443/reset/9f3c2a7b1e4d8c6f0a5b9e2d7c1f4a8b?token=abc123&x=1#frag"
        )
        #expect(masked.hasPrefix("https://ops:***@console.example:8443/reset/***"))
        #expect(masked.hasSuffix("?***#***"))
        #expect(
            !masked.contains("sample-console-password") && !masked.contains("abc123")
                && !masked.contains("9f3c2a7b1e4d8c6f0a5b"))
        #expect(masker.maskURL("not a url with sample-console-password") == "not a url with ***")
    }

    @Test("literals shorter than the minimum are ignored")
    func shortLiterals() {
        let masker = Masker(literals: ["ab"])
        #expect(masker.literals.isEmpty)
        #expect(masker.mask("about") == "about")
    }

    @Test("e-mail addresses keep the first letter and the top-level domain")
    func emails() {
        let masker = Masker()
        #expect(masker.mask("contact: jane.doe@acme.example.") == "contact: j***@***.example.")
        #expect(Masker.maskEmail("x@y.org") == "x***@***.org")
        // Idempotent.
        #expect(masker.mask(masker.mask("jane.doe@acme.example")) == "j***@***.example")
    }

    @Test("bearer and basic credentials keep the scheme only")
    func bearer() {
        let masker = Masker()
        #expect(masker.mask("Authorization: Bearer abc.def-123") == "Authorization: ***")
        #expect(masker.mask("sent bearer s3cr3t-token-value now") == "sent bearer *** now")
        #expect(masker.mask("Basic dXNlcjpwYXNz") == "Basic ***")
    }

    @Test("cookies are masked in headers and in key=value form")
    func cookies() {
        let masker = Masker()
        #expect(masker.mask("Set-Cookie: bgsim_session=abcd1234; Path=/console") == "Set-Cookie: ***")
        #expect(masker.mask("cookie bgsim_session=abcd1234 seen") == "cookie bgsim_session=*** seen")
        #expect(masker.mask("GET /x?csrf_token=zz99&page=2") == "GET /x?csrf_token=***&page=2")
    }

    @Test("JSON members whose key names a secret lose their value")
    func jsonMembers() {
        let masker = Masker()
        let json = #"{"password": "hunter22", "username": "svc-breakglass", "api_key":"k-1"}"#
        let masked = masker.mask(json)
        #expect(masked.contains(#""password": "***""#))
        #expect(masked.contains(#""api_key":"***""#))
        #expect(masked.contains("svc-breakglass"))
    }

    @Test("prose key: value pairs naming a secret are masked")
    func prose() {
        #expect(Masker().mask("password: hunter22, user: bob") == "password: ***, user: bob")
    }

    @Test("long opaque tokens keep their last four characters; dashed ids stay readable")
    func opaqueTokens() {
        let masker = Masker()
        let hash = "23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"
        #expect(masker.mask("packet \(hash)") == "packet ***1106")
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        #expect(!masker.mask(jwt).contains("eyJzdWIiOiIxMjM0NTY3ODkwIn0"))
        let bundle = "CASE-88121_tnt-4f9a2c_20261125T191000123Z_ab12cd"
        #expect(masker.mask(bundle) == bundle)
        let uuid = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
        #expect(masker.mask(uuid) == uuid)
        #expect(masker.mask("admins.restore users.reset-mfa") == "admins.restore users.reset-mfa")
    }

    @Test("ordinary request values are left alone")
    func ordinary() {
        let masker = Masker()
        let text =
            "tenant tnt-4f9a2c Acme Corp incident INC-5521 case CASE-88121 APR-1, APR-2 duration 120 at 2026-11-25T18:20:00Z"
        #expect(masker.mask(text) == text)
    }

    @Test("identifiers keep their last characters")
    func identifiers() {
        #expect(Masker.maskIdentifier("adm-7781") == "****7781")
        #expect(Masker.maskIdentifier("adm-7781", keep: 2) == "****81")
        #expect(Masker.maskIdentifier("ab") == "***")
        #expect(Masker.maskIdentifier("a-very-long-identifier-1234", keep: 4) == "****1234")
    }

    @Test("fields: secret fields and secret-named keys are replaced whole")
    func fields() {
        let masker = Masker()
        let masked = masker.maskFields(
            ["password": "x", "tenant_id": "tnt-1", "contact": "a.b@c.example", "pin": "1234"],
            secretFields: ["pin"])
        #expect(masked == ["password": "***", "tenant_id": "tnt-1", "contact": "a***@***.example", "pin": "***"])
        #expect(masker.maskField("svc", secret: true) == "***")
        #expect(masker.maskField("adm-7781", secret: false, keepIdentifierSuffix: 2) == "****81")
    }

    @Test("a header value ends at the line end: CR LF is two scalars, not one character that a value runs across")
    func headerValueEndsAtCRLF() {
        let masker = Masker()
        #expect(masker.mask("Cookie: a=1\r\nX-Trace: keep") == "Cookie: ***\r\nX-Trace: keep")
        #expect(masker.mask("Set-Cookie: a=1\rHost: h") == "Set-Cookie: ***\rHost: h")
        #expect(masker.mask("Authorization: Basic dXNl\r\n\r\nbody") == "Authorization: ***\r\n\r\nbody")
        // Whitespace after the colon may still cross a line end before the value.
        #expect(masker.mask("Cookie:\r\n  a=1\r\nnext") == "Cookie:\r\n  ***\r\nnext")
    }

    @Test("a key after a dot, a digit or a dash starts a word: x.password=v, 1password=v are masked")
    func simpleWordBoundaries() {
        let masker = Masker()
        #expect(masker.mask("x.password=hunter2value") == "x.password=***")
        #expect(masker.mask("cfg.api.token: abc") == "cfg.api.token: ***")
        // Digits are not word characters for the boundary (as in Swift Regex's simple boundaries over scalars).
        #expect(masker.mask("1password=hunter2value") == "1password=***")
        // A letter (ASCII or not) or `_` before the key joins it to the word before.
        #expect(masker.mask("my_password=hunter2value") == "my_password=***")
        #expect(masker.mask("\u{E9}bearer abc") == "\u{E9}bearer abc")
        #expect(masker.mask("_bearer abc") == "_bearer abc")
    }

    @Test("case is ignored in ASCII for header names and schemes, and the Kelvin sign counts as k")
    func caseFolding() {
        let masker = Masker()
        #expect(masker.mask("SET-COOKIE: a=1") == "SET-COOKIE: ***")
        #expect(masker.mask("coo\u{212A}ie: a=1") == "coo\u{212A}ie: ***")
        // The long s is not folded to s: `cookie` alone is found, after it.
        #expect(masker.mask("\u{17F}et-cookie: a=1") == "\u{17F}et-cookie: ***")
        #expect(masker.mask("\u{17F}ession=abc") == "\u{17F}ession=abc")
    }

    @Test("a Secret added to a masker is masked")
    func secretValue() {
        let masker = Masker().adding(Secret("canary-bearer-token-Z9"))
        #expect(masker.mask("x canary-bearer-token-Z9 y") == "x *** y")
    }
}
