#!/usr/bin/env python3
"""The chaos run behind ./scripts/chaos (issue 9): a storm of requests against 4 supervised workers while
crash points, broker restarts, a broker outage, a frozen worker and console faults hit them; then a checker in
the style of Jepsen's total-queue checker, and a leak scan for planted canary secrets.

  chaos.py fixtures RUN_DIR KEYS SEED          writes RUN_DIR/fixtures.json, RUN_DIR/plan.json, canaries
  chaos.py run RUN_DIR                         everything else (reads RUN_DIR/env.json written by scripts/chaos)

Run with /usr/bin/python3 (pika). Exit status: 0 when every check holds, 1 on any violation, 2 on a harness error.
Nothing secret is printed: canaries are reported by kind and file, never by value.

The processes, the broker node, the ledger reads and `breakglass enqueue` go through scripts/lib/harness.py (shared with
bench/worker/worker_bench.py). The checker is two steps: collect() records what the judgement needs in RUN_DIR/facts/
(and RUN_DIR/events.jsonl), then the invariants of scripts/lib/chaos_checks.py, one pure function each, judge those
files; `chaos_checks.py RUN_DIR` judges a kept run folder again.
"""
import base64
import collections
import datetime
import hashlib
import json
import os
import pathlib
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import chaos_checks
import harness
from chaos_checks import CRASH_POINTS
# Keys fed while the ledger's disk is full (the disk fault): clean keys, none in the storm or the crash reserve.
DISK_KEYS = 6
# Screens before the final submit where the tenant is known (a tenant's fault modes apply once the flow names it),
# for the off-site redirect: it must end in a halt with nothing posted off-site.
PRE_SUBMIT_SCREENS = ["tenant-verify", "incident", "incident-verify", "scope", "expiration", "approvals",
                      "acknowledgement"]
SCREENS = ["tenant", "tenant-verify", "incident", "incident-verify", "scope", "expiration", "approvals", "acknowledgement", "submit"]


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def token(n=18):
    return base64.b32encode(os.urandom(n)).decode().rstrip("=").lower()


def log(message):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------------------------------
# Plan: fixtures, requests, canaries
# --------------------------------------------------------------------------------------------------------------

def random_faults(rng):
    """One console/IAM fault mode, picked at random (the 20 % of console flows that misbehave)."""
    choice = rng.choice([
        {"id_drift": [rng.choice(SCREENS)]},
        {"broader_scope_prechecked": True},
        {"broader_scope_preselected": True},
        {"expiration_control_missing": True},
        {"existing_session_banner": True},
        {"wrong_tenant_after_lookup": True},
        {"page_delay_ms": 400},
        {"error_at_screen": rng.choice(SCREENS)},
        {"session_expires_at_screen": rng.choice(SCREENS)},
        {"ambiguous_confirmation": True},
        {"confirmation_hang": True, "confirmation_hang_ms": 15000},
        {"grant_absent_from_iam": True},
    ])
    return choice


