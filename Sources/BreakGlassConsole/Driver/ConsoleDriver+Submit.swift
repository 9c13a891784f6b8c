public import BreakGlassCore
import BreakGlassEvidence
import Foundation

extension ConsoleDriver {
    /// Submits one approved request through the console (a fresh flow). See the variant with `resumeDraftID`.
    public func submit(
        _ request: RestorationRequest, hooks: SubmissionHooks, gate: GateResult? = nil,
        sources: SourceSnapshot? = nil
    ) async -> ConsoleOutcome {
        await submit(request, hooks: hooks, gate: gate, sources: sources, resumeDraftID: nil)
    }

    /// Submits one approved request through the console. Never throws: every end is an outcome with evidence.
    ///
    /// - Parameters:
    ///   - gate: the full gate's result and `sources` the snapshot it used, for the evidence (secrets masked).
    ///   - hooks: the pre-submit recheck, `beforeSubmit` (make `submitting` durable) and the IAM lookup.
    ///   - resumeDraftID: a draft saved by an earlier halt (issue 10, takeover resume). When the map can open
    ///     drafts, the flow signs in, opens it and continues from the screen the console shows; every later screen
    ///     is filled and asserted again from this request (a resume never broadens it), and the acknowledgement's
    ///     assertions re-check every value. When the draft cannot be opened, a fresh flow runs.
    public func submit(
        _ request: RestorationRequest, hooks: SubmissionHooks, gate: GateResult? = nil,
        sources: SourceSnapshot? = nil, resumeDraftID: String?
    ) async -> ConsoleOutcome {
        var state = newState(request)
        if let gate { state.recorder.document("gate.json", gate) }
        if let sources { state.recorder.document("sources.json", sources) }
        logger.info("console flow started", metadata: metadata(request))

        let browser: WebDriverSession
        let signedIn: SignInAhead?
        do {
            (browser, signedIn) = try await pool.leaseForFlow(preferSignedIn: resumeDraftID == nil)
        } catch {
            state.recorder.step("console", action: "lease browser session", outcome: "failed")
            let failure = ConsoleFailure(.consoleError, "no browser session could be opened")
            let record = takeoverRecord(failure, request: request, state: state, url: nil)
            return finish(.halted(record), request: request, state: &state)
        }
        let console = ConsoleSession(
            browser: browser, map: map, baseURL: configuration.baseURL,
            context: context(request), masker: masker)
        let result: ConsoleOutcome.Result
        var healthy = true
        do {
            let grant = try await runSubmission(
                console, request: request, hooks: hooks, resumeDraftID: resumeDraftID, signedIn: signedIn,
                state: &state)
            result = .granted(grant)
        } catch {
            healthy = !error.sessionBroken
            result = .halted(await halt(error, console: console, request: request, state: &state))
        }
        await pool.release(browser, healthy: healthy && !(state.clicked && result.isHalt))
        return finish(result, request: request, state: &state)
    }

