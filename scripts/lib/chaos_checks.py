#!/usr/bin/env python3
"""The chaos suite's checker (scripts/lib/chaos.py), as judgement only: one pure function per invariant over the facts
a chaos run recorded in its run folder (chaos.py's collect step writes them once the workers are stopped).

  chaos_checks.py RUN_DIR      judges a recorded run folder again and prints the report (exit 0, or 1 on a violation)

The run folder, as the invariants read it:
  facts/run.json               mode, seconds, keys fed from the reserve, the ledger's folder (relative to RUN_DIR)
  facts/sent.json              every key sent: kind, reserve/disk flags, the approved privilege
  facts/ledger.json            the ledger's restorations, takeovers and outbox rows
  facts/console.json           the simulator's grant and submit counts, its grants, what reached the off-site origin
  facts/session-cookies.json   the console session cookies it issued (canaries for the leak scan; mode 0600)
  facts/dead-letters.jsonl     every message drained from the dead-letter queue (its body as text, one JSON string a line)
  facts/queues.json            every queue's depth at the end: [messages, unacknowledged]
  facts/supervisor.json        worker launches, crashes by point, arming timeouts, unexpected exits, the freeze, the
                               poison messages, the disk fault
  facts/publish-attempts.json  how many times each case's messages were handed to `breakglass enqueue`
  facts/cores.json             core files written during the run
  facts/file-modes.json        the permission bits of the ledger files, the evidence and the ledger's folder
  facts/schema-check.json      contract_check.py events on events.jsonl: its exit status and output
  events.jsonl                 every event drained from the watch queue, copies included, one body a line
  canaries.json, worker-*.log, evidence/, <ledger folder>/ledger.sqlite*: read by the leak scan

Standard library only. Each invariant answers a Verdict: its violations (the lines the report prints, in the order the
checker always printed them) and its figures (for the report and chaos-summary.json). Nothing secret is printed:
canaries are reported by kind and file, never by value.
"""
import collections
import functools
import json
import pathlib
import sys

CRASH_POINTS = ["after-claim", "after-gate", "before-click", "after-click", "after-confirmation",
                "after-decision", "after-ack", "after-publish"]
TERMINAL_STATES = ("granted", "halted", "rejected", "resolved")
INVALID_KINDS = ("forged", "malformed")
# The reason a key planned to fail the gate must halt with.
EXPECTED_GATE_CODE = {"revoked-approval": "APPROVAL_REVOKED", "segregation": "SOD_VIOLATION",
                      "unverified-identity": "IDENTITY_UNVERIFIED", "existing-session": "EXISTING_SESSION",
                      "resolved-incident": "INCIDENT_NOT_ACTIVE", "suspended-tenant": "TENANT_INACTIVE",
                      "pending-approval": "APPROVAL_PENDING", "slow-drip": "SOURCE_UNAVAILABLE"}
# Copies of every invalid key that must be dead-lettered (3 identical, 2 replays under new request ids).
COPIES_PER_KEY = 5

FACTS_DIR = "facts"
EVENTS_FILE = "events.jsonl"
PRIVATE_FACTS = {"session-cookies.json"}

Verdict = collections.namedtuple("Verdict", "violations figures")


# --------------------------------------------------------------------------------------------------------------
# Recording (the collect step writes through these, so both sides agree on the files)
# --------------------------------------------------------------------------------------------------------------

def facts_dir(run_dir):
    path = pathlib.Path(run_dir) / FACTS_DIR
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def write_fact(run_dir, name, value):
    """facts/NAME as JSON (a list of lines as JSON Lines when NAME ends in .jsonl); owner-only when private."""
    path = facts_dir(run_dir) / name
    if name.endswith(".jsonl"):
        text = "".join(json.dumps(item) + "\n" for item in value)
    else:
        text = json.dumps(value, indent=1)
    if name in PRIVATE_FACTS:
        path.touch(mode=0o600)
        path.chmod(0o600)
    path.write_text(text)
    return path


def write_events(run_dir, bodies):
    """events.jsonl: every event body as received, one a line (the contract check and the leak scan read it)."""
    path = pathlib.Path(run_dir) / EVENTS_FILE
    path.write_bytes(b"".join(body.rstrip(b"\n") + b"\n" for body in bodies))
    return path


# --------------------------------------------------------------------------------------------------------------
# The recorded facts, and what follows from them
# --------------------------------------------------------------------------------------------------------------