def make_plan(run_dir, keys, seed):
    """`keys` storm keys plus a reserve of clean keys (a quarter more, at least 12) that feed the crash schedule."""
    rng = random.Random(seed)
    reserve_from = keys
    keys += max(80, keys // 2)
    disk_from = keys
    keys += DISK_KEYS
    run = pathlib.Path(run_dir)
    start = now_utc()
    canaries = {
        "console_password": "cnry-pw-" + token(),
        "sources_token": "cnry-tok-" + token(),
        "emails": [],
    }
    tenants, incidents, cases, identities, iam = [], [], [], [], {}
    requests = []
    faults = {}
    kinds = collections.Counter()
    for index in range(keys):
        tenant_id = f"tnt-c{index:05d}"
        case_id = f"CASE-C{index:05d}"
        incident_id = f"INC-C{index:05d}"
        admin_id = f"adm-c{index:05d}"
        customer = f"c-own-{index:05d}"
        email = f"cnry.{token(6)}@chaos-tenant.example"
        canaries["emails"].append(email)
        roll = 0.0 if index >= reserve_from else rng.random()
        # One storm key in 40 meets a slow-drip source (its tenant and IAM answers come a byte at a time: halted
        # SOURCE_UNAVAILABLE at the gate deadline), another one a console that redirects off-site mid-flow.
        # Otherwise 70 % clean at the gate (of which 20 % meet a console fault), 25 % halt at the gate, 5 % invalid.
        if index < reserve_from and index % 40 in (0, 1):
            kind = "slow-drip" if index % 40 == 0 else "offsite-redirect"
        elif roll < 0.70:
            kind = "console-fault" if index < reserve_from and rng.random() < 0.20 else "clean"
        elif roll < 0.95:
            kind = rng.choice(["revoked-approval", "segregation", "unverified-identity", "existing-session",
                               "resolved-incident", "suspended-tenant", "pending-approval"])
        else:
            kind = rng.choice(["forged", "malformed"])
        kinds[kind] += 1
        tenants.append({"tenant_id": tenant_id, "name": f"Chaos Tenant {index}", "region": "eu-west-1",
                        "status": "suspended" if kind == "suspended-tenant" else "active", "contact_email": email})
        incidents.append({"incident_id": incident_id, "title": f"Chaos incident {index}",
                          "status": "resolved" if kind == "resolved-incident" else "active",
                          "tenant_ids": [tenant_id]})
        security = "u-ic-12" if kind == "segregation" else "u-sec-3"
        approvals = [
            {"approval_id": f"APR-C{index}-1", "role": "incident-command", "approver_id": "u-ic-12",
             "status": "approved", "approved_at": "now-20m", "expires_at": "now+6h"},
            {"approval_id": f"APR-C{index}-2", "role": "security", "approver_id": security,
             "status": "approved", "approved_at": "now-15m", "expires_at": "now+6h"},
            {"approval_id": f"APR-C{index}-3", "role": "customer-account-authority", "approver_id": customer,
             "status": {"revoked-approval": "revoked", "pending-approval": "pending"}.get(kind, "approved"),
             "approved_at": "now-10m", "expires_at": "now+6h"},
        ]
        packet_sha = hashlib.sha256(case_id.encode()).hexdigest()
        cases.append({"case_id": case_id, "status": "open", "tenant_id": tenant_id, "incident_id": incident_id,
                      "requester_admin_id": admin_id, "packet": {"id": f"PKT-C{index}", "sha256": packet_sha},
                      "approved_scopes": ["admins.restore"], "approved_duration_minutes": 60,
                      "approvals": approvals})
        identity = {"admin_id": admin_id, "ref": f"IDV-C{index}", "verified": kind != "unverified-identity"}
        if identity["verified"]:
            identity["verified_at"] = "now-30m"
        identities.append(identity)
        entry = {"policy": {"max_duration_minutes": 240,
                            "required_approval_roles": ["incident-command", "security", "customer-account-authority"]},
                 "directory_roles": {"u-ic-12": ["incident-command"], "u-sec-3": ["security"],
                                     customer: ["customer-account-authority"]}}
        if kind == "existing-session":
            entry["sessions"] = [{"grant_ref": f"BG-PRE{index:05d}", "expires_at": "now+50m"}]
        iam[tenant_id] = entry
        if kind == "console-fault":
            faults[tenant_id] = random_faults(rng)
        elif kind == "slow-drip":
            faults[tenant_id] = {"source_drip_ms": 700}
        elif kind == "offsite-redirect":
            faults[tenant_id] = {"offsite_redirect_at_screen": rng.choice(PRE_SUBMIT_SCREENS)}
        body = {
            "schema": "breakglass.restoration.approved/v1", "request_id": f"REQ-C{index:05d}-0",
            "case_id": case_id, "tenant": {"id": tenant_id, "name": f"Chaos Tenant {index}"},
            "incident": {"id": incident_id},
            "requester": {"admin_id": admin_id, "identity_assurance_ref": f"IDV-C{index}"},
            "privilege": {"role": "tenant-admin", "scopes": ["admins.restore"], "duration_minutes": 60},
            "approvals": [{"role": a["role"], "approval_id": a["approval_id"], "approver_id": a["approver_id"]}
                          for a in approvals],
            "packet": {"id": f"PKT-C{index}", "sha256": packet_sha},
            "enqueued_at": rfc3339(start), "not_after": rfc3339(start + datetime.timedelta(hours=3)),
        }
        requests.append({"index": index, "kind": kind, "key": f"{case_id}/{tenant_id}", "body": body,
                         "reserve": reserve_from <= index < disk_from, "disk": index >= disk_from})
    fixtures = {
        "tenants": tenants, "incidents": incidents, "cases": cases, "identities": identities, "iam": iam,
        "console": {
            "service_account": {"username": "svc-breakglass", "password": canaries["console_password"]},
            "offered_scopes": [
                {"scope": "admins.restore", "label": "Restore tenant administrators"},
                {"scope": "users.reset-mfa", "label": "Reset user MFA"},
                {"scope": "tenant.full-admin", "label": "Full tenant administration"},
            ],
            "broad_scope": "tenant.full-admin", "max_duration_minutes": 480, "session_idle_minutes": 30,
        },
    }
    (run / "fixtures.json").write_text(json.dumps(fixtures, indent=1))
    (run / "console.password").write_text(canaries["console_password"] + "\n")
    (run / "sources.token").write_text(canaries["sources_token"] + "\n")
    os.chmod(run / "console.password", 0o600)
    os.chmod(run / "sources.token", 0o600)
    (run / "canaries.json").write_text(json.dumps(canaries))
    (run / "plan.json").write_text(json.dumps({"requests": requests, "faults": faults, "kinds": kinds}))
    print(f"{reserve_from} storm keys + {disk_from - reserve_from} in reserve + {DISK_KEYS} for the disk fault: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


# --------------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------------

class Env:
    def __init__(self, run_dir):
        self.run = pathlib.Path(run_dir)
        self.__dict__.update(json.loads((self.run / "env.json").read_text()))
        # The ledger's folder: a small tmpfs of its own when the harness could mount one (the disk-full fault).
        self.ledger_dir = pathlib.Path(getattr(self, "ledger_dir", self.run))
        self.ledger = self.ledger_dir / "ledger.sqlite"
        # The private broker node scripts/chaos started (scripts/rabbitmq-node, its folder).
        self.node = harness.RabbitNode(self.rabbit_dir, self.node_script)

    def control(self, path, method="GET", body=None):
        return harness.sim_control(f"http://127.0.0.1:{self.sim_port}", self.run / "control.token", path, method, body)

    def rabbit(self, command, check=True):
        """rabbitmq-node COMMAND on the run's node (restart, stop, start), output captured."""
        return self.node.command(command, check=check, capture_output=True, text=True)


class Supervisor:
    """Runs 4 workers and restarts each one when it exits, arming the next crash point of the schedule."""

    def __init__(self, env, slots, armings, arm_timeout):
        self.env = env
        self.slots = slots
        self.lock = threading.Lock()
        self.pending = collections.deque(armings)
        self.fired = collections.Counter()
        self.timeouts = collections.Counter()
        self.unexpected_exits = []
        self.launches = 0
        self.stopping = threading.Event()
        self.processes = {}
        self.armed = {}
        self.recycling = set()
        self.forced = {}  # slot -> crash point it must take at its next launch
        self.frozen_claim = {}
        self.disk = {}
        # While the ledger's disk is full, a worker (re)started by the crash schedule cannot open the ledger: it
        # logs why at error level and exits 1 (the supervisor restarts it, as systemd or compose would).
        self.disk_full = threading.Event()
        self.ledger_exits = 0
        # One crash dies by SIGABRT instead of SIGKILL (a crash that would dump core: none may be written).
        self.abort_point = "after-gate"
        self.aborts = 0
        self.frozen = set()
        self.arm_timeout = arm_timeout
        self.threads = [threading.Thread(target=self.loop, args=(slot,), daemon=True) for slot in range(1, slots + 1)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def relay_owner(self):
        try:
            rows = harness.ledger_query(self.env.ledger, "SELECT owner, expires_at FROM relay_lease WHERE id = 1",
                                        timeout=5)
            return rows[0][0] if rows else None
        except sqlite3.Error:
            return None

    def next_arming(self, slot):
        with self.lock:
            if not self.pending:
                return None
            worker_id = f"chaos-{slot}"
            if slot in self.forced:
                point = self.forced.pop(slot)
                if point in self.pending:
                    self.pending.remove(point)
                    return point
            owner = self.relay_owner()
            for index, point in enumerate(self.pending):
                # after-publish only happens in the worker holding the relay lease (or when nobody holds it).
                if point != "after-publish" or owner in (None, worker_id):
                    del self.pending[index]
                    return point
            return None

    def loop(self, slot):
        worker_id = f"chaos-{slot}"
        launch = 0
        while not self.stopping.is_set():
            launch += 1
            point = self.next_arming(slot)
            env = harness.worker_environment({**self.env.worker_env, "BREAKGLASS_WORKER_ID": worker_id,
                                              "BREAKGLASS_OPS_PORT": str(self.env.ops_ports[slot - 1])},
                                             drop=("BREAKGLASS_CRASH_AT", "BREAKGLASS_CRASH_SIGNAL"))
            aborting = False
            if point:
                env["BREAKGLASS_CRASH_AT"] = point
                with self.lock:
                    aborting = point == self.abort_point and self.aborts == 0
                if aborting:
                    env["BREAKGLASS_CRASH_SIGNAL"] = "abort"
            logfile = open(self.env.run / f"worker-{slot}.log", "ab")
            logfile.write(f"\n=== launch {launch} crash_at={point or '-'}{' (SIGABRT)' if aborting else ''} ===\n".encode())
            logfile.flush()
            log_offset = logfile.tell()
            process = harness.start_worker(self.env.bin, self.env.worker_config, env, logfile, flags=self.env.run_flags,
                                           new_session=True)
            with self.lock:
                self.processes[slot] = process
                self.launches += 1
                self.recycling.discard(slot)
                if point:
                    self.armed[slot] = point
            started = time.time()
            full_at_launch = self.disk_full.is_set()
            timed_out = False
            while process.poll() is None:
                if self.stopping.wait(0.2):
                    break
                if point and slot not in self.frozen and time.time() - started > self.arm_timeout:
                    # The armed point was not reached in time (no traffic of that kind reached this worker):
                    # stop it gracefully and give the arming back to the schedule.
                    timed_out = True
                    harness.stop_process(process, timeout=60)
                    break
            if self.stopping.is_set() and process.poll() is None:
                harness.stop_process(process, timeout=60)
            rc = process.wait()
            logfile.close()
            # A worker killed with SIGKILL cannot stop its chromedriver and browsers: reap its process group.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            reached = False
            if point:
                # Counted only when the worker itself said it reached the point (not any SIGKILL, e.g. an OOM kill).
                with open(self.env.run / f"worker-{slot}.log", "rb") as written:
                    written.seek(log_offset)
                    reached = f"crash point {point} reached".encode() in written.read()
            with self.lock:
                self.armed.pop(slot, None)
                died = rc == -signal.SIGKILL or (aborting and rc == -signal.SIGABRT)
                if point and died and reached and not timed_out:
                    self.fired[point] += 1
                    self.aborts += aborting and rc == -signal.SIGABRT
                elif point:
                    self.timeouts[point] += 1 if timed_out else 0
                    self.pending.append(point)
                ledger_exit = False
                if rc == 1 and (full_at_launch or self.disk_full.is_set()):
                    with open(self.env.run / f"worker-{slot}.log", "rb") as written:
                        written.seek(log_offset)
                        ledger_exit = b"worker cannot run: the ledger failed" in written.read()
                    self.ledger_exits += ledger_exit
                if (rc not in (0, -signal.SIGKILL) and not (aborting and rc == -signal.SIGABRT) and not ledger_exit
                        and not self.stopping.is_set()):
                    self.unexpected_exits.append({"slot": slot, "launch": launch, "rc": rc})
            if not self.stopping.is_set():
                time.sleep(0.3)

    def recycle_for_pending(self):
        """When a crash point waits and no worker is armed, restart (SIGTERM) one that can take it: for
        after-publish the relay lease holder, else any running worker."""
        with self.lock:
            if not self.pending or self.armed or self.recycling:
                return None
            owner = self.relay_owner()
            point = self.pending[0]
            candidates = [s for s, p in self.processes.items() if p.poll() is None and s not in self.frozen]
            if point == "after-publish" and owner:
                candidates = [s for s in candidates if f"chaos-{s}" == owner]
            if not candidates:
                return None
            slot = candidates[0]
            self.recycling.add(slot)
            if point == "after-publish" and owner:
                # Killed, not stopped: a stopped worker hands its relay lease back and another takes it before the
                # restart; killed, its lease stays until it expires, and the restart (same worker id) takes it again.
                self.forced[slot] = point
                self.processes[slot].send_signal(signal.SIGKILL)
            else:
                self.processes[slot].send_signal(signal.SIGTERM)
            return slot

    def freeze(self, slot, seconds):
        with self.lock:
            process = self.processes.get(slot)
            self.frozen.add(slot)
        if process and process.poll() is None:
            process.send_signal(signal.SIGSTOP)
            time.sleep(seconds)
            process.send_signal(signal.SIGCONT)
        with self.lock:
            self.frozen.discard(slot)

    def stop(self):
        if self.stopping.is_set():
            return
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)


# How many times each case's messages were handed to `breakglass enqueue` (a retried chunk counts again).
PUBLISH_ATTEMPTS = collections.Counter()


def case_of(text):
    match = re.search(r'"case_id":"([^"]*)"', text)
    return match.group(1) if match else None


def enqueue(env, items, out_dir, label):
    """Writes bodies and enqueues them with `breakglass enqueue` (signed, forged or unsigned)."""
    out = env.run / "batch" / label
    out.mkdir(parents=True, exist_ok=True)
    groups = {"sign": [], "forged": [], "none": []}
    for n, (mode, text) in enumerate(items):
        path = out / f"{n:05d}.json"
        path.write_text(text)
        groups[mode].append(str(path))
    for mode, files in groups.items():
        for start in range(0, len(files), 500):
            chunk = files[start:start + 500]
            if not chunk:
                continue
            key = {"sign": env.seed, "forged": env.forger_seed}.get(mode)
            for attempt in range(60):
                # A failed run may have published part of the chunk (or had a confirm lost in a broker restart):
                # the retry publishes those again, so every attempt counts as a possible publish of each message.
                for path in chunk:
                    PUBLISH_ATTEMPTS[case_of(pathlib.Path(path).read_text())] += 1
                result = harness.enqueue(env.bin, chunk, env.amqp_url, key=key, unsigned=key is None)
                if result.returncode == 0:
                    break
                time.sleep(1)  # the broker may be restarting: try again
            else:
                raise RuntimeError(f"enqueue failed: {result.stderr[-400:]}")


def message_copies(request, copy, rng):
    """The n-th copy of a request: 0-2 the same message (duplicates), 3-4 replays under new request ids."""
    kind = request["kind"]
    body = dict(request["body"])
    if copy >= 3:
        body["request_id"] = f"{body['request_id'][:-2]}-{copy}"
    if kind == "malformed":
        return "sign", json.dumps(body, separators=(",", ":"))[:-9] + '"oops":}'
    return ("forged" if kind == "forged" else "sign"), json.dumps(body, separators=(",", ":"))


def row_epoch(env, key):
    case_id, tenant_id = key.split("/", 1)
    rows = harness.ledger_query(env.ledger, "SELECT epoch FROM restorations WHERE case_id = ? AND tenant_id = ?",
                                (case_id, tenant_id))
    return rows[0][0] if rows else -1


def drain(env, queue):
    """Every message of `queue`. Runs on a thread with a large stack and a high recursion limit: the dead-letter queue
    holds the poison message, whose headers nest ~21,800 tables, and pika decodes tables recursively."""
    result = {}

    def work():
        try:
            result["messages"] = _drain(env, queue)
        except BaseException as error:  # re-raised on the caller's thread
            result["error"] = error

    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous_limit, 400000))
    threading.stack_size(512 * 1024 * 1024)
    try:
        thread = threading.Thread(target=work)
        thread.start()
    finally:
        threading.stack_size(0)
    thread.join()
    sys.setrecursionlimit(previous_limit)
    if "error" in result:
        raise result["error"]
    return result["messages"]


