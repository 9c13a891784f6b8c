"""A hand-written W3C WebDriver script of the reference console's grant flow (the console benchmark's baseline).

No framework: http.client speaking W3C WebDriver to chromedriver over one keep-alive connection. It walks the same
nine screens the worker's console map describes (login, tenant, tenant-verify, incident, incident-verify, scope,
expiration, approvals, acknowledgement), fills the same fields, checks the same facts a careful person would
(screen marker and heading, tenant/incident/summary texts, exactly the approved scopes), takes a masked screenshot
of every screen (the worker keeps one per screen as evidence), submits and reads the confirmation.
It does what the worker's console driver does inside the browser, and nothing the worker does outside it (no live
sources, no ledger, no evidence files).
"""
import base64
import http.client
import json
import time
import urllib.parse

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1024"]
# The worker's browser options since issue 21.4 (WebDriverClient.Configuration.defaultChromiumArguments and
# defaultChromiumPreferences, Sources/BreakGlassConsole/WebDriver/WebDriverClient.swift): the bench's diagnostic run
# of this script with them shows how much of the worker's lead is the browser's options. The baseline keeps
# CHROMIUM_ARGS, the flags a person writing this script would use.
WORKER_CHROMIUM_ARGS = CHROMIUM_ARGS + [
    "--remote-debugging-pipe", "--incognito", "--disable-extensions", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
    "--disable-field-trial-config",
    "--disable-features=RenderDocument,BackForwardCache,PaintHolding,OptimizationHints,Translate,MediaRouter,"
    "AutofillServerCommunication,InterestFeedContentSuggestions"]
WORKER_CHROMIUM_PREFS = {
    "credentials_enable_service": False, "profile.password_manager_enabled": False, "autofill.profile_enabled": False,
    "autofill.credit_card_enabled": False, "search.suggest_enabled": False, "safebrowsing.enabled": False,
    "translate.enabled": False, "net.network_prediction_options": 2}
MASK = """
var sel = ['#tenant-contact-email', '#tenant-contact-email-v2', 'input[type=password]'], n = 0;
for (var i = 0; i < sel.length; i++) { var els = document.querySelectorAll(sel[i]);
  for (var j = 0; j < els.length; j++) { var r = els[j].getBoundingClientRect(); if (!r.width && !r.height) continue;
    var d = document.createElement('div'); d.setAttribute('data-bench-mask', '1');
    d.style.cssText = 'position:fixed;left:' + r.left + 'px;top:' + r.top + 'px;width:' + r.width + 'px;height:' +
      r.height + 'px;background:#000;z-index:2147483647'; document.body.appendChild(d); n++; } }
return n;"""
UNMASK = "var m = document.querySelectorAll('[data-bench-mask]'); m.forEach(function (e) { e.remove(); }); return m.length;"


class WebDriverFailure(Exception):
    pass


class Session:
    def __init__(self, url, chromium="/usr/bin/chromium", args=None, prefs=None, exclude=None):
        parsed = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        options = {"args": args or CHROMIUM_ARGS, "binary": chromium}
        if prefs:
            options["prefs"] = prefs
        if exclude:
            options["excludeSwitches"] = exclude
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "pageLoadStrategy": "normal", "goog:chromeOptions": options}}}
        self.id = self._call("POST", "/session", caps)["sessionId"]
        self._call("POST", f"/session/{self.id}/timeouts", {"implicit": 0, "pageLoad": 20000, "script": 10000})

    def _call(self, method, path, body=None):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        if response.status != 200:
            error = payload.get("value", {}).get("error", "unknown error")
            raise WebDriverFailure(f"{method} {path.split('/')[-1]}: {error}")
        return payload.get("value")

    def cmd(self, method, suffix, body=None):
        return self._call(method, f"/session/{self.id}{suffix}", body)

    def navigate(self, url):
        self.cmd("POST", "/url", {"url": url})

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self.cmd("POST", "/elements", {"using": "css selector", "value": css})]

    def text(self, css):
        return self.cmd("GET", f"/element/{self.find(css)}/text")

    def attribute(self, element, name):
        return self.cmd("GET", f"/element/{element}/attribute/{name}")

    def fill(self, css, value):
        element = self.find(css)
        self.cmd("POST", f"/element/{element}/clear")
        self.cmd("POST", f"/element/{element}/value", {"text": value})

    def click(self, css_or_element, is_element=False):
        element = css_or_element if is_element else self.find(css_or_element)
        self.cmd("POST", f"/element/{element}/click")

    def property(self, element, name):
        return self.cmd("GET", f"/element/{element}/property/{name}")

    def selected(self, element):
        return self.cmd("GET", f"/element/{element}/selected")

    def script(self, source, args=None):
        return self.cmd("POST", "/execute/sync", {"script": source, "args": args or []})

    def screenshot(self):
        self.script(MASK)
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        self.script(UNMASK)
        return png

    def delete(self):
        try:
            self._call("DELETE", f"/session/{self.id}")
        finally:
            self.conn.close()