class Facts:
    """A recorded run folder, read lazily; every derived property is a pure function of its files."""

    def __init__(self, run_dir):
        self.run = pathlib.Path(run_dir)
        self.dir = self.run / FACTS_DIR

    def load(self, name):
        path = self.dir / name
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return json.loads(path.read_text())

    # ---- recorded
    @functools.cached_property
    def info(self):
        return self.load("run.json")

    @property
    def quick(self):
        return self.info["quick"]

    @functools.cached_property
    def ledger_dir(self):
        return self.run / self.info.get("ledger_dir", ".")

    @functools.cached_property
    def sent(self):
        """key -> {"kind", "reserve", "disk", "privilege"}, in the order the plan holds them."""
        return {entry["key"]: entry for entry in self.load("sent.json")}

    @functools.cached_property
    def valid_keys(self):
        return {k: r for k, r in self.sent.items() if r["kind"] not in INVALID_KINDS}

    @functools.cached_property
    def invalid_keys(self):
        return {k: r for k, r in self.sent.items() if r["kind"] in INVALID_KINDS}

    @functools.cached_property
    def ledger_tables(self):
        return self.load("ledger.json")

    @functools.cached_property
    def ledger(self):
        """key (case_id/tenant_id) -> its restorations row."""
        return {f"{r['case_id']}/{r['tenant_id']}": r for r in self.ledger_tables["restorations"]}

    @property
    def takeovers(self):
        return self.ledger_tables["takeovers"]

    @property
    def outbox(self):
        return self.ledger_tables["outbox"]

    def epoch(self, key):
        """The key's claim epoch in the ledger, -1 when it has no row."""
        row = self.ledger.get(key)
        return row["epoch"] if row else -1

    @functools.cached_property
    def console(self):
        return self.load("console.json")

    @property
    def grants(self):
        return self.console["grants"]

    @property
    def offsite(self):
        return self.console["offsite"]

    @functools.cached_property
    def grant_counts(self):
        """(tenant, reference) -> grants the console made (a grant on another tenant is its own entry)."""
        return {(row["tenant_id"], row["external_reference"]): row["count"] for row in self.grants.get("counts", [])}

    @functools.cached_property
    def counts_by_ref(self):
        return {ref: n for (_tenant, ref), n in self.grant_counts.items()}

    @functools.cached_property
    def submits(self):
        """(tenant, reference) -> final submits the console received (refused duplicates included)."""
        return {(row["tenant_id"], row["external_reference"]): row["count"] for row in self.grants.get("submits", [])}

    def reached_console(self, key):
        return bool(self.counts_by_ref.get(key, 0) or self.submits.get((key.split("/", 1)[1], key), 0))

    @functools.cached_property
    def sessions(self):
        return self.load("session-cookies.json").get("session_ids", [])

    @functools.cached_property
    def canaries(self):
        return json.loads((self.run / "canaries.json").read_text())

    @functools.cached_property
    def raw_events(self):
        """Every event body received, copies included, in the order drained."""
        return [line for line in (self.run / EVENTS_FILE).read_bytes().split(b"\n") if line.strip()]

    @functools.cached_property
    def dead(self):
        """Every dead letter's body (text)."""
        return self.load("dead-letters.jsonl")

    @functools.cached_property
    def depths(self):
        return {name: tuple(depth) for name, depth in self.load("queues.json").items()}

    @functools.cached_property
    def supervisor(self):
        return self.load("supervisor.json")

    @property
    def fired(self):
        return self.supervisor["fired"]

    @property
    def disk(self):
        return self.supervisor["disk"]

    @property
    def frozen(self):
        return self.supervisor["frozen_claim"]

    @functools.cached_property
    def publish_attempts(self):
        return self.load("publish-attempts.json")

    @functools.cached_property
    def cores(self):
        return self.load("cores.json")

    @functools.cached_property
    def file_modes(self):
        return self.load("file-modes.json")

    @functools.cached_property
    def schema_check(self):
        return self.load("schema-check.json")

    # ---- derived: events
    @functools.cached_property
    def events(self):
        """by_id (id -> (event, body)), copies (repeated ids), conflicting (repeated ids with other content)."""
        by_id, copies, conflicting = {}, 0, 0
        for body in self.raw_events:
            event = json.loads(body)
            if event["id"] in by_id:
                copies += 1
                if by_id[event["id"]][1] != body:
                    conflicting += 1
                continue
            by_id[event["id"]] = (event, body)
        return {"by_id": by_id, "copies": copies, "conflicting": conflicting}

    @functools.cached_property
    def event_kinds(self):
        """terminal (key -> outcome/halted events), keyed_rejections (key -> rejected outcomes, per message),
        evidence_ready (key -> count), rejected_unkeyed (rejections of messages whose key could not be trusted)."""
        terminal, keyed_rejections = {}, {}
        evidence_ready = collections.Counter()
        rejected_unkeyed = 0
        for event, _body in self.events["by_id"].values():
            kind = event["type"].rsplit(".", 1)[-1]
            subject = event.get("subject")
            if subject == "unknown/unknown":  # a rejection of a message whose key could not be trusted
                subject = None
            if kind in ("outcome", "halted"):
                if not subject:
                    rejected_unkeyed += 1
                elif kind == "outcome" and event["data"].get("result") == "rejected":
                    keyed_rejections.setdefault(subject, []).append(event)  # per message (delivery limit, expiry)
                else:
                    terminal.setdefault(subject, []).append(event)
            elif kind == "evidence-ready" and subject:
                evidence_ready[subject] += 1
        return {"terminal": terminal, "keyed_rejections": keyed_rejections, "evidence_ready": evidence_ready,
                "rejected_unkeyed": rejected_unkeyed}

    # ---- derived: dead letters
    @functools.cached_property
    def dead_letters(self):
        """Dead letters by owning key and poison messages by body; the invalid keys with fewer than 5 (lost) or more
        (duplicates: explained by enqueue retries, or at-least-once dead-lettering); dead letters without a
        rejection."""
        dead_by_key = collections.Counter()
        poison_dead = collections.Counter()
        for text in self.dead:
            if '"poison"' in text:
                poison_dead[text] += 1
                continue
            owner = next((k for k in self.sent if f'"case_id":"{k.split("/")[0]}"' in text), None)
            dead_by_key[owner] += 1
        invalid = self.invalid_keys
        bad = {k: dead_by_key[k] for k in invalid if dead_by_key[k] < COPIES_PER_KEY}
        extra = {k: dead_by_key[k] - COPIES_PER_KEY for k in invalid if dead_by_key[k] > COPIES_PER_KEY}
        explained = sum(min(n, max(0, self.publish_attempts.get(k.split("/")[0], 0) - COPIES_PER_KEY))
                        for k, n in extra.items())
        # Each poison attempt carries its own tag, so a second dead letter of one is the at-least-once kind.
        unexplained = sum(extra.values()) - explained + sum(n - 1 for n in poison_dead.values())
        keyed_rejections = self.event_kinds["keyed_rejections"]
        without_rejection = {k: n for k, n in dead_by_key.items() if k not in invalid and not keyed_rejections.get(k)}
        return {"by_key": dead_by_key, "poison": poison_dead, "bad": bad, "extra": extra,
                "extra_explained": explained, "extra_unexplained": unexplained,
                "without_rejection": without_rejection}

    @property
    def poison_plan(self):
        return self.supervisor.get("poisoned") or {"count": 0, "attempts": 0}

    def rejected_key(self, key):
        return key in self.ledger and self.ledger[key]["state"] == "rejected"