def _drain(env, queue):
    return harness.drain_queue("127.0.0.1", env.amqp_port, queue)


def declare_watch_queue(env):
    harness.declare_watch_queue("127.0.0.1", env.amqp_port)


def run(run_dir):
    env = Env(run_dir)
    env.started_at = time.time()
    plan = json.loads((env.run / "plan.json").read_text())
    requests = plan["requests"]
    rng = random.Random(env.seed_value)
    quick = env.quick
    t0 = time.time()

    for tenant, modes in plan["faults"].items():
        env.control(f"faults/tenants/{tenant}", "PUT", modes)
    declare_watch_queue(env)

    reps = 1 if quick else 5
    armings = [point for point in CRASH_POINTS for _ in range(reps)]
    rng.shuffle(armings)
    supervisor = Supervisor(env, 4, armings, arm_timeout=45 if quick else 60)
    log(f"4 workers under a supervisor; crash schedule: {len(armings)} crashes ({reps} per point)")
    supervisor.start()
    try:
        return storm(env, plan, requests, rng, quick, supervisor, t0)
    finally:
        supervisor.stop()


def storm(env, plan, requests, rng, quick, supervisor, t0):
    # At least 2 of the 4 workers ready (120 s at most; the storm starts either way).
    harness.poll_until(lambda: sum(harness.ready(port, timeout=2) for port in env.ops_ports) >= 2, 120, interval=0.5)

    # The storm: every key 5 times (3 identical copies, 2 replays under new request ids), shuffled, in waves;
    # a reserve of keys feeds the crash schedule once the storm is through.
    storm_keys = [r for r in requests if not r.get("reserve") and not r.get("disk")]
    copies = [(r, c) for r in storm_keys for c in range(5)]
    rng.shuffle(copies)
    waves = 4
    outage_seconds = 10 if quick else 30
    events_plan = {"broker": 15 if quick else 25, "freeze": 30 if quick else 50, "outage": 45 if quick else 80}
    lease = env.lease_seconds
    bound = getattr(env, "confirmation_bound_seconds", 30)
    done_faults = set()
    wave_size = (len(copies) + waves - 1) // waves
    log(f"storm: {len(storm_keys)} keys x 5 copies = {len(copies)} messages in {waves} waves")
    storm_start = time.time()
    next_wave = 0
    threads = []

    def broker_restart():
        log("broker restart")
        env.rabbit("restart")
        log("broker back after restart")

    def broker_outage():
        log(f"broker outage: {outage_seconds} s")
        env.rabbit("stop")
        time.sleep(outage_seconds)
        env.rabbit("start")
        log("broker back after the outage")

    def freeze():
        # Freeze a worker that holds a claim (a submitting one if any), so the takeover path is really exercised.
        def claim_holder():
            try:
                rows = harness.ledger_query(
                    env.ledger, "SELECT case_id, tenant_id, owner, epoch, state FROM restorations "
                                "WHERE state IN ('claimed', 'gate-passed', 'submitting') AND owner LIKE 'chaos-%' "
                                "ORDER BY state = 'submitting' DESC LIMIT 1", timeout=5)
            except sqlite3.Error:
                return None
            return rows[0] if rows else None

        target = harness.poll_until(claim_holder, 30, interval=0.5) or None
        if target is None:
            frozen_claim["missing"] = True
            log("no worker held a claim to freeze")
            return
        slot = int(target[2].split("-")[1])
        frozen_claim.update(key=f"{target[0]}/{target[1]}", epoch=target[3], state=target[4], owner=target[2])
        # `submitting` extends the lease over the confirmation bound (issue 15.2): freeze past that too.
        held = lease + (bound if target[4] == "submitting" else 0)
        seconds = held + 10
        log(f"worker {slot} frozen (SIGSTOP) for {seconds} s, past its {held} s lease, holding a {target[4]} claim")
        supervisor.freeze(slot, seconds)
        log(f"worker {slot} thawed (SIGCONT)")

    def poison():
        # Headers nested as deep as frame_max allows, unsigned, among real traffic (issue 15.1).
        script = pathlib.Path(__file__).resolve().parent / "amqp_poison.py"
        for attempt in range(30):
            # Each attempt's body is distinct: an attempt that failed after the broker took the message still
            # counts as its own message (each must be dead-lettered exactly once, with its own rejected event).
            poisoned["attempts"] += 1
            result = subprocess.run([sys.executable, str(script), env.amqp_url, "--tag", f"attempt-{attempt}"],
                                    capture_output=True, text=True)
            if result.returncode == 0:
                poisoned["count"] += 1
                log(f"poison headers: {result.stdout.strip()}")
                return
            time.sleep(1)  # the broker may be restarting
        log(f"poison headers could not be published: {result.stderr[-300:]}")

    def disk_full():
        # The ledger's tmpfs filled to the last byte while fresh keys arrive, held, then freed (issue 15.4): /readyz
        # must fail while it is full, nothing approved may be dead-lettered, and the keys must carry on afterwards.
        if not getattr(env, "disk_fault", False):
            disk["skipped"] = "the ledger is not on a tmpfs of its own (mount refused)"
            log(f"disk fault skipped: {disk['skipped']}")
            return
        filler = env.ledger_dir / "filler"
        held = 15 if quick else 30
        supervisor.disk_full.set()
        written = 0
        with open(filler, "wb") as out:
            chunk = b"\0" * (1 << 20)
            while True:
                try:
                    out.write(chunk)
                    out.flush()
                    written += len(chunk)
                except OSError:
                    break
            try:  # the last partial chunk: every byte the filesystem still had
                for size in (1 << 16, 1 << 12, 1 << 8, 1):
                    while True:
                        out.write(b"\0" * size)
                        out.flush()
                        written += size
            except OSError:
                pass
        log(f"ledger disk full ({written >> 20} MiB filler) for {held} s; {DISK_KEYS} fresh keys enqueued")
        keys = [r for r in requests if r.get("disk")]
        disk["keys"] = [r["key"] for r in keys]
        enqueue(env, [message_copies(r, 0, rng) for r in keys], env.run, "disk")
        disk["ready_answers"] = collections.Counter()
        until = time.time() + held
        while time.time() < until:
            for port in env.ops_ports:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                        disk["ready_answers"][str(r.status)] += 1
                except urllib.error.HTTPError as error:
                    disk["ready_answers"][str(error.code)] += 1
                except Exception:
                    disk["ready_answers"]["no answer"] += 1
            time.sleep(0.5)
        filler.unlink()
        time.sleep(2)  # a worker launched just before the free may still be failing to open the ledger
        supervisor.disk_full.clear()
        disk["worker_exits_while_full"] = supervisor.ledger_exits
        disk["seconds"] = held
        disk["filled_mib"] = written >> 20
        log(f"ledger disk freed; /readyz answers while full: {dict(disk['ready_answers'])}")

    def taken_over(timeout):
        # The frozen claim has a newer epoch (another owner took it): only then may the broker go down, so the
        # redelivery that makes the takeover happen is never masked by the outage.
        if not frozen_claim.get("key"):
            return False
        return harness.poll_until(lambda: row_epoch(env, frozen_claim["key"]) > frozen_claim["epoch"], timeout,
                                  interval=0.5)

    def faults():
        # One after the other, never overlapping (faults that mask each other made a clean run fail once):
        # broker restart, then the freeze, then (once the frozen claim was taken over) the outage.
        broker_restart()
        wait = events_plan["freeze"] - (time.time() - storm_start)
        if wait > 0:
            time.sleep(wait)
        freeze()
        if frozen_claim.get("key") and not taken_over(60):
            log("the frozen claim was not taken over within 60 s after the thaw")
        wait = events_plan["outage"] - (time.time() - storm_start)
        if wait > 0:
            time.sleep(wait)
        broker_outage()
        disk_full()

    poisoned = {"count": 0, "attempts": 0}
    supervisor.poisoned = poisoned
    actions = {"broker": faults, "poison": poison}
    events_plan["poison"] = 5  # before the broker restart
    frozen_claim = supervisor.frozen_claim
    disk = supervisor.disk
    reserve = [r for r in requests if r.get("reserve")]
    fed = 0
    last_feed = 0.0
    hard_deadline = time.time() + (780 if quick else 2700)
    last_progress = ""
    while True:
        elapsed = time.time() - storm_start
        if next_wave < waves and elapsed >= next_wave * (8 if quick else 15):
            chunk = copies[next_wave * wave_size:(next_wave + 1) * wave_size]
            enqueue(env, [message_copies(r, c, rng) for r, c in chunk], env.run, f"wave-{next_wave}")
            log(f"wave {next_wave + 1}/{waves}: {len(chunk)} messages enqueued")
            next_wave += 1
        for name, at in events_plan.items():
            if name in actions and name not in done_faults and elapsed >= at:
                done_faults.add(name)
                thread = threading.Thread(target=actions[name], daemon=True)
                thread.start()
                threads.append(thread)
        all_faults_done = len(done_faults) == len(actions) and all(not t.is_alive() for t in threads)
        with supervisor.lock:
            pending = len(supervisor.pending) + len(supervisor.armed)
            fired = sum(supervisor.fired.values())
        try:
            ledger = harness.read_ledger(env.ledger)
            rows, outbox = ledger["restorations"], ledger["outbox"]
        except sqlite3.Error:
            time.sleep(1)
            continue
        unfinished = [r for r in rows if r["state"] not in ("granted", "halted", "rejected", "resolved")]
        unpublished = sum(1 for o in outbox if o["published_at"] is None)
        depths = env.node.queue_depths() if all_faults_done else {}
        requests_depth = depths.get("breakglass.restorations", (None, None))
        progress = (f"decided {len(rows) - len(unfinished)}/{len(rows)} keys seen, crashes {fired} "
                    f"(pending {pending}), outbox pending {unpublished}, requests queue {requests_depth}")
        if progress != last_progress and int(elapsed) % 10 == 0:
            log(progress)
            last_progress = progress
        # Feed fresh keys while crash points remain to be reached once the storm is in.
        if next_wave >= waves and pending and not unfinished and int(elapsed) % 5 == 0:
            slot = supervisor.recycle_for_pending()
            if slot:
                log(f"worker {slot} restarted to take a waiting crash point")
        # At most every 5 s: the reserve must last while a waiting point (after-publish) is handed to the relay holder.
        if next_wave >= waves and pending and fed < len(reserve) and not unfinished and time.time() - last_feed >= 5:
            batch = reserve[fed:fed + 4]
            fed += len(batch)
            last_feed = time.time()
            enqueue(env, [message_copies(r, 0, rng) for r in batch], env.run, f"feed-{fed}")
        quiet = (next_wave >= waves and all_faults_done and not unfinished and unpublished == 0
                 and requests_depth == (0, 0) and pending == 0)
        if quiet:
            break
        if time.time() > hard_deadline:
            log("deadline reached before the system went quiet")
            break
        time.sleep(1)

    log("quiet: stopping the workers (SIGTERM)")
    supervisor.stop()
    return check(env, plan, supervisor, time.time() - t0, fed)


