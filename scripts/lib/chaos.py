#!/usr/bin/env python3
"""The chaos run behind ./scripts/chaos (issue 9): a storm of requests against 4 supervised workers while
crash points, broker restarts, a broker outage, a frozen worker and console faults hit them; then a checker in
the style of Jepsen's total-queue checker, and a leak scan for planted canary secrets.

  chaos.py fixtures RUN_DIR KEYS SEED          writes RUN_DIR/fixtures.json, RUN_DIR/plan.json, canaries
  chaos.py run RUN_DIR                         everything else (reads RUN_DIR/env.json written by scripts/chaos)

Run with /usr/bin/python3 (pika). Exit status: 0 when every check holds, 1 on any violation, 2 on a harness error.
Nothing secret is printed: canaries are reported by kind and file, never by value.
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

CRASH_POINTS = ["after-claim", "after-gate", "before-click", "after-click", "after-confirmation",
                "after-decision", "after-ack", "after-publish"]
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

    def control(self, path, method="GET", body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.sim_port}/control/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Authorization", "Bearer " + (self.run / "control.token").read_text().strip())
        if body is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def rabbit(self, *args, check=True):
        return subprocess.run([self.node_script, *args], capture_output=True, text=True, check=check)


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
            with sqlite3.connect(f"file:{self.env.ledger}?mode=ro", uri=True, timeout=5) as db:
                row = db.execute("SELECT owner, expires_at FROM relay_lease WHERE id = 1").fetchone()
                return row[0] if row else None
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
            env = dict(os.environ)
            env.update(self.env.worker_env)
            env["BREAKGLASS_WORKER_ID"] = worker_id
            env["BREAKGLASS_OPS_PORT"] = str(self.env.ops_ports[slot - 1])
            env.pop("BREAKGLASS_CRASH_AT", None)
            env.pop("BREAKGLASS_CRASH_SIGNAL", None)
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
            process = subprocess.Popen([self.env.bin, "run", "--config", self.env.worker_config, *self.env.run_flags], env=env,
                                       stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
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
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        process.kill()
                    break
            if self.stopping.is_set() and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
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
            args = [env.bin, "enqueue", *chunk, "--url", env.amqp_url]
            if mode == "sign":
                args += ["--key", env.seed]
            elif mode == "forged":
                args += ["--key", env.forger_seed]
            else:
                args += ["--unsigned"]
            for attempt in range(60):
                # A failed run may have published part of the chunk (or had a confirm lost in a broker restart):
                # the retry publishes those again, so every attempt counts as a possible publish of each message.
                for path in chunk:
                    PUBLISH_ATTEMPTS[case_of(pathlib.Path(path).read_text())] += 1
                result = subprocess.run(args, capture_output=True, text=True)
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


def ledger_rows(env):
    with sqlite3.connect(f"file:{env.ledger}?mode=ro", uri=True, timeout=10) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT case_id, tenant_id, state, escalate, takeover_id, reasons, request_id, in_doubt, "
                          "reconciled, resume_count FROM restorations").fetchall()
        takeovers = db.execute("SELECT id, case_id, tenant_id, stage, escalate, record FROM takeovers").fetchall()
        outbox = db.execute("SELECT event_id, case_id, tenant_id, routing_key, published_at FROM outbox").fetchall()
        return rows, takeovers, outbox


def row_epoch(env, key):
    case_id, tenant_id = key.split("/", 1)
    with sqlite3.connect(f"file:{env.ledger}?mode=ro", uri=True, timeout=10) as db:
        row = db.execute("SELECT epoch FROM restorations WHERE case_id = ? AND tenant_id = ?", (case_id, tenant_id)).fetchone()
        return row[0] if row else -1


def queue_depths(env):
    result = env.rabbit("ctl", env.rabbit_dir, "list_queues", "name", "messages", "messages_unacknowledged",
                        check=False)
    depths = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            depths[parts[0]] = (int(parts[1]), int(parts[2]))
    return depths


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
    import pika
    params = pika.ConnectionParameters(host="127.0.0.1", port=int(env.amqp_port), heartbeat=30,
                                       credentials=pika.PlainCredentials("guest", "guest"))
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    messages = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        messages.append((properties, body))
    connection.close()
    return messages


def declare_watch_queue(env):
    import pika
    params = pika.ConnectionParameters(host="127.0.0.1", port=int(env.amqp_port),
                                       credentials=pika.PlainCredentials("guest", "guest"))
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_declare("chaos.events", durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind("chaos.events", "breakglass.events", routing_key="#")
    connection.close()


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
    deadline = time.time() + 120
    while time.time() < deadline:
        ready = 0
        for port in env.ops_ports:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    ready += r.status == 200
            except Exception:
                pass
        if ready >= 2:
            break
        time.sleep(0.5)

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
        env.rabbit("restart", env.rabbit_dir)
        log("broker back after restart")

    def broker_outage():
        log(f"broker outage: {outage_seconds} s")
        env.rabbit("stop", env.rabbit_dir)
        time.sleep(outage_seconds)
        env.rabbit("start", env.rabbit_dir)
        log("broker back after the outage")

    def freeze():
        # Freeze a worker that holds a claim (a submitting one if any), so the takeover path is really exercised.
        target = None
        until = time.time() + 30
        while target is None and time.time() < until:
            try:
                with sqlite3.connect(f"file:{env.ledger}?mode=ro", uri=True, timeout=5) as db:
                    rows = db.execute("SELECT case_id, tenant_id, owner, epoch, state FROM restorations "
                                      "WHERE state IN ('claimed', 'gate-passed', 'submitting') AND owner LIKE 'chaos-%' "
                                      "ORDER BY state = 'submitting' DESC LIMIT 1").fetchall()
                if rows:
                    target = rows[0]
            except sqlite3.Error:
                pass
            if target is None:
                time.sleep(0.5)
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
        until = time.time() + timeout
        while frozen_claim.get("key") and time.time() < until:
            if row_epoch(env, frozen_claim["key"]) > frozen_claim["epoch"]:
                return True
            time.sleep(0.5)
        return False

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
            rows, _takeovers, outbox = ledger_rows(env)
        except sqlite3.Error:
            time.sleep(1)
            continue
        unfinished = [r for r in rows if r["state"] not in ("granted", "halted", "rejected", "resolved")]
        unpublished = sum(1 for o in outbox if o["published_at"] is None)
        depths = queue_depths(env) if all_faults_done else {}
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
# The checker
# --------------------------------------------------------------------------------------------------------------

def check(env, plan, supervisor, seconds, fed):
    violations = []
    requests = plan["requests"]
    disk = supervisor.disk
    sent_keys = {r["key"]: r for r in requests if not r.get("reserve") and not r.get("disk")}
    sent_keys.update({r["key"]: r for r in [x for x in requests if x.get("reserve")][:fed]})
    sent_keys.update({r["key"]: r for r in requests if r.get("disk") and r["key"] in disk.get("keys", [])})
    valid_keys = {k: r for k, r in sent_keys.items() if r["kind"] not in ("forged", "malformed")}
    invalid_keys = {k: r for k, r in sent_keys.items() if r["kind"] in ("forged", "malformed")}

    rows, takeovers, outbox = ledger_rows(env)
    ledger = {f"{r['case_id']}/{r['tenant_id']}": r for r in rows}
    grants = env.control("grants")
    # Keyed by (tenant, reference): a grant made on another tenant than the key's is its own finding.
    counts = {}
    for row in grants.get("counts", []):
        counts[(row["tenant_id"], row["external_reference"])] = row["count"]
    submits = {(row["tenant_id"], row["external_reference"]): row["count"] for row in grants.get("submits", [])}
    sessions = env.control("sessions/issued").get("session_ids", [])

    # Events: everything the relays published, from the durable queue bound before the run.
    raw_events = drain(env, "chaos.events")
    by_id = {}
    conflicting = 0
    copies = 0
    for _props, body in raw_events:
        event = json.loads(body)
        if event["id"] in by_id:
            copies += 1
            if by_id[event["id"]][1] != body:
                conflicting += 1
            continue
        by_id[event["id"]] = (event, body)
    events = [e for e, _ in by_id.values()]
    terminal = collections.defaultdict(list)
    keyed_rejections = collections.defaultdict(list)
    evidence_ready = collections.Counter()
    rejected_unkeyed = 0
    for event in events:
        kind = event["type"].rsplit(".", 1)[-1]
        subject = event.get("subject")
        if subject == "unknown/unknown":  # a rejection of a message whose key could not be trusted
            subject = None
        if kind in ("outcome", "halted"):
            if not subject:
                rejected_unkeyed += 1
            elif kind == "outcome" and event["data"].get("result") == "rejected":
                keyed_rejections[subject].append(event)  # per message (delivery limit, expiry), not per key
            else:
                terminal[subject].append(event)
        elif kind == "evidence-ready" and subject:
            evidence_ready[subject] += 1
    dead = drain(env, "breakglass.dead")
    depths = queue_depths(env)

    # 1. Never twice, never broader: from the console itself. The console refuses a second grant for a key (it
    #    answers "grant exists"), so its grant count alone could never exceed 1: every final submit it received is
    #    counted too, and a key submitted twice is a finding even though no second grant was made.
    duplicates = {ref: n for (_tenant, ref), n in counts.items() if n > 1}
    if duplicates:
        violations.append(f"{len(duplicates)} key(s) granted more than once: {sorted(duplicates)[:5]}")
    resubmitted = {ref: n for (_tenant, ref), n in submits.items() if n > 1}
    if resubmitted:
        violations.append(f"{len(resubmitted)} key(s) submitted to the console more than once: {sorted(resubmitted)[:5]}")
    wrong_tenant = sorted(ref for (tenant, ref) in counts if ref.split("/", 1)[-1] != tenant)
    if wrong_tenant:
        violations.append(f"{len(wrong_tenant)} grant(s) made on another tenant than the key's: {wrong_tenant[:5]}")
    broader = []
    for grant in grants.get("grants", []):
        request = sent_keys.get(grant["external_reference"])
        approved = request["body"]["privilege"] if request else None
        if approved is None or not set(grant["scopes"]) <= set(approved["scopes"]) \
                or grant["duration_minutes"] > approved["duration_minutes"]:
            broader.append(grant["external_reference"])
    if broader:
        violations.append(f"{len(broader)} grant(s) broader than approved (scopes or duration): {broader[:5]}")
    counts = {ref: n for (_tenant, ref), n in counts.items()}
    # 2. Every valid key has exactly one terminal state and one terminal event.
    no_outcome = [k for k in valid_keys if k not in ledger or ledger[k]["state"] not in ("granted", "halted", "rejected", "resolved")]
    if no_outcome:
        violations.append(f"{len(no_outcome)} request(s) without a terminal outcome: {no_outcome[:5]}")
    def rejected_key(k):
        return k in ledger and ledger[k]["state"] == "rejected"

    # A key decided granted or halted has exactly one outcome/halted event per decision; a key rejected per message
    # (delivery limit) has its rejected outcome(s) and nothing else.
    missing_terminal = [k for k in valid_keys
                        if (len(keyed_rejections.get(k, [])) == 0 if rejected_key(k) else len(terminal.get(k, [])) == 0)]
    double_terminal = [k for k in valid_keys
                       if (len(terminal.get(k, [])) > 0 if rejected_key(k)
                           else len(terminal.get(k, [])) > 1 + (ledger[k]["resume_count"] or 0 if k in ledger else 0))]
    if missing_terminal:
        violations.append(f"{len(missing_terminal)} key(s) without an outcome/halted event: {missing_terminal[:5]}")
    if double_terminal:
        violations.append(f"{len(double_terminal)} key(s) with two different terminal events: {double_terminal[:5]}")
    # 3. Ledger and console agree: a console grant is a ledger grant or an escalated halt (a human checks it).
    granted_in_ledger = {k for k, r in ledger.items() if r["state"] == "granted"}
    console_granted = {k for k, n in counts.items() if n >= 1}
    unrecorded = [k for k in console_granted - granted_in_ledger
                  if not (k in ledger and ledger[k]["state"] == "halted" and ledger[k]["escalate"])]
    if unrecorded:
        violations.append(f"{len(unrecorded)} console grant(s) neither granted nor escalated in the ledger: {unrecorded[:5]}")
    phantom = sorted(granted_in_ledger - console_granted)
    if phantom:
        violations.append(f"{len(phantom)} ledger grant(s) the console does not show: {phantom[:5]}")
    escalated_with_grant = sorted(k for k in console_granted - granted_in_ledger if k in ledger)
    # 4. Events: every outbox row published and received; no id reused for different content.
    outbox_ids = {o["event_id"] for o in outbox}
    missing_events = outbox_ids - set(by_id)
    unpublished = [o["event_id"] for o in outbox if o["published_at"] is None]
    if missing_events:
        violations.append(f"{len(missing_events)} event(s) in the outbox never reached the event exchange")
    if unpublished:
        violations.append(f"{len(unpublished)} outbox event(s) still unpublished")
    if conflicting:
        violations.append(f"{conflicting} event id(s) reused for different content")
    stray = set(by_id) - outbox_ids
    if stray:
        violations.append(f"{len(stray)} event(s) on the exchange that the outbox never held")
    # 5. Halts: each with a takeover record.
    takeover_ids = {t["id"] for t in takeovers}
    halted = {k: r for k, r in ledger.items() if r["state"] == "halted"}
    no_record = [k for k, r in halted.items() if not r["takeover_id"] or r["takeover_id"] not in takeover_ids]
    if no_record:
        violations.append(f"{len(no_record)} halt(s) without a takeover record: {no_record[:5]}")
    halts_by_reason = collections.Counter()
    for r in halted.values():
        for code in json.loads(r["reasons"] or "[]") or ["?"]:
            halts_by_reason[code] += 1
    # Evidence: every granted or halted key has exactly one evidence-ready event per decision.
    no_evidence = [k for k, r in ledger.items() if r["state"] in ("granted", "halted")
                   and evidence_ready[k] != 1 + (r["resume_count"] or 0)]
    if no_evidence:
        violations.append(f"{len(no_evidence)} decided key(s) without exactly one evidence-ready event per decision: {no_evidence[:5]}")
    # Anomalies caught at the gate: every key planned to fail the gate is halted with that reason (or rejected per
    #    message, e.g. at the delivery limit) and never reached the console.
    expected_code = {"revoked-approval": "APPROVAL_REVOKED", "segregation": "SOD_VIOLATION",
                     "unverified-identity": "IDENTITY_UNVERIFIED", "existing-session": "EXISTING_SESSION",
                     "resolved-incident": "INCIDENT_NOT_ACTIVE", "suspended-tenant": "TENANT_INACTIVE",
                     "pending-approval": "APPROVAL_PENDING", "slow-drip": "SOURCE_UNAVAILABLE"}
    missed = []
    # A key whose owner died (or froze) and whose delivery did not come back within the recovery grace is halted
    # for a person by the recovery scan (stage `recovery`) before its gate ran: never at the console, so still caught.
    recovery_halted = {f"{t['case_id']}/{t['tenant_id']}" for t in takeovers if t["stage"] == "recovery"}
    gate_keys_recovered = []
    for key, request in valid_keys.items():
        code = expected_code.get(request["kind"])
        if not code:
            continue
        row = ledger.get(key)
        reasons = json.loads(row["reasons"] or "[]") if row else []
        caught = row is not None and ((row["state"] == "halted" and code in reasons) or row["state"] == "rejected")
        if not caught and row is not None and row["state"] == "halted" and key in recovery_halted:
            caught = True
            gate_keys_recovered.append(key)
        if not caught or counts.get(key, 0) or submits.get((key.split("/", 1)[1], key), 0):
            missed.append(f"{key} ({request['kind']})")
    if missed:
        violations.append(f"{len(missed)} gate anomal(ies) not caught before the console: {missed[:5]}")
    # A console that redirects off-site mid-flow (issue 16.2): the key halts, nothing is submitted, and the
    # off-site origin receives no form at all (no password, no entered value, no click).
    offsite = env.control("offsite")
    redirected = [k for k, r in valid_keys.items() if r["kind"] == "offsite-redirect"]
    offsite_granted = [k for k in redirected if (ledger.get(k) or {"state": None})["state"] not in ("halted", "rejected")
                       or counts.get(k, 0) or submits.get((k.split("/", 1)[1], k), 0)]
    if offsite_granted:
        violations.append(f"{len(offsite_granted)} key(s) redirected off-site not halted before the console: {offsite_granted[:5]}")
    if offsite.get("posts", 0):
        violations.append(f"{offsite['posts']} form(s) posted to the off-site origin (fields {offsite.get('fields')})")
    # The disk fault (issue 15.4): the fresh keys fed while the ledger's disk was full end like any key (none
    # rejected: that would be an approved request dead-lettered by the worker's own outage), and /readyz said so.
    disk_keys = disk.get("keys", [])
    disk_lost = [k for k in disk_keys if (ledger.get(k) or {"state": None})["state"] not in ("granted", "halted")]
    if disk_lost:
        violations.append(f"{len(disk_lost)} key(s) fed during the full disk not granted or halted: "
                          f"{[(k, (ledger.get(k) or {'state': None})['state']) for k in disk_lost[:5]]}")
    if disk_keys and not disk["ready_answers"].get("503"):
        violations.append(f"no running worker's /readyz answered 503 while the ledger's disk was full ({dict(disk['ready_answers'])})")
    # Core dumps (issue 16): a crash by SIGABRT with core dumps on would write the process memory (the console
    # password, the source token) to a file.
    cores = [str(p) for base in (pathlib.Path.cwd(), env.run) for p in base.iterdir()
             if (p.name == "core" or (p.name.startswith("core.") and p.name[5:].isdigit()))
             and p.stat().st_mtime >= env.started_at]
    if cores:
        violations.append(f"core dump(s) written: {cores}")
    # 6. Invalid messages: rejected, dead-lettered.
    rejected_keys = [k for k, r in ledger.items() if r["state"] == "rejected"]
    # Dead letters: exactly the 5 copies of every invalid key, plus one per keyed rejection (delivery limit,
    # expiry) of a valid key; nothing else.
    dead_by_key = collections.Counter()
    poison_dead = collections.Counter()
    for _props, body in dead:
        text = body.decode("utf-8", "replace")
        if '"poison"' in text:
            poison_dead[text] += 1
            continue
        owner = next((k for k in sent_keys if f'"case_id":"{k.split("/")[0]}"' in text), None)
        dead_by_key[owner] += 1
    # Fewer than 5 is a lost dead letter. More is a duplicate, never a loss: a chunk `breakglass enqueue` retried
    # after a broker restart (counted in PUBLISH_ATTEMPTS), or the quorum queue's at-least-once dead-lettering
    # republishing around a leader restart. Duplicates are reported, not failed.
    bad_dead = {k: dead_by_key[k] for k in invalid_keys if dead_by_key[k] < 5}
    extra_dead = {k: dead_by_key[k] - 5 for k in invalid_keys if dead_by_key[k] > 5}
    extra_explained = sum(min(n, max(0, PUBLISH_ATTEMPTS[k.split("/")[0]] - 5)) for k, n in extra_dead.items())
    extra_unexplained = sum(extra_dead.values()) - extra_explained
    unexplained_dead = {k: n for k, n in dead_by_key.items() if k not in invalid_keys
                        and not keyed_rejections.get(k)}
    if bad_dead:
        violations.append(f"invalid keys with fewer than 5 dead letters: {dict(list(bad_dead.items())[:5])}")
    if unexplained_dead:
        violations.append(f"dead letters without a rejection: {dict(list(unexplained_dead.items())[:5])}")
    # Rejected events for invalid messages: identical copies share one event id, so 3 distinct per invalid key,
    # plus one per poison message (deep headers), which is also dead-lettered once.
    poison_plan = getattr(supervisor, "poisoned", {"count": 0, "attempts": 0})
    poisoned = len(poison_dead)  # distinct poison messages that reached the broker
    if rejected_unkeyed != 3 * len(invalid_keys) + poisoned:
        violations.append(f"{rejected_unkeyed} distinct rejected events without a key, expected "
                          f"{3 * len(invalid_keys) + poisoned}")
    # Each poison attempt carries its own tag, so a second dead letter of one is the at-least-once kind.
    extra_unexplained += sum(n - 1 for n in poison_dead.values())
    if not poison_plan["count"] <= poisoned <= poison_plan["attempts"]:
        violations.append(f"{poisoned} poison message(s) dead-lettered; {poison_plan['count']} confirmed of "
                          f"{poison_plan['attempts']} attempt(s)")
    # 7. Queues empty at the end.
    leftover = {name: d for name, d in depths.items() if name.startswith("breakglass.") and name != "breakglass.dead" and d != (0, 0)}
    if leftover:
        violations.append(f"queues not empty at the end: {leftover}")
    # The frozen worker's claim was taken over (a newer epoch, another owner) while it was frozen.
    frozen = supervisor.frozen_claim
    if frozen.get("missing"):
        violations.append("the freeze found no worker holding a claim: the takeover path was not exercised")
    elif frozen:
        row = ledger.get(frozen["key"])
        if row is None or row_epoch(env, frozen["key"]) <= frozen["epoch"]:
            violations.append(f"the frozen worker's {frozen['state']} claim on {frozen['key']} was not taken over")
    # 8. Crash schedule carried out.
    reps = 1 if env.quick else 5
    short = {p: reps - supervisor.fired[p] for p in CRASH_POINTS if supervisor.fired[p] < reps}
    if short:
        violations.append(f"crash points not reached as planned (missing): {short}")
    # 9. Leak scan, and owner-only files (issue 16.6: the ledger holds raw payloads, evidence what the console showed).
    leaks = leak_scan(env, sessions, [b for _p, b in raw_events])
    # 10. Every event on the exchange, against the contract's JSON Schemas (docs/contract/schemas/).
    events_file = env.run / "events.jsonl"
    events_file.write_bytes(b"".join(body.rstrip(b"\n") + b"\n" for _p, body in raw_events))
    schema_check = subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve().parent / "contract_check.py"),
                                   "events", str(events_file)], capture_output=True, text=True)
    if schema_check.returncode != 0:
        problems = [line for line in schema_check.stdout.splitlines() if line.strip()][:5]
        violations.append(f"events not valid against the contract schemas: {problems}")
    for where, kinds in sorted(leaks.items()):
        violations.append(f"canary secret(s) found in {where}: {', '.join(sorted(kinds))}")
    loose = loose_file_modes(env)
    if loose:
        violations.append(f"{len(loose)} ledger/evidence path(s) readable by group or others: {loose[:5]}")

    outcomes = collections.Counter(r["state"] for r in ledger.values())
    total_messages = (len([1 for r in sent_keys.values() if not r.get("reserve") and not r.get("disk")]) * 5 + fed
                      + len(disk.get("keys", [])))
    summary = {
        "date": rfc3339(now_utc()), "mode": "quick" if env.quick else "full", "seconds": round(seconds, 1),
        "keys": len(sent_keys), "valid_keys": len(valid_keys), "invalid_keys": len(invalid_keys),
        "messages_sent": total_messages, "worker_launches": supervisor.launches,
        "crashes_by_point": dict(supervisor.fired), "crash_arming_timeouts": dict(supervisor.timeouts),
        "unexpected_worker_exits": supervisor.unexpected_exits,
        "outcomes": dict(outcomes), "halts_by_reason": dict(halts_by_reason),
        "grants_in_console": sum(counts.values()), "keys_granted_twice": len(duplicates),
        "console_submits": sum(submits.values()), "keys_submitted_twice": len(resubmitted),
        "grants_wrong_tenant": len(wrong_tenant), "grants_broader_than_approved": len(broader),
        "gate_anomalies_missed": len(missed), "frozen_claim": frozen,
        "gate_anomalies_halted_by_recovery_scan": gate_keys_recovered,
        "console_grants_held_as_escalated_halts": len(escalated_with_grant),
        "requests_without_terminal_outcome": len(no_outcome) + len(missing_terminal),
        "events_received": len(raw_events), "distinct_event_ids": len(by_id), "republished_copies": copies,
        "events_missing": len(missing_events), "event_ids_conflicting": conflicting,
        "dead_letters": len(dead), "rejected_events_without_key": rejected_unkeyed,
        "duplicate_dead_letters": {"after_enqueue_retries": extra_explained, "at_least_once": extra_unexplained},
        "faults": {"broker_restarts": 1, "broker_outages": 1, "worker_freezes": 1 if frozen.get("key") else 0,
                   "poison_header_messages": poisoned, "crashes": sum(supervisor.fired.values())},
        "halts_without_takeover_record": len(no_record), "canary_hits": sum(len(v) for v in leaks.values()),
        "paths_not_owner_only": len(loose),
        "slow_drip_keys": sum(1 for r in valid_keys.values() if r["kind"] == "slow-drip"),
        "offsite_redirect_keys": len(redirected), "offsite_requests": offsite.get("requests", 0),
        "offsite_posts": offsite.get("posts", 0),
        "disk_fault": {k: (dict(v) if isinstance(v, collections.Counter) else v) for k, v in disk.items()},
        "sigabrt_crashes": supervisor.aborts, "core_dumps": len(cores),
        "canaries_planted": {"console_password": 1, "sources_token": 1, "emails": len(json.loads((env.run / "canaries.json").read_text())["emails"]),
                             "session_cookies": len(sessions)},
        "violations": violations,
    }
    (env.run / "chaos-summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    print()
    print("chaos run: " + summary["mode"] + f", {summary['seconds']} s")
    rows_out = [
        ("keys (valid / invalid)", f"{len(valid_keys)} / {len(invalid_keys)}"),
        ("messages sent (5 copies per key + feeders)", total_messages),
        ("worker launches", supervisor.launches),
        ("crashes by point", ", ".join(f"{p} {supervisor.fired[p]}" for p in CRASH_POINTS)),
        ("outcomes in the ledger", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))),
        ("grants in the console (total)", sum(counts.values())),
        ("keys granted twice", len(duplicates)),
        ("final submits received by the console / keys submitted twice", f"{sum(submits.values())} / {len(resubmitted)}"),
        ("grants on another tenant / broader than approved", f"{len(wrong_tenant)} / {len(broader)}"),
        ("gate anomalies not caught before the console (of which halted for a person by the recovery scan)",
         f"{len(missed)} ({len(gate_keys_recovered)})"),
        ("frozen worker's claim taken over", (f"yes ({frozen['state']} claim on {frozen['key']}, epoch {frozen['epoch']} -> "
                                              f"{row_epoch(env, frozen['key'])})") if frozen.get("key") else "no claim frozen"),
        ("console grants held as escalated halts", len(escalated_with_grant)),
        ("requests without a terminal outcome", len(no_outcome) + len(missing_terminal)),
        ("events received / distinct ids / republished copies", f"{len(raw_events)} / {len(by_id)} / {copies}"),
        ("events missing / ids reused for other content", f"{len(missing_events)} / {conflicting}"),
        ("dead letters / rejected events without a key", f"{len(dead)} / {rejected_unkeyed}"),
        ("duplicate dead letters (enqueue retried / at-least-once)", f"{extra_explained} / {extra_unexplained}"),
        ("faults: broker restart / outage / freeze / poison headers", f"1 / 1 / {1 if frozen.get('key') else 0} / {poisoned}"),
        ("ledger disk full", (f"{disk['seconds']} s ({disk['filled_mib']} MiB filler), {len(disk_keys)} keys fed, "
                              f"/readyz while full: {dict(disk['ready_answers'])}, workers that could not open it and "
                              f"exited 1: {disk.get('worker_exits_while_full', 0)}") if disk_keys else disk.get("skipped", "no")),
        ("slow-drip keys / off-site redirects (requests, forms posted there)",
         f"{summary['slow_drip_keys']} / {len(redirected)} ({offsite.get('requests', 0)}, {offsite.get('posts', 0)})"),
        ("crashes by SIGABRT / core dumps written", f"{supervisor.aborts} / {len(cores)}"),
        ("halts by reason", ", ".join(f"{k} {v}" for k, v in sorted(halts_by_reason.items())) or "-"),
        ("halts without a takeover record", len(no_record)),
        ("canaries planted", f"1 console password, 1 source token, {summary['canaries_planted']['emails']} emails, {len(sessions)} session cookies"),
        ("canary hits (evidence, logs, events, ledger)", summary["canary_hits"]),
        ("events checked against the contract schemas", (schema_check.stdout.strip().splitlines() or ["-"])[-1]),
        ("ledger/evidence paths not owner-only", len(loose)),
        ("queues left non-empty", len(leftover)),
        ("unexpected worker exits", len(supervisor.unexpected_exits)),
    ]
    width = max(len(r[0]) for r in rows_out)
    for name, value in rows_out:
        print(f"  {name.ljust(width)}  {value}")
    if violations:
        print("\nVIOLATIONS:")
        for v in violations:
            print("  - " + v)
        return 1
    print("\nno violation: nothing granted twice, nothing lost, nothing leaked, every halt explained")
    return 0


def loose_file_modes(env):
    """Ledger files and evidence (files and folders) with any group or other permission bit, as `path mode`."""
    paths = sorted(env.ledger_dir.glob("ledger.sqlite*"))
    evidence = env.run / "evidence"
    if evidence.exists():
        paths += [evidence] + sorted(evidence.rglob("*"))
    loose = []
    for path in paths:
        mode = path.lstat().st_mode & 0o777
        if mode & 0o077:
            loose.append(f"{path.relative_to(env.run)} {mode:o}")
    if env.ledger_dir != env.run and env.ledger_dir.stat().st_mode & 0o077:
        loose.append(f"{env.ledger_dir.relative_to(env.run)} {env.ledger_dir.stat().st_mode & 0o777:o}")
    return loose


def leak_scan(env, sessions, event_bodies):
    canaries = json.loads((env.run / "canaries.json").read_text())
    needles = [("console password", canaries["console_password"].encode()),
               ("source token", canaries["sources_token"].encode())]
    # E-mails also URL-encoded, JSON-escaped, and their unique local part alone (an HTML-escaped or partly masked
    # address would still show it).
    for email in canaries["emails"]:
        needles += [("personal email", form.encode()) for form in
                    (email, email.replace("@", "%40"), email.replace("@", "\\u0040"), email.split("@")[0])]
    needles += [("session cookie", s.encode()) for s in sessions if len(s) >= 12]
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
    for base in [env.run / "evidence"]:
        if base.exists():
            files += [p for p in base.rglob("*") if p.is_file()]
    files += sorted(env.run.glob("worker-*.log"))
    files += sorted(env.ledger_dir.glob("ledger.sqlite*"))
    for path in files:
        scan(str(path.relative_to(env.run)), path.read_bytes())
    for body in event_bodies:
        scan("events", body)
    return found


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