# --------------------------------------------------------------------------------------------------------------
# The invariants: one function each, facts in, Verdict out
# --------------------------------------------------------------------------------------------------------------

def never_granted_twice(f):
    """The console made at most one grant per key (its own counts; it refuses a second grant, so see also
    never_submitted_twice)."""
    duplicates = {ref: n for (_tenant, ref), n in f.grant_counts.items() if n > 1}
    violations = [f"{len(duplicates)} key(s) granted more than once: {sorted(duplicates)[:5]}"] if duplicates else []
    return Verdict(violations, {"keys_granted_twice": len(duplicates),
                                "grants_in_console": sum(f.counts_by_ref.values())})


def never_submitted_twice(f):
    """Every final submit the console received is counted, also those it answered with "grant exists": a key
    submitted twice is a finding even though no second grant was made."""
    resubmitted = {ref: n for (_tenant, ref), n in f.submits.items() if n > 1}
    violations = ([f"{len(resubmitted)} key(s) submitted to the console more than once: {sorted(resubmitted)[:5]}"]
                  if resubmitted else [])
    return Verdict(violations, {"console_submits": sum(f.submits.values()), "keys_submitted_twice": len(resubmitted)})


def grants_on_own_tenant(f):
    wrong_tenant = sorted(ref for (tenant, ref) in f.grant_counts if ref.split("/", 1)[-1] != tenant)
    violations = ([f"{len(wrong_tenant)} grant(s) made on another tenant than the key's: {wrong_tenant[:5]}"]
                  if wrong_tenant else [])
    return Verdict(violations, {"grants_wrong_tenant": len(wrong_tenant)})


def grants_within_approval(f):
    """No grant with scopes or a duration beyond the approved ones (or for a key never sent)."""
    broader = []
    for grant in f.grants.get("grants", []):
        request = f.sent.get(grant["external_reference"])
        approved = request["privilege"] if request else None
        if approved is None or not set(grant["scopes"]) <= set(approved["scopes"]) \
                or grant["duration_minutes"] > approved["duration_minutes"]:
            broader.append(grant["external_reference"])
    violations = ([f"{len(broader)} grant(s) broader than approved (scopes or duration): {broader[:5]}"]
                  if broader else [])
    return Verdict(violations, {"grants_broader_than_approved": len(broader)})


def every_key_decided(f):
    """No lost outcome: every valid key ends in a terminal ledger state."""
    no_outcome = [k for k in f.valid_keys if k not in f.ledger or f.ledger[k]["state"] not in TERMINAL_STATES]
    violations = [f"{len(no_outcome)} request(s) without a terminal outcome: {no_outcome[:5]}"] if no_outcome else []
    return Verdict(violations, {"keys_without_terminal_state": len(no_outcome)})