    func runSubmission(
        _ console: ConsoleSession, request: RestorationRequest, hooks: SubmissionHooks,
        resumeDraftID: String?, signedIn: SignInAhead? = nil, state: inout FlowState
    ) async throws(ConsoleFailure) -> ConsoleGrant {
        var remaining = map.flow[...]
        if let signedIn, resumeDraftID == nil, await stillSignedIn(console, signedIn) {
            state.recorder.adopt(signedIn.recorder)
            state.entered.merge(signedIn.entered) { _, ahead in ahead }
            state.completedScreens.append(signedIn.screen)
            state.recorder.step(
                "console", screen: map.flow.dropFirst().first,
                action: "signed in ahead, still signed in after a reload",
                detail: "signed in at \(Timestamp.format(signedIn.signedInAt, fractional: true))")
            remaining = map.flow.dropFirst()
        } else {
            if signedIn != nil {
                state.recorder.step(
                    "console", action: "the sign-in done ahead has ended; signing in again", outcome: "failed")
            }
            try await startClean(console, state: &state)
        }
        if let resumeDraftID, let open = map.draft?.openPath, let first = map.flow.first {
            try await perform(first, console: console, state: &state, pressNext: true)
            try await console.navigate(open, extra: ["draft_id": resumeDraftID], screen: nil)
            if let shown = try await recogniseAnyFlowScreen(console, after: first) {
                state.recorder.step("console", screen: shown, action: "draft reopened", detail: resumeDraftID)
                state.notes.append("resumed from draft \(resumeDraftID) at screen \(shown)")
                remaining = map.flow[map.flow.firstIndex(of: shown)!...]
            } else {
                state.recorder.step(
                    "console", action: "draft could not be opened; fresh flow", outcome: "failed", detail: resumeDraftID
                )
                try await startClean(console, state: &state)
            }
        }
        for name in remaining {
            let span = Spans.start("console.screen \(name)", attributes: ["breakglass.screen": .string(name)])
            do {
                try await perform(name, console: console, state: &state, pressNext: name != map.submit.screen)
            } catch {
                span?.end(error: error.reasons.map(\.rawValue).joined(separator: ","))
                throw error
            }
            span?.end()
        }

        // Pre-submit: the recheck, then the console state once more, then the ledger.
        state.stage = .preSubmit
        let submitScreen = map.submit.screen
        state.recorder.mark("recheck_started")
        let (recheck, snapshot) = await hooks.recheck(request)
        state.recorder.mark("recheck_finished")
        state.recorder.document("recheck.json", RecheckRecord(result: recheck, snapshot: snapshot))
        guard recheck.passed else {
            state.recorder.step(
                "pre-submit", screen: submitScreen, action: "recheck", outcome: "failed",
                detail: recheck.findings.map(\.description).joined(separator: "; "))
            throw ConsoleFailure(
                reasons: recheck.codes,
                "pre-submit recheck failed: \(recheck.findings.map(\.description).joined(separator: "; "))",
                screen: submitScreen)
        }
        state.recorder.step("pre-submit", screen: submitScreen, action: "recheck passed")
        if let screen = map.screen(submitScreen) {
            try await console.await(screen.recognize, screen: submitScreen)
            try await console.checkAll(screen.assertions, screen: submitScreen)
        }
        try await console.requireConsoleOrigin("final submit", screen: submitScreen)
        state.recorder.step("pre-submit", screen: submitScreen, action: "console state re-asserted")
        do {
            try await hooks.beforeSubmit()
        } catch {
            state.beforeSubmitRefused = true
            state.recorder.step("pre-submit", screen: submitScreen, action: "record submitting", outcome: "failed")
            throw ConsoleFailure(
                .consoleError, "submitting could not be recorded; nothing was clicked", screen: submitScreen)
        }
        state.recorder.step("pre-submit", screen: submitScreen, action: "submitting recorded")
        // The click's page-load bound is set before the last check, so nothing with I/O sits between the check
        // and the click (a CI run saw a process paused right after the check, then click after a reclaim).
        try? await console.browser.setTimeouts(.init(pageLoad: .milliseconds(map.timeouts.confirmationMs)))
        if let refusal = await hooks.clickAllowed() {
            state.recorder.step(
                "pre-submit", screen: submitScreen, action: "click refused", outcome: "failed", detail: refusal)
            throw ConsoleFailure(.consoleError, "not clicked: \(refusal)", screen: submitScreen)
        }

        // The click. From here on, access may have been granted: every halt escalates.
        state.stage = .postSubmit
        state.clicked = true
        state.recorder.mark("click")
        state.recorder.step("post-submit", screen: submitScreen, action: "final click")
        let click = Spans.start("console.click", attributes: ["breakglass.screen": .string(submitScreen)])
        let clicked = ContinuousClock.now
        let confirmation: Confirmed
        do {
            try await console.press(
                map.submit.button, what: "submit", screen: submitScreen,
                navigationTimeoutMs: map.timeouts.confirmationMs, originChecked: true)
            CrashPoint.reach(.afterClick)
            confirmation = try await awaitConfirmation(console, request: request, state: &state)
        } catch {
            // A console error once the confirmation's bound has passed is the console not answering in time.
            let failure = error.late(ContinuousClock.now - clicked, bound: .milliseconds(map.timeouts.confirmationMs))
            click?.end(error: failure.reasons.map(\.rawValue).joined(separator: ","))
            throw failure
        }
        click?.end()
        CrashPoint.reach(.afterConfirmation)
        return try await verifyInIAM(confirmation, request: request, hooks: hooks, state: &state)
    }