# --------------------------------------------------------------------------------------------------------------
# The checker: collect the facts into the run folder, then judge them (scripts/lib/chaos_checks.py)
# --------------------------------------------------------------------------------------------------------------

def sent_requests(plan, supervisor, fed):
    """The requests sent: every storm key, the first `fed` of the reserve, the keys fed while the disk was full."""
    requests = plan["requests"]
    disk = supervisor.disk
    sent_keys = {r["key"]: r for r in requests if not r.get("reserve") and not r.get("disk")}
    sent_keys.update({r["key"]: r for r in [x for x in requests if x.get("reserve")][:fed]})
    sent_keys.update({r["key"]: r for r in requests if r.get("disk") and r["key"] in disk.get("keys", [])})
    return [{"key": key, "kind": r["kind"], "reserve": bool(r.get("reserve")), "disk": bool(r.get("disk")),
             "privilege": r["body"]["privilege"]} for key, r in sent_keys.items()]


def plain(value):
    """A Counter (or a dict holding Counters) as plain dicts, for JSON."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def supervisor_facts(supervisor):
    with supervisor.lock:
        return {
            "launches": supervisor.launches, "fired": dict(supervisor.fired), "timeouts": dict(supervisor.timeouts),
            "unexpected_exits": list(supervisor.unexpected_exits), "aborts": int(supervisor.aborts),
            "ledger_exits": int(supervisor.ledger_exits), "frozen_claim": dict(supervisor.frozen_claim),
            "poisoned": dict(getattr(supervisor, "poisoned", {"count": 0, "attempts": 0})),
            "disk": plain(dict(supervisor.disk)),
        }


def file_modes(env):
    """The permission bits of the ledger files, the evidence (files and folders) and the ledger's own folder (when it
    is not the run folder), as {"path" (relative to the run folder), "mode" (octal)}."""
    paths = sorted(env.ledger_dir.glob("ledger.sqlite*"))
    evidence = env.run / "evidence"
    if evidence.exists():
        paths += [evidence] + sorted(evidence.rglob("*"))
    modes = [{"path": str(path.relative_to(env.run)), "mode": f"{path.lstat().st_mode & 0o777:04o}"} for path in paths]
    if env.ledger_dir != env.run:
        modes.append({"path": str(env.ledger_dir.relative_to(env.run)),
                      "mode": f"{env.ledger_dir.stat().st_mode & 0o777:04o}"})
    return modes


def collect(env, plan, supervisor, seconds, fed):
    """Everything the invariants judge, from the stopped run into RUN_DIR/facts/ and RUN_DIR/events.jsonl: the
    ledger, the console's own grant and submit counts, the events (a durable queue bound before the run) and the dead
    letters (both drained), the queues' depths, what reached the off-site origin, core files, the events against the
    contract schemas, the permission bits of the ledger and evidence, and the supervisor's record."""
    run = env.run
    write = chaos_checks.write_fact
    write(run, "sent.json", sent_requests(plan, supervisor, fed))
    write(run, "ledger.json", harness.read_ledger(env.ledger))
    write(run, "console.json", {"grants": env.control("grants"), "offsite": env.control("offsite")})
    write(run, "session-cookies.json", {"session_ids": env.control("sessions/issued").get("session_ids", [])})
    events_file = chaos_checks.write_events(run, [body for _props, body in drain(env, "chaos.events")])
    write(run, "dead-letters.jsonl", [body.decode("utf-8", "replace") for _props, body in drain(env, "breakglass.dead")])
    write(run, "queues.json", env.node.queue_depths())
    write(run, "supervisor.json", supervisor_facts(supervisor))
    write(run, "publish-attempts.json", dict(PUBLISH_ATTEMPTS))
    # Core dumps (issue 16): a crash by SIGABRT with core dumps on would write the process memory (the console
    # password, the source token) to a file.
    write(run, "cores.json", [str(p) for base in (pathlib.Path.cwd(), run) for p in base.iterdir()
                              if (p.name == "core" or (p.name.startswith("core.") and p.name[5:].isdigit()))
                              and p.stat().st_mtime >= env.started_at])
    # Every event on the exchange, against the contract's JSON Schemas (docs/contract/schemas/).
    schema_check = subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve().parent / "contract_check.py"),
                                   "events", str(events_file)], capture_output=True, text=True)
    # (stderr kept for a person reading the run folder; the judgement reads the exit status and stdout, as always)
    write(run, "schema-check.json", {"returncode": schema_check.returncode, "stdout": schema_check.stdout,
                                     "stderr": schema_check.stderr[-2000:]})
    # Owner-only files (issue 16.6: the ledger holds raw payloads, evidence what the console showed).
    write(run, "file-modes.json", file_modes(env))
    write(run, "run.json", {"mode": "quick" if env.quick else "full", "quick": bool(env.quick), "seconds": seconds,
                            "fed": fed, "started_at": env.started_at,
                            "ledger_dir": str(env.ledger_dir.relative_to(run)) if env.ledger_dir != run else "."})


def check(env, plan, supervisor, seconds, fed):
    """Collects the facts, judges them with every invariant, writes chaos-summary.json and prints the report.
    Exit status: 0, or 1 on any violation."""
    collect(env, plan, supervisor, seconds, fed)
    facts = chaos_checks.Facts(env.run)
    summary, rows, violations = chaos_checks.report(facts, chaos_checks.judge(facts), rfc3339(now_utc()))
    (env.run / "chaos-summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    return chaos_checks.print_report(summary, rows, violations)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    # SIGTERM from scripts/chaos: unwind (SystemExit) so the supervisor stops the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        if command == "fixtures":
            make_plan(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
            sys.exit(0)
        if command == "run":
            sys.exit(run(sys.argv[2]))
    except Exception as error:  # a harness problem, not a finding
        print(f"chaos harness error: {type(error).__name__}: {error}", file=sys.stderr)
        import traceback
        traceback.print_exc()
        sys.exit(2)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