def one_terminal_event_per_decision(f):
    """A key decided granted or halted has exactly one outcome/halted event per decision (a resumed key one more per
    resume); a key rejected per message (delivery limit) has its rejected outcome(s) and nothing else."""
    terminal = f.event_kinds["terminal"]
    keyed_rejections = f.event_kinds["keyed_rejections"]
    ledger = f.ledger
    missing_terminal = [k for k in f.valid_keys
                        if (len(keyed_rejections.get(k, [])) == 0 if f.rejected_key(k)
                            else len(terminal.get(k, [])) == 0)]
    double_terminal = [k for k in f.valid_keys
                       if (len(terminal.get(k, [])) > 0 if f.rejected_key(k)
                           else len(terminal.get(k, [])) > 1 + (ledger[k]["resume_count"] or 0 if k in ledger else 0))]
    violations = []
    if missing_terminal:
        violations.append(f"{len(missing_terminal)} key(s) without an outcome/halted event: {missing_terminal[:5]}")
    if double_terminal:
        violations.append(f"{len(double_terminal)} key(s) with two different terminal events: {double_terminal[:5]}")
    return Verdict(violations, {"keys_without_terminal_event": len(missing_terminal),
                                "keys_with_two_terminal_events": len(double_terminal)})


def console_matches_ledger(f):
    """A console grant is a ledger grant or an escalated halt (a person checks it); a ledger grant is in the console."""
    ledger = f.ledger
    granted_in_ledger = {k for k, r in ledger.items() if r["state"] == "granted"}
    console_granted = {k for k, n in f.counts_by_ref.items() if n >= 1}
    unrecorded = [k for k in console_granted - granted_in_ledger
                  if not (k in ledger and ledger[k]["state"] == "halted" and ledger[k]["escalate"])]
    phantom = sorted(granted_in_ledger - console_granted)
    escalated_with_grant = sorted(k for k in console_granted - granted_in_ledger if k in ledger)
    violations = []
    if unrecorded:
        violations.append(f"{len(unrecorded)} console grant(s) neither granted nor escalated in the ledger: {unrecorded[:5]}")
    if phantom:
        violations.append(f"{len(phantom)} ledger grant(s) the console does not show: {phantom[:5]}")
    return Verdict(violations, {"console_grants_held_as_escalated_halts": len(escalated_with_grant)})


def no_missing_event(f):
    """Every outbox row was published and reached the event exchange."""
    by_id = f.events["by_id"]
    outbox_ids = {o["event_id"] for o in f.outbox}
    missing_events = outbox_ids - set(by_id)
    unpublished = [o["event_id"] for o in f.outbox if o["published_at"] is None]
    violations = []
    if missing_events:
        violations.append(f"{len(missing_events)} event(s) in the outbox never reached the event exchange")
    if unpublished:
        violations.append(f"{len(unpublished)} outbox event(s) still unpublished")
    return Verdict(violations, {"events_received": len(f.raw_events), "distinct_event_ids": len(by_id),
                                "republished_copies": f.events["copies"], "events_missing": len(missing_events),
                                "outbox_unpublished": len(unpublished)})


def event_ids_not_reused(f):
    """A repeated event id carries the same content (at-least-once with stable ids)."""
    conflicting = f.events["conflicting"]
    violations = [f"{conflicting} event id(s) reused for different content"] if conflicting else []
    return Verdict(violations, {"event_ids_conflicting": conflicting})


def no_stray_event(f):
    """Every event on the exchange was an outbox row."""
    stray = set(f.events["by_id"]) - {o["event_id"] for o in f.outbox}
    violations = [f"{len(stray)} event(s) on the exchange that the outbox never held"] if stray else []
    return Verdict(violations, {"stray_events": len(stray)})


def every_halt_has_takeover_record(f):
    takeover_ids = {t["id"] for t in f.takeovers}
    halted = {k: r for k, r in f.ledger.items() if r["state"] == "halted"}
    no_record = [k for k, r in halted.items() if not r["takeover_id"] or r["takeover_id"] not in takeover_ids]
    violations = [f"{len(no_record)} halt(s) without a takeover record: {no_record[:5]}"] if no_record else []
    halts_by_reason = collections.Counter()
    for r in halted.values():
        for code in json.loads(r["reasons"] or "[]") or ["?"]:
            halts_by_reason[code] += 1
    return Verdict(violations, {"halts_without_takeover_record": len(no_record), "halts_by_reason": halts_by_reason})


def every_decision_has_evidence(f):
    """Every granted or halted key has exactly one evidence-ready event per decision."""
    evidence_ready = f.event_kinds["evidence_ready"]
    no_evidence = [k for k, r in f.ledger.items() if r["state"] in ("granted", "halted")
                   and evidence_ready[k] != 1 + (r["resume_count"] or 0)]
    violations = ([f"{len(no_evidence)} decided key(s) without exactly one evidence-ready event per decision: "
                   f"{no_evidence[:5]}"] if no_evidence else [])
    return Verdict(violations, {"decided_keys_without_evidence": len(no_evidence)})


