"""The chaos checker's invariants (scripts/lib/chaos_checks.py) against a recorded run folder (fixtures/chaos-run, a
real quick run trimmed to 9 keys): every invariant holds on it, and each one reports a violation on a copy mutated
to break it. Also the report (the lines scripts/test shows) and the collect step's pure helpers (chaos.py).
Standard library only; no services."""
import collections
import contextlib
import io
import json
import os
import pathlib
import shutil
import sys
import tempfile
import unittest

LIB = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LIB))
import chaos_checks  # noqa: E402
from chaos_checks import INVARIANTS  # noqa: E402

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "chaos-run"
GRANTED = "CASE-C00003/tnt-c00003"
RESERVE_GRANTED = "CASE-C00053/tnt-c00053"
DISK_KEY = "CASE-C00120/tnt-c00120"
GATE_HALT = "CASE-C00002/tnt-c00002"      # resolved incident: INCIDENT_NOT_ACTIVE at the gate
SLOW_DRIP = "CASE-C00000/tnt-c00000"      # SOURCE_UNAVAILABLE at the gate
OFFSITE = "CASE-C00001/tnt-c00001"        # off-site redirect: halted
CONSOLE_HALT = "CASE-C00024/tnt-c00024"   # console fault: halted
FROZEN = "CASE-C00009/tnt-c00009"         # the frozen claim, taken over; escalated halt
FORGED = "CASE-C00007/tnt-c00007"         # invalid: 5 dead letters