    /// Which flow screen (after `first`) the console shows, waiting up to the screen timeout; `nil` when none
    /// (an error page, a missing draft).
    func recogniseAnyFlowScreen(_ console: ConsoleSession, after first: String) async throws(ConsoleFailure) -> String?
    {
        let candidates = map.flow.drop { $0 == first }.compactMap { map.screen($0) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(map.timeouts.screenMs))
        while clock.now < deadline {
            let page = try await console.wd("recognise", screen: first) {
                try await console.look(candidates.map(\.recognize), watching: true)
            }
            for (index, screen) in candidates.enumerated()
            where try await console.wd(
                "recognise", screen: screen.name, { try await console.recognised(screen.recognize, index, in: page) })
            {
                return screen.name
            }
            if console.firedWatch(in: page, expecting: nil) != nil { return nil }
            try? await Task.sleep(for: .milliseconds(map.timeouts.pollMs))
        }
        return nil
    }

    /// Whether a session signed in ahead still is: its page (the second flow screen, on the console's origin) is
    /// loaded again and recognised in one look. A console that ended the session shows its sign-in page instead.
    /// Nothing is filled before this answers.
    func stillSignedIn(_ console: ConsoleSession, _ signedIn: SignInAhead) async -> Bool {
        guard map.flow.first == signedIn.screen, let second = map.flow.dropFirst().first,
            let screen = map.screen(second)
        else { return false }
        do {
            try await console.requireConsoleOrigin("reload the signed-in page", screen: second)
            let url = try await console.browser.currentURL()
            try await console.browser.navigate(to: url)
            let page = try await console.look([screen.recognize], watching: true)
            guard console.firedWatch(in: page, expecting: second) == nil else { return false }
            return try await console.recognised(screen.recognize, 0, in: page)
        } catch {
            return false
        }
    }

    /// Whether this driver's map allows signing in ahead (`ConsoleMap.canSignInAhead`).
    public var canSignInAhead: Bool { map.canSignInAhead }

    /// Signs `browser` in to the console ahead of any request (`SignInAhead`): a clean start and the map's first
    /// screen, as a flow does them, with its steps and masked screenshot kept for the request that gets the
    /// session. `nil` (and `healthy: false` when the session is unusable) when the map does not allow it or it
    /// failed.
    public func signInAhead(_ browser: WebDriverSession) async -> (signedIn: SignInAhead?, healthy: Bool) {
        guard canSignInAhead, let first = map.flow.first else { return (nil, true) }
        var state = FlowState(
            recorder: EvidenceRecorder(
                caseID: "", tenantID: "", requestID: "", workerID: configuration.workerID, masker: masker))
        let console = ConsoleSession(
            browser: browser, map: map, baseURL: configuration.baseURL,
            context: ConsoleValue.Context(
                request: Self.signInPlaceholder, username: configuration.username, password: configuration.password),
            masker: masker)
        do {
            try await startClean(console, state: &state)
            try await perform(first, console: console, state: &state, pressNext: true)
        } catch {
            logger.info(
                "console sign-in ahead failed",
                metadata: ["breakglass.reasons": "\(error.reasons.map(\.rawValue).joined(separator: ","))"])
            return (nil, !error.sessionBroken)
        }
        return (
            SignInAhead(
                recorder: state.recorder, entered: state.entered, screen: first, signedInAt: Date(),
                since: .now),
            true
        )
    }