def gate_anomalies_caught(f):
    """Every key planned to fail the gate is halted with that reason (or rejected per message, e.g. at the delivery
    limit) and never reached the console. A key whose owner died (or froze) and whose delivery did not come back
    within the recovery grace is halted for a person by the recovery scan (stage `recovery`) before its gate ran:
    never at the console, so still caught (and counted apart)."""
    missed = []
    recovery_halted = {f"{t['case_id']}/{t['tenant_id']}" for t in f.takeovers if t["stage"] == "recovery"}
    recovered = []
    for key, request in f.valid_keys.items():
        code = EXPECTED_GATE_CODE.get(request["kind"])
        if not code:
            continue
        row = f.ledger.get(key)
        reasons = json.loads(row["reasons"] or "[]") if row else []
        caught = row is not None and ((row["state"] == "halted" and code in reasons) or row["state"] == "rejected")
        if not caught and row is not None and row["state"] == "halted" and key in recovery_halted:
            caught = True
            recovered.append(key)
        if not caught or f.reached_console(key):
            missed.append(f"{key} ({request['kind']})")
    violations = [f"{len(missed)} gate anomal(ies) not caught before the console: {missed[:5]}"] if missed else []
    return Verdict(violations, {"gate_anomalies_missed": len(missed),
                                "gate_anomalies_halted_by_recovery_scan": recovered})


def offsite_redirects_halted(f):
    """A key whose console redirects off-site mid-flow halts (or is rejected) and nothing of it reaches the console."""
    redirected = [k for k, r in f.valid_keys.items() if r["kind"] == "offsite-redirect"]
    not_halted = [k for k in redirected if (f.ledger.get(k) or {"state": None})["state"] not in ("halted", "rejected")
                  or f.reached_console(k)]
    violations = ([f"{len(not_halted)} key(s) redirected off-site not halted before the console: {not_halted[:5]}"]
                  if not_halted else [])
    return Verdict(violations, {"offsite_redirect_keys": len(redirected)})


def nothing_posted_offsite(f):
    """The off-site origin receives no form at all (no password, no entered value, no click)."""
    posts = f.offsite.get("posts", 0)
    violations = [f"{posts} form(s) posted to the off-site origin (fields {f.offsite.get('fields')})"] if posts else []
    return Verdict(violations, {"offsite_requests": f.offsite.get("requests", 0), "offsite_posts": posts})


def disk_keys_decided(f):
    """The keys fed while the ledger's disk was full end granted or halted (none rejected: that would be an approved
    request dead-lettered by the worker's own outage)."""
    disk_keys = f.disk.get("keys", [])
    lost = [k for k in disk_keys if (f.ledger.get(k) or {"state": None})["state"] not in ("granted", "halted")]
    violations = ([f"{len(lost)} key(s) fed during the full disk not granted or halted: "
                   f"{[(k, (f.ledger.get(k) or {'state': None})['state']) for k in lost[:5]]}"] if lost else [])
    return Verdict(violations, {"disk_keys": len(disk_keys), "disk_keys_lost": len(lost)})


def readyz_failed_while_disk_full(f):
    disk = f.disk
    violations = []
    if disk.get("keys", []) and not disk["ready_answers"].get("503"):
        violations.append(f"no running worker's /readyz answered 503 while the ledger's disk was full "
                          f"({dict(disk['ready_answers'])})")
    return Verdict(violations, {})


def no_core_dumps(f):
    """A crash by SIGABRT with core dumps on would write the process memory (the console password, the source token)
    to a file."""
    violations = [f"core dump(s) written: {f.cores}"] if f.cores else []
    return Verdict(violations, {"core_dumps": len(f.cores)})


def invalid_keys_dead_lettered(f):
    """Every invalid key has at least its 5 copies dead-lettered. Fewer is a lost dead letter. More is a duplicate,
    never a loss: a chunk `breakglass enqueue` retried after a broker restart (counted in the publish attempts), or
    the quorum queue's at-least-once dead-lettering republishing around a leader restart: reported, not failed."""
    dead = f.dead_letters
    violations = ([f"invalid keys with fewer than 5 dead letters: {dict(list(dead['bad'].items())[:5])}"]
                  if dead["bad"] else [])
    return Verdict(violations, {"dead_letters": len(f.dead),
                                "duplicate_dead_letters": {"after_enqueue_retries": dead["extra_explained"],
                                                           "at_least_once": dead["extra_unexplained"]}})


def dead_letters_explained(f):
    """Besides the invalid keys' copies, a dead letter is one per keyed rejection (delivery limit, expiry) of a valid
    key; nothing else."""
    unexplained = f.dead_letters["without_rejection"]
    violations = ([f"dead letters without a rejection: {dict(list(unexplained.items())[:5])}"] if unexplained else [])
    return Verdict(violations, {})


def keyless_rejections_counted(f):
    """Rejected events for invalid messages: identical copies share one event id, so 3 distinct per invalid key, plus
    one per poison message (deep headers)."""
    rejected_unkeyed = f.event_kinds["rejected_unkeyed"]
    expected = 3 * len(f.invalid_keys) + len(f.dead_letters["poison"])
    violations = ([f"{rejected_unkeyed} distinct rejected events without a key, expected {expected}"]
                  if rejected_unkeyed != expected else [])
    return Verdict(violations, {"rejected_events_without_key": rejected_unkeyed})