class RunFolder(unittest.TestCase):
    """A fresh copy of the recorded run folder per test, with helpers to mutate its facts."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.run = pathlib.Path(self.tmp.name) / "run"
        shutil.copytree(FIXTURE, self.run)

    def facts(self):
        return chaos_checks.Facts(self.run)

    def load(self, name):
        path = self.run / "facts" / name
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return json.loads(path.read_text())

    def replace(self, name, value):
        """Writes facts/NAME anew."""
        path = self.run / "facts" / name
        if name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(v) + "\n" for v in value))
        else:
            path.write_text(json.dumps(value))

    def edit(self, name, change):
        """Loads facts/NAME, lets `change` mutate it in place (its answer is ignored), writes it back."""
        value = self.load(name)
        change(value)
        self.replace(name, value)

    def restoration(self, key, **changes):
        def change(ledger):
            rows = [r for r in ledger["restorations"] if f"{r['case_id']}/{r['tenant_id']}" == key]
            self.assertEqual(len(rows), 1, key)
            rows[0].update(changes)
        self.edit("ledger.json", change)

    def events(self):
        return [json.loads(line) for line in (self.run / "events.jsonl").read_bytes().split(b"\n") if line.strip()]

    def write_events(self, events):
        (self.run / "events.jsonl").write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n"
                                                      for e in events))

    def drop_events(self, keep):
        lines = [line for line in (self.run / "events.jsonl").read_bytes().split(b"\n") if line.strip()]
        kept = [line for line in lines if keep(json.loads(line))]
        self.assertLess(len(kept), len(lines))
        (self.run / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in kept))

    def add_event_line(self, event):
        with open(self.run / "events.jsonl", "ab") as out:
            out.write(json.dumps(event, sort_keys=True, separators=(",", ":")).encode() + b"\n")

    def event_of(self, key, kind):
        return next(e for e in self.events() if e["subject"] == key and e["type"].endswith("." + kind))

    def verdict(self, invariant):
        return getattr(chaos_checks, invariant)(self.facts())

    def assertViolation(self, invariant, *fragments):
        violations = self.verdict(invariant).violations
        self.assertTrue(violations, f"{invariant} reported nothing")
        for fragment in fragments:
            self.assertTrue(any(fragment in v for v in violations), f"{fragment!r} not in {violations}")
        return violations

    def assertHolds(self, invariant):
        self.assertEqual(self.verdict(invariant).violations, [])


class RecordedRunTests(RunFolder):
    def test_every_invariant_holds_on_the_recorded_run(self):
        facts = self.facts()
        for check in INVARIANTS:
            with self.subTest(invariant=check.__name__):
                self.assertEqual(check(facts).violations, [])

    def test_the_fixture_is_what_the_tests_assume(self):
        f = self.facts()
        self.assertEqual(f.ledger[GRANTED]["state"], "granted")
        self.assertEqual(f.ledger[GATE_HALT]["state"], "halted")
        self.assertEqual(f.sent[OFFSITE]["kind"], "offsite-redirect")
        self.assertEqual(f.sent[SLOW_DRIP]["kind"], "slow-drip")
        self.assertEqual(f.sent[FORGED]["kind"], "forged")
        self.assertTrue(f.sent[RESERVE_GRANTED]["reserve"])
        self.assertTrue(f.sent[DISK_KEY]["disk"])
        self.assertEqual(f.frozen["key"], FROZEN)
        self.assertEqual(f.events["copies"], 1)
        self.assertEqual(f.dead_letters["by_key"][FORGED], 5)
        self.assertEqual(len(f.dead_letters["poison"]), 1)

    def test_no_secret_in_the_fixture(self):
        # The canaries are fixture values; the real run's were never copied.
        canaries = json.loads((FIXTURE / "canaries.json").read_text())
        self.assertIn("fixture", canaries["console_password"])
        self.assertIn("fixture", canaries["sources_token"])
        self.assertTrue(all("fixture" in e for e in canaries["emails"]))
        cookies = json.loads((FIXTURE / "facts" / "session-cookies.json").read_text())["session_ids"]
        self.assertTrue(cookies and all("not-a-secret" in c for c in cookies))
        for path in FIXTURE.rglob("*"):
            if path.is_file() and path.name != "canaries.json" and path.parent.name != "facts":
                text = path.read_text()
                self.assertNotIn("cnry-", text, path)
                self.assertNotIn("Bearer ", text, path)

    def test_report_prints_the_verdict_as_the_suite_always_did(self):
        f = self.facts()
        summary, rows, violations = chaos_checks.report(f, chaos_checks.judge(f), "2026-12-02T14:31:26Z")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = chaos_checks.print_report(summary, rows, violations)
        lines = out.getvalue().splitlines()
        self.assertEqual(status, 0)
        self.assertEqual(lines[1], "chaos run: quick, 265.0 s")
        self.assertEqual(lines[-1], "no violation: nothing granted twice, nothing lost, nothing leaked, every halt explained")
        shown = {line[2:].split("  ")[0] for line in lines[2:-2]}
        self.assertIn("keys granted twice", shown)
        self.assertIn("canary hits (evidence, logs, events, ledger)", shown)
        self.assertEqual(len(rows), 29)
        self.assertEqual(summary["keys"], 9)
        self.assertEqual(summary["messages_sent"], 7 * 5 + 1 + 1)  # storm keys x 5 + fed + disk keys
        self.assertEqual(summary["outcomes"], {"granted": 3, "halted": 5})
        self.assertEqual(summary["republished_copies"], 1)
        self.assertEqual(summary["rejected_events_without_key"], 4)
        self.assertEqual(summary["violations"], [])

    def test_report_lists_violations_in_order(self):
        self.edit("console.json", lambda c: c["grants"]["counts"][0].update(count=2))
        self.replace("cores.json", ["/tmp/run/core.4242"])
        f = self.facts()
        summary, rows, violations = chaos_checks.report(f, chaos_checks.judge(f), "now")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = chaos_checks.print_report(summary, rows, violations)
        self.assertEqual(status, 1)
        text = out.getvalue()
        self.assertIn("\nVIOLATIONS:\n  - 1 key(s) granted more than once: ['CASE-C00003/tnt-c00003']\n"
                      "  - core dump(s) written: ['/tmp/run/core.4242']\n", text)
        self.assertNotIn("no violation", text)
        self.assertEqual(summary["violations"], violations)

    def test_main_judges_a_folder(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(chaos_checks.main(["chaos_checks.py", str(self.run)]), 0)
        self.assertIn("chaos run: quick", out.getvalue())


class InvariantTests(RunFolder):
    """Each invariant against a copy of the recorded run mutated to break exactly what it guards."""

    # ---- the console: never twice, never broader
    def test_never_granted_twice(self):
        self.edit("console.json", lambda c: c["grants"]["counts"][0].update(count=2))
        self.assertViolation("never_granted_twice", f"1 key(s) granted more than once: ['{GRANTED}']")

    def test_never_submitted_twice(self):
        self.edit("console.json", lambda c: c["grants"]["submits"][1].update(count=2))
        self.assertViolation("never_submitted_twice", f"1 key(s) submitted to the console more than once: ['{RESERVE_GRANTED}']")
        self.assertHolds("never_granted_twice")  # the console refused the second grant: only the submit shows it

    def test_grants_on_own_tenant(self):
        self.edit("console.json", lambda c: c["grants"]["counts"].append(
            {"tenant_id": "tnt-c00001", "external_reference": GRANTED, "count": 1}))
        self.assertViolation("grants_on_own_tenant", f"1 grant(s) made on another tenant than the key's: ['{GRANTED}']")

    def test_grants_within_approval(self):
        self.edit("console.json", lambda c: c["grants"]["grants"][0]["scopes"].append("tenant.full-admin"))
        self.assertViolation("grants_within_approval", f"1 grant(s) broader than approved (scopes or duration): ['{GRANTED}']")

    def test_grants_within_approval_duration_and_unknown_key(self):
        def change(c):
            c["grants"]["grants"][1]["duration_minutes"] = 61
            c["grants"]["grants"].append(dict(c["grants"]["grants"][0], external_reference="CASE-X/tnt-x"))
        self.edit("console.json", change)
        self.assertViolation("grants_within_approval", f"2 grant(s) broader than approved (scopes or duration): "
                                                       f"['{RESERVE_GRANTED}', 'CASE-X/tnt-x']")

    # ---- nothing lost
    def test_every_key_decided(self):
        self.restoration(CONSOLE_HALT, state="submitting")
        self.assertViolation("every_key_decided", f"1 request(s) without a terminal outcome: ['{CONSOLE_HALT}']")

    def test_every_key_decided_missing_row(self):
        self.edit("ledger.json", lambda l: l.update(restorations=[
            r for r in l["restorations"] if f"{r['case_id']}/{r['tenant_id']}" != DISK_KEY]))
        self.assertViolation("every_key_decided", DISK_KEY)

    def test_one_terminal_event_per_decision_missing(self):
        self.drop_events(lambda e: not (e["subject"] == GATE_HALT and e["type"].endswith(".halted")))
        self.assertViolation("one_terminal_event_per_decision", f"1 key(s) without an outcome/halted event: ['{GATE_HALT}']")

    def test_one_terminal_event_per_decision_double(self):
        second = dict(self.event_of(GRANTED, "outcome"), id="00000000-0000-8000-8000-000000000001")
        self.add_event_line(second)
        self.assertViolation("one_terminal_event_per_decision", f"1 key(s) with two different terminal events: ['{GRANTED}']")

    def test_one_terminal_event_per_decision_counts_resumes(self):
        second = dict(self.event_of(GRANTED, "outcome"), id="00000000-0000-8000-8000-000000000001")
        self.add_event_line(second)
        self.restoration(GRANTED, resume_count=1)  # resumed once by a person: a second decision, a second event
        self.assertHolds("one_terminal_event_per_decision")

    def test_console_matches_ledger_unrecorded_grant(self):
        self.edit("console.json", lambda c: c["grants"]["counts"].append(
            {"tenant_id": "tnt-c00002", "external_reference": GATE_HALT, "count": 1}))
        self.assertViolation("console_matches_ledger",
                             f"1 console grant(s) neither granted nor escalated in the ledger: ['{GATE_HALT}']")

    def test_console_matches_ledger_phantom_grant(self):
        self.edit("console.json", lambda c: c["grants"].update(
            counts=[r for r in c["grants"]["counts"] if r["external_reference"] != RESERVE_GRANTED]))
        self.assertViolation("console_matches_ledger", f"1 ledger grant(s) the console does not show: ['{RESERVE_GRANTED}']")

    def test_console_grant_held_as_escalated_halt_is_no_violation(self):
        self.edit("console.json", lambda c: c["grants"]["counts"].append(
            {"tenant_id": "tnt-c00009", "external_reference": FROZEN, "count": 1}))
        verdict = self.verdict("console_matches_ledger")
        self.assertEqual(verdict.violations, [])
        self.assertEqual(verdict.figures["console_grants_held_as_escalated_halts"], 1)

    # ---- events
    def test_no_missing_event(self):
        self.drop_events(lambda e: not (e["subject"] == GRANTED and e["type"].endswith(".evidence-ready")))
        self.assertViolation("no_missing_event", "1 event(s) in the outbox never reached the event exchange")

    def test_no_missing_event_unpublished(self):
        self.edit("ledger.json", lambda l: l["outbox"][0].update(published_at=None))
        self.assertViolation("no_missing_event", "1 outbox event(s) still unpublished")

    def test_event_ids_not_reused(self):
        changed = self.event_of(DISK_KEY, "outcome")
        changed["data"]["scopes"] = ["tenant.full-admin"]
        self.add_event_line(changed)
        self.assertViolation("event_ids_not_reused", "1 event id(s) reused for different content")

    def test_republished_copy_is_no_violation(self):
        verdict = self.verdict("event_ids_not_reused")
        self.assertEqual(verdict.violations, [])
        self.assertEqual(self.verdict("no_missing_event").figures["republished_copies"], 1)

    def test_no_stray_event(self):
        self.add_event_line(dict(self.event_of(DISK_KEY, "evidence-ready"), id="00000000-0000-8000-8000-00000000000f"))
        self.assertViolation("no_stray_event", "1 event(s) on the exchange that the outbox never held")

    # ---- always explained
    def test_every_halt_has_takeover_record(self):
        self.restoration(GATE_HALT, takeover_id=None)
        self.assertViolation("every_halt_has_takeover_record", f"1 halt(s) without a takeover record: ['{GATE_HALT}']")

    def test_every_halt_has_takeover_record_unknown_id(self):
        self.edit("ledger.json", lambda l: l.update(takeovers=[t for t in l["takeovers"] if t["case_id"] != "CASE-C00024"]))
        self.assertViolation("every_halt_has_takeover_record", CONSOLE_HALT)

    def test_every_decision_has_evidence(self):
        self.drop_events(lambda e: not (e["subject"] == CONSOLE_HALT and e["type"].endswith(".evidence-ready")))
        self.assertViolation("every_decision_has_evidence",
                             f"1 decided key(s) without exactly one evidence-ready event per decision: ['{CONSOLE_HALT}']")

    def test_gate_anomalies_caught_wrong_reason(self):
        self.restoration(GATE_HALT, reasons='["CONSOLE_ERROR"]')
        self.assertViolation("gate_anomalies_caught",
                             f"1 gate anomal(ies) not caught before the console: ['{GATE_HALT} (resolved-incident)']")

    def test_gate_anomalies_caught_reached_console(self):
        self.edit("console.json", lambda c: c["grants"]["submits"].append(
            {"tenant_id": "tnt-c00000", "external_reference": SLOW_DRIP, "count": 1}))
        self.assertViolation("gate_anomalies_caught", f"{SLOW_DRIP} (slow-drip)")

    def test_gate_anomaly_halted_by_recovery_scan_is_caught(self):
        self.restoration(GATE_HALT, reasons='["IN_DOUBT_UNRESOLVED"]')
        self.edit("ledger.json", lambda l: [t.update(stage="recovery") for t in l["takeovers"] if t["case_id"] == "CASE-C00002"])
        verdict = self.verdict("gate_anomalies_caught")
        self.assertEqual(verdict.violations, [])
        self.assertEqual(verdict.figures["gate_anomalies_halted_by_recovery_scan"], [GATE_HALT])

    def test_offsite_redirects_halted(self):
        self.restoration(OFFSITE, state="granted")
        self.assertViolation("offsite_redirects_halted",
                             f"1 key(s) redirected off-site not halted before the console: ['{OFFSITE}']")

    def test_nothing_posted_offsite(self):
        self.edit("console.json", lambda c: c["offsite"].update(requests=2, posts=1, fields=["password"]))
        self.assertViolation("nothing_posted_offsite", "1 form(s) posted to the off-site origin (fields ['password'])")

    def test_disk_keys_decided(self):
        self.restoration(DISK_KEY, state="rejected")
        self.assertViolation("disk_keys_decided",
                             f"1 key(s) fed during the full disk not granted or halted: [('{DISK_KEY}', 'rejected')]")

    def test_readyz_failed_while_disk_full(self):
        self.edit("supervisor.json", lambda s: s["disk"].update(ready_answers={"200": 40, "no answer": 2}))
        self.assertViolation("readyz_failed_while_disk_full",
                             "no running worker's /readyz answered 503 while the ledger's disk was full "
                             "({'200': 40, 'no answer': 2})")

    def test_disk_fault_skipped_is_no_violation(self):
        self.edit("supervisor.json", lambda s: s.update(disk={"skipped": "the ledger is not on a tmpfs of its own"}))
        self.assertHolds("readyz_failed_while_disk_full")

    def test_no_core_dumps(self):
        self.replace("cores.json", ["/tmp/run/core.4242"])
        self.assertViolation("no_core_dumps", "core dump(s) written: ['/tmp/run/core.4242']")

    # ---- dead letters
    def test_invalid_keys_dead_lettered(self):
        def drop_one(letters):
            first = next(i for i, text in enumerate(letters) if '"case_id":"CASE-C00007"' in text)
            del letters[first]
        self.edit("dead-letters.jsonl", drop_one)
        self.assertViolation("invalid_keys_dead_lettered", f"invalid keys with fewer than 5 dead letters: {{'{FORGED}': 4}}")

    def test_extra_dead_letters_are_duplicates_not_violations(self):
        def add_copy(letters):
            letters.append(next(text for text in letters if '"case_id":"CASE-C00007"' in text))
        self.edit("dead-letters.jsonl", add_copy)
        verdict = self.verdict("invalid_keys_dead_lettered")
        self.assertEqual(verdict.violations, [])
        self.assertEqual(verdict.figures["duplicate_dead_letters"], {"after_enqueue_retries": 0, "at_least_once": 1})
        self.assertHolds("dead_letters_explained")
        # A chunk `breakglass enqueue` ran twice explains the copy.
        self.edit("publish-attempts.json", lambda a: a.update({"CASE-C00007": 6}))
        self.assertEqual(self.verdict("invalid_keys_dead_lettered").figures["duplicate_dead_letters"],
                         {"after_enqueue_retries": 1, "at_least_once": 0})

    def test_dead_letters_explained(self):
        def add_valid(letters):
            letters.append(next(text for text in letters if '"case_id":"CASE-C00007"' in text)
                           .replace("CASE-C00007", "CASE-C00003").replace("tnt-c00007", "tnt-c00003"))
        self.edit("dead-letters.jsonl", add_valid)
        self.assertViolation("dead_letters_explained", f"dead letters without a rejection: {{'{GRANTED}': 1}}")

    def test_keyless_rejections_counted(self):
        dropped = []

        def keep(event):
            if event["subject"] == "unknown/unknown" and not dropped:
                dropped.append(event)
                return False
            return True
        self.drop_events(keep)
        self.assertViolation("keyless_rejections_counted", "3 distinct rejected events without a key, expected 4")

    def test_poison_dead_lettered(self):
        self.replace("dead-letters.jsonl", [t for t in self.load("dead-letters.jsonl") if '"poison"' not in t])
        self.assertViolation("poison_dead_lettered", "0 poison message(s) dead-lettered; 1 confirmed of 1 attempt(s)")

    def test_poison_dead_lettered_twice_is_at_least_once(self):
        letters = self.load("dead-letters.jsonl")
        self.replace("dead-letters.jsonl", letters + [t for t in letters if '"poison"' in t])
        self.assertHolds("poison_dead_lettered")
        self.assertEqual(self.verdict("invalid_keys_dead_lettered").figures["duplicate_dead_letters"]["at_least_once"], 1)

    # ---- the end state
    def test_queues_empty(self):
        self.edit("queues.json", lambda q: q.update({"breakglass.restorations": [1, 0], "breakglass.dead": [3, 0]}))
        self.assertViolation("queues_empty", "queues not empty at the end: {'breakglass.restorations': (1, 0)}")

    def test_frozen_claim_taken_over(self):
        self.restoration(FROZEN, epoch=1)
        self.assertViolation("frozen_claim_taken_over",
                             f"the frozen worker's submitting claim on {FROZEN} was not taken over")

    def test_frozen_claim_missing(self):
        self.edit("supervisor.json", lambda s: s.update(frozen_claim={"missing": True}))
        self.assertViolation("frozen_claim_taken_over",
                             "the freeze found no worker holding a claim: the takeover path was not exercised")

    def test_crash_schedule_carried_out(self):
        self.edit("supervisor.json", lambda s: s["fired"].pop("after-ack"))
        self.assertViolation("crash_schedule_carried_out", "crash points not reached as planned (missing): {'after-ack': 1}")

    def test_crash_schedule_full_run_needs_five(self):
        self.edit("run.json", lambda r: r.update(mode="full", quick=False))
        self.assertViolation("crash_schedule_carried_out", "'after-claim': 4")

    def test_events_match_contract(self):
        self.edit("schema-check.json", lambda c: c.update(returncode=1, stdout=(
            "events.jsonl[3] $.data.scopes: [] should be non-empty\n\ncontract_check events: 1 problem(s)\n")))
        self.assertViolation("events_match_contract", "events not valid against the contract schemas: "
                             "['events.jsonl[3] $.data.scopes: [] should be non-empty', 'contract_check events: 1 problem(s)']")

    # ---- never leaked
    def canaries(self):
        return json.loads((self.run / "canaries.json").read_text())

    def test_no_secret_leaked_token_in_a_log_line(self):
        with open(self.run / "worker-1.log", "a") as log:
            log.write('{"level":"debug","msg":"sources answered","token":"%s"}\n' % self.canaries()["sources_token"])
        violations = self.assertViolation("no_secret_leaked", "canary secret(s) found in worker-1.log: source token")
        self.assertFalse(any(self.canaries()["sources_token"] in v for v in violations))  # named, never shown
        self.assertEqual(self.verdict("no_secret_leaked").figures["canary_hits"], 1)

    def test_no_secret_leaked_in_evidence_events_and_ledger(self):
        bundle = next((self.run / "evidence").glob("CASE-C00003_*"))
        cookie = json.loads((self.run / "facts" / "session-cookies.json").read_text())["session_ids"][0]
        (bundle / "steps.jsonl").write_text(f'{{"cookie":"{cookie}","pw":"{self.canaries()["console_password"]}"}}\n')
        email = self.canaries()["emails"][0]
        changed = self.event_of(GRANTED, "outcome")
        self.drop_events(lambda e: e["id"] != changed["id"])
        changed["data"]["note"] = email.replace("@", "%40")
        self.add_event_line(changed)
        (self.run / "ledgerfs").mkdir()
        (self.run / "ledgerfs" / "ledger.sqlite-wal").write_bytes(b"\0\0" + email.split("@")[0].encode() + b"\0")
        violations = self.assertViolation("no_secret_leaked")
        self.assertEqual(violations, [
            "canary secret(s) found in events: personal email",
            f"canary secret(s) found in evidence/{bundle.name}/steps.jsonl: console password, session cookie",
            "canary secret(s) found in ledgerfs/ledger.sqlite-wal: personal email",
        ])

    def test_no_secret_leaked_json_escaped_email_and_short_cookies(self):
        email = self.canaries()["emails"][1]
        with open(self.run / "worker-1.log", "a") as log:
            log.write('{"msg":"tenant read","contact":"%s"}\n' % email.replace("@", "\\u0040"))
        self.assertViolation("no_secret_leaked", "canary secret(s) found in worker-1.log: personal email")
        # Session ids shorter than 12 characters are not needles (too likely to occur by chance).
        self.edit("session-cookies.json", lambda s: s.update(session_ids=["short"]))
        with open(self.run / "worker-1.log", "a") as log:
            log.write("short\n")
        self.assertEqual(self.verdict("no_secret_leaked").violations,
                         ["canary secret(s) found in worker-1.log: personal email"])

    def test_files_owner_only(self):
        self.edit("file-modes.json", lambda modes: [m.update(mode="0644") for m in modes if m["path"] == "ledgerfs/ledger.sqlite"])
        self.assertViolation("files_owner_only", "1 ledger/evidence path(s) readable by group or others: ['ledgerfs/ledger.sqlite 644']")

    def test_files_owner_only_ledger_folder(self):
        self.edit("file-modes.json", lambda modes: [m.update(mode="0750") for m in modes if m["path"] == "ledgerfs"])
        self.assertViolation("files_owner_only", "['ledgerfs 750']")

    def test_every_invariant_has_a_breaking_test(self):
        names = {name for name in dir(self) if name.startswith("test_")}
        for check in INVARIANTS:
            with self.subTest(invariant=check.__name__):
                self.assertTrue(any(check.__name__ in name for name in names), check.__name__)


class CollectHelperTests(unittest.TestCase):
    """chaos.py's collect step writes what Facts reads (the parts that need no live run)."""

    @classmethod
    def setUpClass(cls):
        import chaos
        cls.chaos = chaos

    def test_sent_requests(self):
        def request(index, kind="clean", reserve=False, disk=False):
            key = f"CASE-C{index:05d}/tnt-c{index:05d}"
            return {"index": index, "kind": kind, "key": key, "reserve": reserve, "disk": disk,
                    "body": {"privilege": {"role": "tenant-admin", "scopes": ["admins.restore"], "duration_minutes": 60}}}
        plan = {"requests": [request(0), request(1, "forged"), request(2, reserve=True), request(3, reserve=True),
                             request(4, disk=True), request(5, disk=True)]}
        supervisor = collections.namedtuple("S", "disk")({"keys": ["CASE-C00005/tnt-c00005"]})
        sent = self.chaos.sent_requests(plan, supervisor, fed=1)
        self.assertEqual([s["key"].split("/")[0] for s in sent], ["CASE-C00000", "CASE-C00001", "CASE-C00002", "CASE-C00005"])
        self.assertEqual(sent[1]["kind"], "forged")
        self.assertEqual((sent[2]["reserve"], sent[3]["disk"]), (True, True))
        self.assertEqual(sent[0]["privilege"]["duration_minutes"], 60)

    def test_file_modes_and_the_invariant(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = pathlib.Path(tmp)
            ledger_dir = run / "ledgerfs"
            ledger_dir.mkdir(mode=0o700)
            (ledger_dir / "ledger.sqlite").write_bytes(b"")
            os.chmod(ledger_dir / "ledger.sqlite", 0o600)
            (ledger_dir / "ledger.sqlite-wal").write_bytes(b"")
            os.chmod(ledger_dir / "ledger.sqlite-wal", 0o644)
            bundle = run / "evidence" / "CASE-1_tnt-1_x"
            bundle.mkdir(parents=True)
            os.chmod(run / "evidence", 0o700)
            os.chmod(bundle, 0o755)
            (bundle / "summary.json").write_text("{}")
            os.chmod(bundle / "summary.json", 0o600)
            env = collections.namedtuple("Env", "run ledger_dir")(run, ledger_dir)
            modes = self.chaos.file_modes(env)
            self.assertEqual([m["path"] for m in modes], [
                "ledgerfs/ledger.sqlite", "ledgerfs/ledger.sqlite-wal", "evidence", "evidence/CASE-1_tnt-1_x",
                "evidence/CASE-1_tnt-1_x/summary.json", "ledgerfs"])
            self.assertEqual(modes[1]["mode"], "0644")
            chaos_checks.write_fact(run, "file-modes.json", modes)
            self.assertEqual(oct(os.stat(run / "facts").st_mode & 0o777), "0o700")
            violations = chaos_checks.files_owner_only(chaos_checks.Facts(run)).violations
            self.assertEqual(violations, ["2 ledger/evidence path(s) readable by group or others: "
                                          "['ledgerfs/ledger.sqlite-wal 644', 'evidence/CASE-1_tnt-1_x 755']"])

    def test_private_facts_are_owner_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = chaos_checks.write_fact(tmp, "session-cookies.json", {"session_ids": []})
            self.assertEqual(path.stat().st_mode & 0o777, 0o600)

    def test_supervisor_facts(self):
        import threading
        supervisor = type("S", (), {})()
        supervisor.lock = threading.Lock()
        supervisor.launches, supervisor.aborts, supervisor.ledger_exits = 5, True, 0
        supervisor.fired = collections.Counter({"after-ack": 1})
        supervisor.timeouts = collections.Counter({"after-publish": 0})
        supervisor.unexpected_exits = []
        supervisor.frozen_claim = {"key": "CASE-1/tnt-1", "epoch": 1, "state": "claimed", "owner": "chaos-2"}
        supervisor.poisoned = {"count": 1, "attempts": 2}
        supervisor.disk = {"keys": ["CASE-2/tnt-2"], "ready_answers": collections.Counter({"503": 3})}
        facts = self.chaos.supervisor_facts(supervisor)
        self.assertEqual(json.loads(json.dumps(facts)), {
            "launches": 5, "fired": {"after-ack": 1}, "timeouts": {"after-publish": 0}, "unexpected_exits": [],
            "aborts": 1, "ledger_exits": 0, "frozen_claim": supervisor.frozen_claim,
            "poisoned": {"count": 1, "attempts": 2},
            "disk": {"keys": ["CASE-2/tnt-2"], "ready_answers": {"503": 3}}})


class CollectThenJudgeTests(unittest.TestCase):
    """chaos.check() end to end with its live sources stubbed by the recorded run's own data: a ledger file, the
    simulator's control API, the drained queues, the broker's queue listing and the contract check. collect() must
    write a folder the invariants judge exactly as they judge the recorded one, and check() print the same report."""

    def setUp(self):
        import chaos
        self.chaos = chaos
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.run = pathlib.Path(self.tmp.name) / "run"
        self.run.mkdir(mode=0o700)
        load = chaos_checks.Facts(FIXTURE).load
        self.recorded = {name: load(name) for name in (
            "sent.json", "ledger.json", "console.json", "session-cookies.json", "dead-letters.jsonl", "queues.json",
            "supervisor.json", "publish-attempts.json", "schema-check.json", "run.json")}
        for name in ("canaries.json", "worker-1.log"):
            shutil.copyfile(FIXTURE / name, self.run / name)
        shutil.copytree(FIXTURE / "evidence", self.run / "evidence")
        for path in [self.run / "evidence", *(self.run / "evidence").rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)
        self.ledger_dir = self.run / "ledgerfs"
        self.ledger_dir.mkdir(mode=0o700)
        self.write_ledger(self.ledger_dir / "ledger.sqlite", self.recorded["ledger.json"])

    @staticmethod
    def write_ledger(path, tables):
        import sqlite3
        db = sqlite3.connect(path)
        for table, rows in tables.items():
            columns = list(rows[0])
            db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
            db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in columns)})",
                           [[row[c] for c in columns] for row in rows])
        db.commit()
        db.close()
        path.chmod(0o600)

    def stubbed_env(self):
        recorded = self.recorded
        answers = {"grants": recorded["console.json"]["grants"], "offsite": recorded["console.json"]["offsite"],
                   "sessions/issued": recorded["session-cookies.json"]}
        node = type("Node", (), {"queue_depths": lambda _self: {k: tuple(v) for k, v in recorded["queues.json"].items()}})()
        env = type("Env", (), {})()
        env.run, env.ledger_dir, env.ledger = self.run, self.ledger_dir, self.ledger_dir / "ledger.sqlite"
        env.quick, env.started_at, env.node = True, recorded["run.json"]["started_at"], node
        env.control = lambda path, method="GET", body=None: json.loads(json.dumps(answers[path]))
        return env

    def stubbed_supervisor(self):
        import threading
        record = self.recorded["supervisor.json"]
        supervisor = type("Supervisor", (), {})()
        supervisor.lock = threading.Lock()
        supervisor.launches, supervisor.aborts, supervisor.ledger_exits = record["launches"], record["aborts"], 0
        supervisor.fired = collections.Counter(record["fired"])
        supervisor.timeouts = collections.Counter(record["timeouts"])
        supervisor.unexpected_exits = list(record["unexpected_exits"])
        supervisor.frozen_claim = dict(record["frozen_claim"])
        supervisor.poisoned = dict(record["poisoned"])
        supervisor.disk = dict(record["disk"], ready_answers=collections.Counter(record["disk"]["ready_answers"]))
        return supervisor

    def test_check_collects_and_judges_like_the_recorded_run(self):
        from unittest import mock
        plan = {"requests": [{"key": s["key"], "kind": s["kind"], "reserve": s["reserve"], "disk": s["disk"],
                              "body": {"privilege": s["privilege"]}} for s in self.recorded["sent.json"]]}
        queues = {"chaos.events": [(None, line) for line in (FIXTURE / "events.jsonl").read_bytes().split(b"\n")
                                   if line.strip()],
                  "breakglass.dead": [(None, text.encode()) for text in self.recorded["dead-letters.jsonl"]]}
        schema = self.recorded["schema-check.json"]
        subprocess_result = type("Completed", (), {"returncode": schema["returncode"], "stdout": schema["stdout"],
                                                   "stderr": ""})()
        attempts = self.recorded["publish-attempts.json"]
        out = io.StringIO()
        with mock.patch.object(self.chaos, "drain", lambda env, queue: queues[queue]), \
                mock.patch.object(self.chaos.subprocess, "run", lambda *a, **k: subprocess_result), \
                mock.patch.dict(self.chaos.PUBLISH_ATTEMPTS, attempts, clear=True), \
                contextlib.redirect_stdout(out):
            status = self.chaos.check(self.stubbed_env(), plan, self.stubbed_supervisor(), 265.0, 1)
        self.assertEqual(status, 0, out.getvalue())
        # The recorded folder, judged directly, prints the same report.
        expected = io.StringIO()
        with contextlib.redirect_stdout(expected):
            chaos_checks.main(["chaos_checks.py", str(FIXTURE)])
        self.assertEqual(out.getvalue(), expected.getvalue())
        # Facts as recorded; the summary beside them.
        self.assertEqual(json.loads((self.run / "facts" / "ledger.json").read_text()), self.recorded["ledger.json"])
        self.assertEqual((self.run / "events.jsonl").read_bytes(), (FIXTURE / "events.jsonl").read_bytes())
        self.assertEqual(json.loads((self.run / "facts" / "supervisor.json").read_text()), self.recorded["supervisor.json"])
        by_path = lambda modes: sorted(modes, key=lambda m: m["path"])  # noqa: E731
        self.assertEqual(by_path(json.loads((self.run / "facts" / "file-modes.json").read_text())),
                         by_path(m for m in chaos_checks.Facts(FIXTURE).file_modes
                                 if m["path"] not in ("ledgerfs/ledger.sqlite-shm", "ledgerfs/ledger.sqlite-wal",
                                                      "ledgerfs/ledger.sqlite.open-lock")))
        summary = json.loads((self.run / "chaos-summary.json").read_text())
        self.assertEqual(summary["violations"], [])
        self.assertEqual(summary["keys"], 9)
        self.assertEqual((self.run / "facts" / "session-cookies.json").stat().st_mode & 0o777, 0o600)


if __name__ == "__main__":
    unittest.main()