def wait_screen(session, name, heading=None, timeout=15.0):
    """Polls (10 ms) until the page's main[data-screen] is `name` (and its h1 contains `heading`, as the map says)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            marker = session.script("var m = document.querySelector('main[data-screen]'); return m ? m.getAttribute('data-screen') : null;")
            if marker == name and (heading is None or heading in session.text("h1")):
                return
            if marker == "error":
                raise WebDriverFailure(f"console error page instead of {name}")
        except WebDriverFailure:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise WebDriverFailure(f"screen {name} not shown within {timeout} s")
        time.sleep(0.01)


def expect(actual, wanted, what):
    if actual.strip() != wanted:
        raise WebDriverFailure(f"{what}: the console shows something else")


def grant(session, base_url, username, password, request):
    """One grant through the console, screen by screen. Returns the confirmation id and the screenshots taken."""
    tenant, name = request["tenant"]["id"], request["tenant"]["name"]
    reference = f"{request['case_id']}/{tenant}"
    incident = request["incident"]["id"]
    scopes = request["privilege"]["scopes"]
    duration = str(request["privilege"]["duration_minutes"])
    approvals = ", ".join(a["approval_id"] for a in request["approvals"])
    packet = request["packet"]
    shots = 0

    session.navigate(base_url + "/console/login")
    session.cmd("DELETE", "/cookie")
    session.navigate(base_url + "/console/login")
    wait_screen(session, "login", "Sign in")
    session.fill("#username", username)
    session.fill("#password", password)
    session.screenshot(); shots += 1
    session.click("#login-submit")

    wait_screen(session, "tenant", "Tenant lookup")
    session.fill("#tenant-id", tenant)
    session.fill("#external-reference", reference)
    session.screenshot(); shots += 1
    session.click("#next")

    wait_screen(session, "tenant-verify", "Verify tenant")
    if session.find_all("#existing-session-banner"):
        raise WebDriverFailure("existing session banner")
    expect(session.text("#tenant-display-id"), tenant, "tenant id")
    expect(session.text("#tenant-display-name"), name, "tenant name")
    expect(session.text("#external-reference-display"), reference, "external reference")
    session.screenshot(); shots += 1
    session.click("#next")

    wait_screen(session, "incident", "Incident reference")
    session.fill("#incident-id", incident)
    session.screenshot(); shots += 1
    session.click("#next")

    wait_screen(session, "incident-verify", "Verify incident")
    expect(session.text("#incident-display-id"), incident, "incident id")
    if tenant not in session.text("#incident-tenants"):
        raise WebDriverFailure("incident does not list the tenant")
    session.screenshot(); shots += 1
    session.click("#next")

    wait_screen(session, "scope", "Temporary privilege scope")
    boxes = session.find_all("input[type=checkbox][name=scope]")
    for box in boxes:
        if session.selected(box) != (session.attribute(box, "value") in scopes):
            session.click(box, is_element=True)
    checked = sorted(session.attribute(b, "value") for b in boxes if session.selected(b))
    if checked != sorted(scopes):
        raise WebDriverFailure("scopes drifted")
    session.screenshot(); shots += 1
    session.click("#next")

    wait_screen(session, "expiration", "Expiration")
    session.fill("#duration-minutes", duration)
    if str(session.property(session.find("#duration-minutes"), "value")) != duration:
        raise WebDriverFailure("duration not taken")
    session.screenshot(); shots += 1
    session.click("#next")

    wait_screen(session, "approvals", "Customer-account approval evidence")
    session.fill("#approval-references", approvals)
    session.fill("#packet-id", packet["id"])
    session.fill("#packet-sha256", packet["sha256"])
    session.screenshot(); shots += 1
    session.click("#next")

    wait_screen(session, "acknowledgement", "Acknowledgement")
    expect(session.text("#summary-tenant-id"), tenant, "summary tenant id")
    expect(session.text("#summary-tenant-name"), name, "summary tenant name")
    expect(session.text("#summary-external-reference"), reference, "summary reference")
    expect(session.text("#summary-incident-id"), incident, "summary incident")
    listed = [session.attribute(e, "data-scope") for e in session.find_all("#summary-scopes li.summary-scope")]
    if listed != scopes:
        raise WebDriverFailure("summary scopes differ")
    expect(session.text("#summary-duration-minutes"), duration, "summary duration")
    expect(session.text("#summary-approval-references"), approvals, "summary approvals")
    expect(session.text("#summary-packet-id"), packet["id"], "summary packet id")
    expect(session.text("#summary-packet-sha256"), packet["sha256"], "summary packet sha256")
    ack = session.find("#acknowledge")
    if not session.selected(ack):
        session.click(ack, is_element=True)
    session.screenshot(); shots += 1
    session.click("#submit")

    wait_screen(session, "confirmation", None, timeout=20.0)
    confirmation = session.text("#confirmation-id").strip()
    if session.text("#confirmation-status").strip() != "active":
        raise WebDriverFailure("grant not active")
    session.screenshot(); shots += 1
    # Leave the session clean for the next request, as the worker's pool does when a session is given back.
    session.cmd("DELETE", "/cookie")
    session.navigate("about:blank")
    return confirmation, shots