def poison_dead_lettered(f):
    """Every poison message the broker confirmed is dead-lettered (once each; an attempt that failed after the broker
    took it may be there too)."""
    plan = f.poison_plan
    poisoned = len(f.dead_letters["poison"])
    violations = ([f"{poisoned} poison message(s) dead-lettered; {plan['count']} confirmed of "
                   f"{plan['attempts']} attempt(s)"] if not plan["count"] <= poisoned <= plan["attempts"] else [])
    return Verdict(violations, {"poison_header_messages": poisoned})


def queues_empty(f):
    leftover = {name: d for name, d in f.depths.items()
                if name.startswith("breakglass.") and name != "breakglass.dead" and d != (0, 0)}
    violations = [f"queues not empty at the end: {leftover}"] if leftover else []
    return Verdict(violations, {"queues_left_non_empty": len(leftover)})


def frozen_claim_taken_over(f):
    """The frozen worker's claim was taken over (a newer epoch, another owner) while it was frozen."""
    frozen = f.frozen
    violations = []
    if frozen.get("missing"):
        violations.append("the freeze found no worker holding a claim: the takeover path was not exercised")
    elif frozen:
        row = f.ledger.get(frozen["key"])
        if row is None or f.epoch(frozen["key"]) <= frozen["epoch"]:
            violations.append(f"the frozen worker's {frozen['state']} claim on {frozen['key']} was not taken over")
    return Verdict(violations, {"frozen_claim": frozen})


def crash_schedule_carried_out(f):
    """Every crash point reached as often as planned (5 times, --quick once), counted only when the worker logged
    that it reached the point."""
    reps = 1 if f.quick else 5
    short = {p: reps - f.fired.get(p, 0) for p in CRASH_POINTS if f.fired.get(p, 0) < reps}
    violations = [f"crash points not reached as planned (missing): {short}"] if short else []
    return Verdict(violations, {"crashes": sum(f.fired.values())})


def events_match_contract(f):
    """Every event on the exchange against the contract's JSON Schemas (docs/contract/schemas/), as
    contract_check.py events judged events.jsonl."""
    check = f.schema_check
    violations = []
    if check["returncode"] != 0:
        problems = [line for line in check["stdout"].splitlines() if line.strip()][:5]
        violations.append(f"events not valid against the contract schemas: {problems}")
    return Verdict(violations, {"summary": (check["stdout"].strip().splitlines() or ["-"])[-1]})


def no_secret_leaked(f):
    """No canary (the console password, the source token, a personal e-mail, a console session cookie) in an evidence
    file, a worker log, an event or the ledger file."""
    leaks = leak_scan(f)
    violations = [f"canary secret(s) found in {where}: {', '.join(sorted(kinds))}" for where, kinds in sorted(leaks.items())]
    return Verdict(violations, {"canary_hits": sum(len(v) for v in leaks.values())})


def files_owner_only(f):
    """Ledger files, evidence (files and folders) and the ledger's own folder carry no group or other permission bit
    (the ledger holds raw payloads, evidence what the console showed)."""
    loose = [f"{entry['path']} {int(entry['mode'], 8):o}" for entry in f.file_modes if int(entry["mode"], 8) & 0o077]
    violations = [f"{len(loose)} ledger/evidence path(s) readable by group or others: {loose[:5]}"] if loose else []
    return Verdict(violations, {"paths_not_owner_only": len(loose)})


# In the order their violations are reported.
INVARIANTS = [
    never_granted_twice, never_submitted_twice, grants_on_own_tenant, grants_within_approval,
    every_key_decided, one_terminal_event_per_decision, console_matches_ledger,
    no_missing_event, event_ids_not_reused, no_stray_event,
    every_halt_has_takeover_record, every_decision_has_evidence, gate_anomalies_caught,
    offsite_redirects_halted, nothing_posted_offsite, disk_keys_decided, readyz_failed_while_disk_full,
    no_core_dumps, invalid_keys_dead_lettered, dead_letters_explained, keyless_rejections_counted,
    poison_dead_lettered, queues_empty, frozen_claim_taken_over, crash_schedule_carried_out,
    events_match_contract, no_secret_leaked, files_owner_only,
]


# --------------------------------------------------------------------------------------------------------------
# The leak scan
# --------------------------------------------------------------------------------------------------------------

def canary_needles(canaries, sessions):
    needles = [("console password", canaries["console_password"].encode()),
               ("source token", canaries["sources_token"].encode())]
    # E-mails also URL-encoded, JSON-escaped, and their unique local part alone (an HTML-escaped or partly masked
    # address would still show it).
    for email in canaries["emails"]:
        needles += [("personal email", form.encode()) for form in
                    (email, email.replace("@", "%40"), email.replace("@", "\\u0040"), email.split("@")[0])]
    needles += [("session cookie", s.encode()) for s in sessions if len(s) >= 12]
    return needles