    /// The request behind a sign-in ahead's context: never read (`canSignInAhead` allows only credentials and
    /// literals there).
    static let signInPlaceholder = RestorationRequest(
        requestID: "", caseID: "", tenant: .init(id: "", name: ""), incident: .init(id: ""),
        requester: .init(adminID: "", identityAssuranceRef: ""),
        privilege: .init(role: "", scopes: [], durationMinutes: 0), approvals: [],
        packet: .init(id: "", sha256: ""), enqueuedAt: .distantPast, notAfter: .distantPast)

    /// Opens the start page with a clean console session (cookies of an earlier request deleted).
    func startClean(_ console: ConsoleSession, state: inout FlowState) async throws(ConsoleFailure) {
        let first = map.flow.first
        state.screen = first
        try await console.navigate(map.startPath, screen: first)
        try await console.wd("delete cookies", screen: first) { try await console.browser.deleteAllCookies() }
        try await console.navigate(map.startPath, screen: first)
        state.recorder.step("console", action: "opened the console")
    }

    /// One flow screen: recognise, assertions before filling, fill, assertions after, masked screenshot, next.
    func perform(
        _ name: String, console: ConsoleSession, state: inout FlowState, pressNext: Bool
    ) async throws(ConsoleFailure) {
        guard let screen = map.screen(name) else {
            throw ConsoleFailure.unexpectedScreen("the map has no screen \(name)", screen: name)
        }
        state.screen = name
        try await console.await(screen.recognize, screen: name)
        state.recorder.step("console", screen: name, action: "recognised")
        try await console.checkAll(screen.assertions.filter { $0.assertionPhase == .beforeFill }, screen: name)
        for field in screen.fields {
            let value = try await console.fill(field, screen: name)
            state.entered[field.field] = value
            state.recorder.step(
                "console", screen: name, action: "filled \(field.field)",
                detail: field.isSecret ? "(secret, not recorded)" : value)
        }
        try await console.checkAll(screen.assertions.filter { $0.assertionPhase == .afterFill }, screen: name)
        if !screen.assertions.isEmpty {
            state.recorder.step(
                "console", screen: name, action: "assertions passed", detail: "\(screen.assertions.count)")
        }
        let next = pressNext ? screen.buttons.next : nil
        if let png = await console.maskedScreenshot(screen: name, unmaskByPress: next != nil) {
            state.recorder.screenshot(png, screen: name, label: "checked")
        }
        state.completedScreens.append(name)
        if let next {
            try await console.press(next, what: "next", screen: name)
        }
    }

    enum Confirmed {
        case confirmed(id: String, status: String, expiresAt: String?)
        case duplicate(id: String)
    }