def leak_scan(f):
    """{where: {kinds of canary found there}} over the evidence files, the worker logs, the ledger files and the
    events. Raises RuntimeError when the scan fails its own probe (each kind of canary found when it is there)."""
    needles = canary_needles(f.canaries, f.sessions)
    found = collections.defaultdict(set)

    def scan(label, data):
        for kind, needle in needles:
            if needle in data:
                found[label].add(kind)

    # Positive control: the scan finds each kind of canary when it is there.
    probe = b" ".join(needle for _kind, needle in needles)
    scan("(probe)", probe)
    if found.pop("(probe)", set()) != {kind for kind, _ in needles}:
        raise RuntimeError("leak scan self-check failed")

    files = []
    evidence = f.run / "evidence"
    if evidence.exists():
        files += [p for p in evidence.rglob("*") if p.is_file()]
    files += sorted(f.run.glob("worker-*.log"))
    files += sorted(f.ledger_dir.glob("ledger.sqlite*"))
    for path in files:
        scan(str(path.relative_to(f.run)), path.read_bytes())
    for body in f.raw_events:
        scan("events", body)
    return found


# --------------------------------------------------------------------------------------------------------------
# Judgement and report
# --------------------------------------------------------------------------------------------------------------

def judge(facts):
    """{invariant name: Verdict}, in INVARIANTS order."""
    return {check.__name__: check(facts) for check in INVARIANTS}


def report(f, verdicts, date):
    """(summary, rows, violations): chaos-summary.json's content, the report's rows (name, value), and every
    violation in the order the checker prints them."""
    fig = {name: verdict.figures for name, verdict in verdicts.items()}
    violations = [v for verdict in verdicts.values() for v in verdict.violations]
    sup = f.supervisor
    fired = f.fired
    disk = f.disk
    frozen = f.frozen
    dead = f.dead_letters
    outcomes = collections.Counter(r["state"] for r in f.ledger.values())
    halts_by_reason = fig["every_halt_has_takeover_record"]["halts_by_reason"]
    storm_keys = len([1 for r in f.sent.values() if not r.get("reserve") and not r.get("disk")])
    total_messages = storm_keys * COPIES_PER_KEY + f.info["fed"] + len(disk.get("keys", []))
    without_outcome = (fig["every_key_decided"]["keys_without_terminal_state"]
                       + fig["one_terminal_event_per_decision"]["keys_without_terminal_event"])
    events = fig["no_missing_event"]
    poisoned = fig["poison_dead_lettered"]["poison_header_messages"]
    recovered = fig["gate_anomalies_caught"]["gate_anomalies_halted_by_recovery_scan"]
    offsite = fig["nothing_posted_offsite"]
    redirected = fig["offsite_redirects_halted"]["offsite_redirect_keys"]
    slow_drip = sum(1 for r in f.valid_keys.values() if r["kind"] == "slow-drip")
    canary_hits = fig["no_secret_leaked"]["canary_hits"]
    emails = len(f.canaries["emails"])
    sessions = len(f.sessions)
    cores = fig["no_core_dumps"]["core_dumps"]
    loose = fig["files_owner_only"]["paths_not_owner_only"]
    leftover = fig["queues_empty"]["queues_left_non_empty"]
    summary = {
        "date": date, "mode": f.info["mode"], "seconds": round(f.info["seconds"], 1),
        "keys": len(f.sent), "valid_keys": len(f.valid_keys), "invalid_keys": len(f.invalid_keys),
        "messages_sent": total_messages, "worker_launches": sup["launches"],
        "crashes_by_point": dict(fired), "crash_arming_timeouts": dict(sup["timeouts"]),
        "unexpected_worker_exits": sup["unexpected_exits"],
        "outcomes": dict(outcomes), "halts_by_reason": dict(halts_by_reason),
        "grants_in_console": fig["never_granted_twice"]["grants_in_console"],
        "keys_granted_twice": fig["never_granted_twice"]["keys_granted_twice"],
        "console_submits": fig["never_submitted_twice"]["console_submits"],
        "keys_submitted_twice": fig["never_submitted_twice"]["keys_submitted_twice"],
        "grants_wrong_tenant": fig["grants_on_own_tenant"]["grants_wrong_tenant"],
        "grants_broader_than_approved": fig["grants_within_approval"]["grants_broader_than_approved"],
        "gate_anomalies_missed": fig["gate_anomalies_caught"]["gate_anomalies_missed"], "frozen_claim": frozen,
        "gate_anomalies_halted_by_recovery_scan": recovered,
        "console_grants_held_as_escalated_halts": fig["console_matches_ledger"]["console_grants_held_as_escalated_halts"],
        "requests_without_terminal_outcome": without_outcome,
        "events_received": events["events_received"], "distinct_event_ids": events["distinct_event_ids"],
        "republished_copies": events["republished_copies"],
        "events_missing": events["events_missing"],
        "event_ids_conflicting": fig["event_ids_not_reused"]["event_ids_conflicting"],
        "dead_letters": len(f.dead),
        "rejected_events_without_key": fig["keyless_rejections_counted"]["rejected_events_without_key"],
        "duplicate_dead_letters": {"after_enqueue_retries": dead["extra_explained"],
                                   "at_least_once": dead["extra_unexplained"]},
        "faults": {"broker_restarts": 1, "broker_outages": 1, "worker_freezes": 1 if frozen.get("key") else 0,
                   "poison_header_messages": poisoned, "crashes": sum(fired.values())},
        "halts_without_takeover_record": fig["every_halt_has_takeover_record"]["halts_without_takeover_record"],
        "canary_hits": canary_hits,
        "paths_not_owner_only": loose,
        "slow_drip_keys": slow_drip,
        "offsite_redirect_keys": redirected, "offsite_requests": offsite["offsite_requests"],
        "offsite_posts": offsite["offsite_posts"],
        "disk_fault": {k: (dict(v) if isinstance(v, dict) else v) for k, v in disk.items()},
        "sigabrt_crashes": sup["aborts"], "core_dumps": cores,
        "canaries_planted": {"console_password": 1, "sources_token": 1, "emails": emails, "session_cookies": sessions},
        "violations": violations,
    }
    disk_keys = disk.get("keys", [])
    rows = [
        ("keys (valid / invalid)", f"{len(f.valid_keys)} / {len(f.invalid_keys)}"),
        ("messages sent (5 copies per key + feeders)", total_messages),
        ("worker launches", sup["launches"]),
        ("crashes by point", ", ".join(f"{p} {fired.get(p, 0)}" for p in CRASH_POINTS)),
        ("outcomes in the ledger", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))),
        ("grants in the console (total)", summary["grants_in_console"]),
        ("keys granted twice", summary["keys_granted_twice"]),
        ("final submits received by the console / keys submitted twice",
         f"{summary['console_submits']} / {summary['keys_submitted_twice']}"),
        ("grants on another tenant / broader than approved",
         f"{summary['grants_wrong_tenant']} / {summary['grants_broader_than_approved']}"),
        ("gate anomalies not caught before the console (of which halted for a person by the recovery scan)",
         f"{summary['gate_anomalies_missed']} ({len(recovered)})"),
        ("frozen worker's claim taken over", (f"yes ({frozen['state']} claim on {frozen['key']}, epoch {frozen['epoch']} -> "
                                              f"{f.epoch(frozen['key'])})") if frozen.get("key") else "no claim frozen"),
        ("console grants held as escalated halts", summary["console_grants_held_as_escalated_halts"]),
        ("requests without a terminal outcome", without_outcome),
        ("events received / distinct ids / republished copies",
         f"{events['events_received']} / {events['distinct_event_ids']} / {events['republished_copies']}"),
        ("events missing / ids reused for other content",
         f"{events['events_missing']} / {summary['event_ids_conflicting']}"),
        ("dead letters / rejected events without a key", f"{len(f.dead)} / {summary['rejected_events_without_key']}"),
        ("duplicate dead letters (enqueue retried / at-least-once)",
         f"{dead['extra_explained']} / {dead['extra_unexplained']}"),
        ("faults: broker restart / outage / freeze / poison headers", f"1 / 1 / {1 if frozen.get('key') else 0} / {poisoned}"),
        ("ledger disk full", (f"{disk['seconds']} s ({disk['filled_mib']} MiB filler), {len(disk_keys)} keys fed, "
                              f"/readyz while full: {dict(disk['ready_answers'])}, workers that could not open it and "
                              f"exited 1: {disk.get('worker_exits_while_full', 0)}") if disk_keys else disk.get("skipped", "no")),
        ("slow-drip keys / off-site redirects (requests, forms posted there)",
         f"{slow_drip} / {redirected} ({offsite['offsite_requests']}, {offsite['offsite_posts']})"),
        ("crashes by SIGABRT / core dumps written", f"{sup['aborts']} / {cores}"),
        ("halts by reason", ", ".join(f"{k} {v}" for k, v in sorted(halts_by_reason.items())) or "-"),
        ("halts without a takeover record", summary["halts_without_takeover_record"]),
        ("canaries planted", f"1 console password, 1 source token, {emails} emails, {sessions} session cookies"),
        ("canary hits (evidence, logs, events, ledger)", canary_hits),
        ("events checked against the contract schemas", fig["events_match_contract"]["summary"]),
        ("ledger/evidence paths not owner-only", loose),
        ("queues left non-empty", leftover),
        ("unexpected worker exits", len(sup["unexpected_exits"])),
    ]
    return summary, rows, violations


def print_report(summary, rows, violations):
    """The report as the chaos suite prints it (scripts/test shows it from `chaos run:` on). Returns the exit status."""
    print()
    print("chaos run: " + summary["mode"] + f", {summary['seconds']} s")
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
    if violations:
        print("\nVIOLATIONS:")
        for v in violations:
            print("  - " + v)
        return 1
    print("\nno violation: nothing granted twice, nothing lost, nothing leaked, every halt explained")
    return 0


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    import datetime
    facts = Facts(argv[1])
    summary, rows, violations = report(facts, judge(facts),
                                       datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return print_report(summary, rows, violations)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