    /// Waits (bounded) for the confirmation or the "grant already exists" page, then parses it.
    func awaitConfirmation(
        _ console: ConsoleSession, request: RestorationRequest,
        state: inout FlowState
    ) async throws(ConsoleFailure) -> Confirmed {
        let spec = map.confirmation
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(map.timeouts.confirmationMs))
        var page: Confirmed?
        let rules = [spec.recognize] + (spec.duplicate.map { [$0.recognize] } ?? [])
        while page == nil {
            // One look at the page per poll: the confirmation, the "grant exists" page and the watch rules.
            let seen = try await console.wd("confirmation", screen: "confirmation") {
                try await console.look(rules, watching: true)
            }
            if try await console.wd(
                "confirmation", screen: "confirmation", { try await console.recognised(spec.recognize, 0, in: seen) })
            {
                let idText = try await console.text(spec.id.selector, screen: "confirmation")
                let id = idText.flatMap { ConsoleIDPattern.extract($0, pattern: spec.id.pattern) }
                let status = try await console.text(spec.status.selector, screen: "confirmation") ?? ""
                var expires: String?
                if let selector = spec.expiresAt?.selector {
                    expires = try await console.text(selector, screen: "confirmation")
                }
                if let png = await console.maskedScreenshot(screen: nil) {
                    state.recorder.screenshot(png, screen: "confirmation", label: "result")
                }
                state.recorder.mark("confirmation")
                let statusOK = spec.status.expected?.contains(status) ?? true
                state.recorder.document(
                    "confirmation.json",
                    ["confirmation_id": id ?? idText ?? "", "status": status, "expires_at": expires ?? ""])
                guard let id, statusOK else {
                    state.confirmationID = id ?? idText
                    let shown =
                        id ?? idText.map { $0.isEmpty ? "missing" : "\"\($0)\" (not matching the map's pattern)" }
                        ?? "missing"
                    throw ConsoleFailure(
                        .confirmationAmbiguous,
                        "confirmation page without a usable id or status (id \(shown), status \(status.isEmpty ? "missing" : status))",
                        screen: "confirmation")
                }
                page = .confirmed(id: id, status: status, expiresAt: expires)
            } else if let duplicate = spec.duplicate,
                try await console.wd(
                    "confirmation", screen: "confirmation",
                    { try await console.recognised(duplicate.recognize, 1, in: seen) })
            {
                let idText = try await console.text(duplicate.idSelector, screen: "confirmation") ?? ""
                let extracted = ConsoleIDPattern.extract(idText, pattern: duplicate.idPattern ?? spec.id.pattern)
                let id = extracted ?? idText
                if let png = await console.maskedScreenshot(screen: nil) {
                    state.recorder.screenshot(png, screen: "grant-exists", label: "result")
                }
                state.recorder.mark("confirmation")
                state.recorder.document(
                    "confirmation.json", ["existing_confirmation_id": id, "status": "already-exists"])
                guard extracted != nil else {
                    throw ConsoleFailure(
                        .confirmationAmbiguous, "the console says a grant exists but shows no usable id",
                        screen: "confirmation")
                }
                page = .duplicate(id: id)
            } else if let watch = console.firedWatch(in: seen, expecting: nil) {
                throw console.watchFailure(watch, screen: "confirmation")
            } else if clock.now >= deadline {
                throw ConsoleFailure.timeout(
                    "no confirmation within \(map.timeouts.confirmationMs) ms after the click", screen: "confirmation")
            } else {
                try? await Task.sleep(for: .milliseconds(map.timeouts.pollMs))
            }
        }
        return page!
    }

    /// Polls IAM admin-state (bounded) for the confirmed grant.
    func verifyInIAM(
        _ confirmed: Confirmed, request: RestorationRequest, hooks: SubmissionHooks,
        state: inout FlowState
    ) async throws(ConsoleFailure) -> ConsoleGrant {
        let (id, status, expires, duplicate): (String, String, String?, Bool) =
            switch confirmed {
            case .confirmed(let id, let status, let expiresAt): (id, status, expiresAt, false)
            case .duplicate(let id): (id, "already-exists", nil, true)
            }
        state.confirmationID = id
        state.recorder.step(
            "post-submit", screen: "confirmation",
            action: duplicate ? "console reports an existing grant" : "confirmed",
            detail: id)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.grantVerificationWindow)
        var last = SubmissionHooks.GrantVisibility.absent
        while true {
            last = await hooks.grantVisible(request.tenant.id, id)
            if last == .visible || clock.now >= deadline { break }
            try? await Task.sleep(for: configuration.grantVerificationInterval)
        }
        state.recorder.mark("iam_checked")
        guard last == .visible else {
            let why =
                if case .unavailable = last { "IAM admin-state could not be read" } else {
                    "the grant is not in IAM admin-state"
                }
            state.recorder.step("post-submit", action: "verify in IAM", outcome: "failed", detail: why)
            throw ConsoleFailure(
                .grantUnverified, "\(why) within the verification window (confirmation \(id))", screen: "confirmation")
        }
        state.recorder.step("post-submit", action: "verified in IAM", detail: id)
        if duplicate {
            state.notes.append(
                "the console reported an existing grant for this external reference; no new grant was made")
        }
        return ConsoleGrant(
            confirmationID: id, status: status, expiresAt: expires, scopes: request.privilege.scopes,
            byReconciliation: duplicate, verifiedInIAM: true)
    }

    struct RecheckRecord: Encodable {
        let result: GateResult
        let snapshot: PreSubmitSnapshot?
    }
}

extension ConsoleOutcome.Result {
    var isHalt: Bool { if case .halted = self { true } else { false } }
}
