#!/usr/bin/env python3
"""Worker-level benchmarks of `scripts/bench`: real `breakglass run` processes against a private RabbitMQ node and
the reference environment (`breakglass-lab sim`), release binaries given with --bin (and --lab: by default the
breakglass-lab beside --bin).

Areas (each writes bench/results/<area>.json):
  startup    process start -> /readyz 200 (fresh ledger each time; readiness includes broker, ledger, chromedriver)
  gate       new requests halting at the gate (a revoked approval) through one worker: requests/s and the
             per-request latency claim -> decision durable (ledger created_at -> decided_at), p50/p99
  duplicate  redeliveries of keys the gate run decided: copies drained by one worker (messages/s, first delivery
             -> last suppression, from the worker's own counter) vs a raw rabbitmq-c consume+ack loop on the same
             quorum queue with the same messages and the same prefetch
  console    delivery -> granted p50/p95 with 1 browser session (ledger claim -> granted) vs a hand-written WebDriver
             script of the same screens (bench/worker/webdriver_flow.py); throughput 1 vs 4 sessions; recheck ->
             click p95 from the evidence bundles' timing.json
Worker RSS (VmHWM and sampled VmRSS of the worker process only; chromedriver and browsers are other processes) is
recorded in every area run under load and summarised in rss.json.

Machine load (bench/machine_load.py): every measured side (the worker, the raw C loop, the WebDriver script, each
session count, the start -> ready runs) records "load": the CPU used during it by processes outside the bench, in
cores (foreign_cores), beside the machine's busy cores and the bench's own; ours = this process and its descendants
(workers, chromedriver and browsers, the simulator, the C loop) plus the private broker node. Each area also records
foreign_cores_idle_before: the same over 2 s before the area starts, while nothing of ours works. bench/summary.py
refuses a ratio when a side's foreign_cores exceeded the threshold.

usage: worker_bench.py --bin BIN --consume-c BIN [--lab BIN] [--quick] [--areas startup,gate,duplicate,console] [--out DIR]

Ports, the private broker node, the simulator, worker processes, waits, ledger reads and `breakglass enqueue` go
through scripts/lib/harness.py (shared with the chaos suite).
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import pathlib
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
sys.path.insert(0, str(ROOT / "bench"))
import harness  # noqa: E402
import machine_load  # noqa: E402
import webdriver_flow  # noqa: E402
from harness import free_port, http_status, wait_until  # noqa: E402

ROLES = ["incident-command", "security", "customer-account-authority"]


def say(*parts):
    print("[bench]", *parts, file=sys.stderr, flush=True)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def r(value, digits=1):
    return None if value is None else round(value, digits)


def proc_status(pid):
    fields = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(rest.split()[0]) / 1024.0  # MiB
    except OSError:
        pass
    return fields


def metrics(port):
    """The worker's /metrics as {name{labels}: value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            values[name] = float(value)
        except ValueError:
            pass
    return values


def counter(values, name):
    return sum(v for k, v in values.items() if k == name or k.startswith(name + "{"))


def histogram_quantile(values, name, q):
    """Prometheus histogram_quantile over the cumulative buckets of `name` (linear within a bucket), seconds."""
    buckets = []
    for key, value in values.items():
        if key.startswith(name + "_bucket{"):
            le = key.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), value))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    target = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= target:
            if bound == float("inf"):
                return previous_bound
            span = count - previous_count
            return previous_bound + (bound - previous_bound) * ((target - previous_count) / span if span else 1)
        previous_bound, previous_count = bound, count
    return None


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_cpu():
    """(busy, total) jiffies of the whole machine (/proc/stat), for the share of the cores a run kept busy."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def descendants_cpu(pid):
    """CPU seconds used so far by the live descendants of `pid` (chromedriver and the browsers it started)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    total, stack = 0.0, list(children.get(pid, []))
    while stack:
        child = stack.pop()
        total += cpu_seconds(child) or 0.0
        stack.extend(children.get(child, []))
    return total


def busy_share(start, end):
    busy, total = end[0] - start[0], end[1] - start[1]
    return round(100.0 * busy / total, 1) if total else None


class RSSSampler:
    """Samples VmRSS of one process every 100 ms on a thread; VmHWM and the CPU time used read at the end."""

    def __init__(self, pid):
        self.pid, self.samples, self.stop_flag = pid, [], threading.Event()
        self.cpu_start, self.wall_start = cpu_seconds(pid), time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag.is_set():
            rss = proc_status(self.pid).get("VmRSS")
            if rss:
                self.samples.append(rss)
            self.stop_flag.wait(0.1)

    def finish(self):
        hwm = proc_status(self.pid).get("VmHWM")
        cpu, wall = cpu_seconds(self.pid), time.monotonic() - self.wall_start
        self.stop_flag.set()
        self.thread.join()
        return {"vm_hwm_mib": r(hwm), "vm_rss_max_mib": r(max(self.samples) if self.samples else None),
                "vm_rss_median_mib": r(statistics.median(self.samples) if self.samples else None),
                "cpu_seconds": r(cpu - self.cpu_start, 2) if cpu is not None and self.cpu_start is not None else None,
                "wall_seconds": r(wall, 2)}


class Environment:
    """Private broker, keys, fixtures and the reference environment, all under one scratch folder."""

    def __init__(self, binary, run_dir, counts, lab=None):
        self.bin, self.dir, self.counts = binary, run_dir, counts
        self.lab = lab or binary.parent / "breakglass-lab"  # the simulator
        self.procs = []
        self.broker_pids = []
        self.node = harness.RabbitNode(run_dir / "rabbit")
        self.amqp_port = free_port()
        self.amqp_url = f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"
        self.sim_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"

    def start(self):
        say(f"private RabbitMQ on 127.0.0.1:{self.amqp_port}")
        self.node.start(self.amqp_port, stdout=subprocess.DEVNULL)
        # beam.smp daemonizes out of our process tree: named so that its CPU counts as the bench's, not as foreign.
        pid = self.node.command("pid", check=False, capture_output=True, text=True).stdout.strip()
        self.broker_pids = [int(pid)] if pid.isdigit() else []
        if not self.broker_pids:
            say("warning: no pid for the private broker; its CPU will count as other processes' load")
        harness.keygen(self.bin, self.dir / "keys", "escalation-bench")
        self.seed = self.dir / "keys/escalation-bench.seed"
        self.trusted = self.dir / "keys/trusted-keys.json"
        for name in ("sources.token", "control.token", "console.password"):
            path = self.dir / name
            path.write_text(secrets.token_urlsafe(24) + "\n")
            path.chmod(0o600)
        self.console_password = (self.dir / "console.password").read_text().strip()
        self.world = World(self.counts, self.console_password)
        (self.dir / "fixtures.json").write_text(json.dumps(self.world.fixtures))
        say(f"reference environment on {self.sim_url} ({len(self.world.fixtures['cases'])} cases)")
        self.sim = harness.Simulator(self.lab, self.sim_port, self.dir / "fixtures.json", self.dir / "sources.token",
                                     self.dir / "control.token", self.dir / "sim.log", cwd=ROOT)
        self.procs.append(self.sim.proc)
        self.sim.wait_ready(60)
        harness.declare_topology(self.bin, self.amqp_url)

    def load_sampler(self):
        """A started machine_load.Sampler: ours = this process and its descendants, and the broker node."""
        return machine_load.Sampler(extra_pids=self.broker_pids).start()

    def idle_check(self, area, seconds=2.0):
        """Foreign cores over `seconds` before an area, while nothing of ours works (the broker and simulator idle)."""
        foreign = machine_load.idle_check(seconds, extra_pids=self.broker_pids)
        say(f"{area}: before it, {foreign} cores used by other processes")
        return foreign

    def stop(self):
        harness.stop_processes(self.procs, timeout=30)
        self.node.stop(check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def enqueue(self, bodies, name):
        path = self.dir / f"{name}.jsonl"
        path.write_text("".join(json.dumps(b, separators=(",", ":")) + "\n" for b in bodies))
        out = harness.enqueue(self.bin, [path], self.amqp_url, key=self.seed, window=1000, check=True)
        if f"enqueued {len(bodies)}, failed 0" not in out.stdout:
            raise RuntimeError(f"enqueue {name}: {out.stdout.strip()}")

    def worker(self, name, in_flight, ledger, evidence=None):
        return Worker(self, name, in_flight, ledger, evidence or (self.dir / f"evidence-{name}"))


class Worker:
    def __init__(self, env, name, in_flight, ledger, evidence):
        self.env, self.name = env, name
        self.ops_port = free_port()
        environment = harness.worker_environment({
            "BREAKGLASS_WORKER_ID": f"bench-{name}",
            "BREAKGLASS_WORKER_IN_FLIGHT": str(in_flight),
            **harness.worker_settings(env.amqp_url, env.trusted, ledger, evidence, env.sim_url,
                                      env.dir / "sources.token", env.sim_url, env.dir / "console.password"),
            "BREAKGLASS_OPS_PORT": str(self.ops_port),
        })
        self.log_path = env.dir / f"worker-{name}.log"
        self.started = time.monotonic()
        self.proc = harness.start_worker(env.bin, "config/demo/worker.yaml", environment, open(self.log_path, "w"),
                                         cwd=ROOT)
        env.procs.append(self.proc)

    def wait_ready(self, timeout=60):
        """Seconds from process start to the first /readyz 200 (polled every 5 ms)."""
        try:
            wait_until(lambda: harness.ready(self.ops_port, timeout=1), timeout, interval=0.005,
                       what=f"worker {self.name}",
                       abort=lambda: self.proc.poll() is not None
                       and f"worker {self.name} exited ({self.proc.returncode}); see {self.log_path}")
        except harness.WaitTimeout:
            raise RuntimeError(f"worker {self.name} not ready within {timeout} s; see {self.log_path}") from None
        return time.monotonic() - self.started

    def metrics(self):
        return metrics(self.ops_port)

    def stop(self):
        harness.stop_process(self.proc, timeout=60)


class World:
    """Fixtures and request bodies: `gate` cases whose customer approval is revoked (halt at the gate with
    APPROVAL_REVOKED), `console` cases that pass the gate and are granted in the console (one tenant each: a grant
    shows as an active session in IAM, which would stop a second grant for the same tenant)."""

    def __init__(self, counts, console_password):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.enqueued_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.not_after = (now + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.fixtures = {"tenants": [], "incidents": [], "cases": [], "identities": [], "iam": {},
                         "console": {"service_account": {"username": "svc-breakglass", "password": console_password}}}
        self.requests = {"gate": self._add("gate", 2 * counts["gate"], revoked=True),
                         "console": self._add("con", counts["console"], revoked=False)}

    def _add(self, prefix, n, revoked):
        bodies = []
        for i in range(n):
            tenant, case = f"tnt-{prefix}-{i}", f"CASE-{prefix.upper()}-{i}"
            incident = f"INC-{prefix.upper()}-{i // 10}"
            requester, ref = f"adm-{prefix}-{i % 50}", f"IDV-{prefix}-{i}"
            approvers = [f"u-ic-{i % 7}", f"u-sec-{i % 5}", f"c-auth-{prefix}-{i}"]
            sha = hashlib.sha256(case.encode()).hexdigest()
            name = f"Bench {prefix.title()} Tenant {i}"
            self.fixtures["tenants"].append({"tenant_id": tenant, "name": name, "status": "active",
                                             "contact_email": f"owner{i}@{prefix}.example"})
            if i % 10 == 0:
                self.fixtures["incidents"].append({
                    "incident_id": incident, "title": "Bench incident", "status": "active",
                    "tenant_ids": [f"tnt-{prefix}-{j}" for j in range(i, min(i + 10, n))]})
            approvals = [{"approval_id": f"APR-{prefix}-{i}-{k}", "role": role, "approver_id": approvers[k],
                          "status": "revoked" if (revoked and k == 2) else "approved",
                          "approved_at": "now-1h", "expires_at": "now+6h"} for k, role in enumerate(ROLES)]
            self.fixtures["cases"].append({
                "case_id": case, "status": "open", "tenant_id": tenant, "incident_id": incident,
                "requester_admin_id": requester, "packet": {"id": f"PKT-{prefix}-{i}", "sha256": sha},
                "approved_scopes": ["admins.restore", "users.reset-mfa"], "approved_duration_minutes": 120,
                "approvals": approvals})
            self.fixtures["identities"].append({"admin_id": requester, "ref": ref, "verified": True, "verified_at": "now-20m"})
            self.fixtures["iam"][tenant] = {
                "policy": {"max_duration_minutes": 240, "required_approval_roles": ROLES},
                "directory_roles": {a: [role] for a, role in zip(approvers, ROLES)}, "sessions": []}
            bodies.append({
                "schema": "breakglass.restoration.approved/v1", "request_id": f"REQ-{prefix.upper()}-{i}",
                "case_id": case, "tenant": {"id": tenant, "name": name}, "incident": {"id": incident},
                "requester": {"admin_id": requester, "identity_assurance_ref": ref},
                "privilege": {"role": "tenant-admin", "scopes": ["admins.restore", "users.reset-mfa"], "duration_minutes": 60},
                "approvals": [{"role": role, "approval_id": f"APR-{prefix}-{i}-{k}", "approver_id": approvers[k]}
                              for k, role in enumerate(ROLES)],
                "packet": {"id": f"PKT-{prefix}-{i}", "sha256": sha},
                "enqueued_at": self.enqueued_at, "not_after": self.not_after})
        return bodies


def ledger_rows(path, state, prefix=None):
    """(request_id, created_at, decided_at, reasons) of rows in `state`; read-only, beside a live writer (WAL)."""
    if not os.path.exists(path):
        return []
    try:
        rows = harness.ledger_query(path, "SELECT request_id, created_at, decided_at, reasons FROM restorations "
                                          "WHERE state = ?", (state,))
    except sqlite3.OperationalError:
        rows = []
    return [row for row in rows if prefix is None or row[0].startswith(prefix)]


def wait_rows(path, state, count, timeout, prefix=None):
    wait_until(lambda: len(ledger_rows(path, state, prefix)) >= count, timeout, interval=0.1,
               what=f"{count} {state} rows in {path}")
    return ledger_rows(path, state, prefix)


# ------------------------------------------------------------------------------------------------ areas

def bench_startup(env, counts):
    times, hwm, loads = [], [], []
    idle = env.idle_check("startup")
    for n in range(counts["startup_runs"]):
        sampler = env.load_sampler()
        worker = env.worker(f"startup-{n}", 2, env.dir / f"ledger-startup-{n}.sqlite")
        times.append(worker.wait_ready())
        loads.append(sampler.stop())
        hwm.append(proc_status(worker.proc.pid).get("VmHWM"))
        worker.stop()
    load = machine_load.combine(loads)
    say(f"start -> ready: {', '.join(f'{t * 1000:.0f} ms' for t in times)}; {load['foreign_cores']} cores used by "
        f"other processes (worst run {load.get('foreign_cores_max', load['foreign_cores'])})")
    return {"benchmark": "startup", "runs": len(times), "start_to_ready_ms": [r(t * 1000) for t in times],
            "start_to_ready_ms_median": r(statistics.median(times) * 1000), "start_to_ready_ms_max": r(max(times) * 1000),
            "vm_hwm_at_ready_mib": [r(h) for h in hwm],
            "load": load, "loads": loads, "foreign_cores_idle_before": idle,
            "notes": "process spawn -> first /readyz 200 (polled every 5 ms); ready = broker connected and consuming "
                     "set up, ledger open (fresh file, schema created), chromedriver started by the worker and answering"}


def bench_gate(env, counts, in_flight, bodies, label="gate", evidence=None):
    ledger = env.dir / f"ledger-{label}.sqlite"
    idle = env.idle_check(label)
    env.enqueue(bodies, label)
    say(f"{label}: {len(bodies)} requests halting at the gate, one worker, in_flight {in_flight}"
        + (f", evidence in {evidence}" if evidence else ""))
    worker = env.worker(label, in_flight, ledger, evidence)
    ready = worker.wait_ready()
    sampler, load_sampler = RSSSampler(worker.proc.pid), env.load_sampler()
    rows = wait_rows(ledger, "halted", len(bodies), timeout=600)
    load = load_sampler.stop()
    rss = sampler.finish()
    values = worker.metrics()
    worker.stop()
    latencies = [(decided - created) * 1000 for _, created, decided, _ in rows]
    span = max(d for _, _, d, _ in rows) - min(c for _, c, _, _ in rows)
    reasons = {}
    for *_, reason_json in rows:
        for code in json.loads(reason_json):
            reasons[code] = reasons.get(code, 0) + 1
    result = {
        "benchmark": "gate_path" if label == "gate" else "gate_path_evidence_tmpfs", "requests": len(rows), "in_flight": in_flight,
        "requests_per_s": r(len(rows) / span), "seconds": r(span, 3),
        "latency_ms": {"p50": r(percentile(latencies, 50)), "p90": r(percentile(latencies, 90)),
                       "p99": r(percentile(latencies, 99)), "max": r(max(latencies))},
        "gate_fetch_histogram_ms": {q: r((histogram_quantile(values, "breakglass_gate_duration_seconds", float(q) / 100) or 0) * 1000)
                                    for q in ("50", "99")},
        "reasons": reasons, "worker_rss": rss, "start_to_ready_ms": r(ready * 1000),
        "load": load, "foreign_cores_idle_before": idle,
        "notes": "queue loaded before the worker starts; rate = halted decisions / (last decided_at - first created_at) "
                 "from the ledger; latency = claim -> halted decision durable (sources fetched, rules, sealed "
                 "evidence bundle, decision + events committed), per request from the ledger's timestamps; "
                 "gate_fetch_histogram_ms is the worker's breakglass_gate_duration_seconds histogram (fetch + rules)",
    }
    result["worker_cpu_ms_per_request"] = r(rss["cpu_seconds"] * 1000 / len(rows), 2) if rss.get("cpu_seconds") else None
    say(f"{label}: {result['requests_per_s']}/s, p99 {result['latency_ms']['p99']} ms, RSS {rss['vm_hwm_mib']} MiB, "
        f"worker CPU {result['worker_cpu_ms_per_request']} ms/request; {load['foreign_cores']} cores used by other "
        f"processes")
    return result, ledger


def bench_duplicate(env, counts, ledger, consume_c, in_flight):
    keys = env.world.requests["gate"][: counts["duplicate_keys"]]
    copies = [body for _ in range(counts["duplicate_copies"]) for body in keys]
    rounds = []
    idle = env.idle_check("duplicate path")
    for round_number in range(1, counts["duplicate_rounds"] + 1):
        env.enqueue(copies, f"dup-c-{round_number}")
        load_sampler = env.load_sampler()
        out = subprocess.run([str(consume_c), "127.0.0.1", str(env.amqp_port), "breakglass.restorations",
                              str(len(copies)), str(in_flight)], check=True, capture_output=True, text=True, timeout=600)
        c_load = load_sampler.stop()
        c = json.loads(out.stdout)
        env.enqueue(copies, f"dup-w-{round_number}")
        worker = env.worker(f"dup-{round_number}", in_flight, ledger)
        worker.wait_ready()
        sampler, load_sampler = RSSSampler(worker.proc.pid), env.load_sampler()
        first = None
        deadline = time.monotonic() + 600
        while True:
            done = counter(worker.metrics(), "breakglass_duplicates_suppressed_total")
            now = time.monotonic()
            if first is None and done > 0:
                first = (now, done)
            if done >= len(copies):
                break
            if now > deadline:
                raise RuntimeError("duplicate run did not drain")
            time.sleep(0.02)
        worker_load = load_sampler.stop()
        rss = sampler.finish()
        values = worker.metrics()
        worker.stop()
        worker_rate = (len(copies) - first[1]) / (now - first[0])
        rss["cpu_ms_per_message"] = r(rss["cpu_seconds"] * 1000 / len(copies), 3) if rss.get("cpu_seconds") else None
        rounds.append({"round": round_number, "c_msgs_per_s": c["msgs_per_s"], "worker_msgs_per_s": r(worker_rate),
                       "ratio": round(worker_rate / c["msgs_per_s"], 3), "worker_rss": rss,
                       "deliveries": counter(values, "breakglass_deliveries_total"),
                       "outcomes_total": counter(values, "breakglass_outcomes_total"),
                       "load": {"raw_c": c_load, "worker": worker_load}})
        say(f"duplicate path round {round_number}: worker {worker_rate:.0f}/s, raw C {c['msgs_per_s']:.0f}/s; other "
            f"processes used {worker_load['foreign_cores']} cores during the worker, {c_load['foreign_cores']} during C")
    # Diagnostic, not the target figure: the same copies drained by two worker processes sharing the ledger.
    env.enqueue(copies, "dup-two")
    workers = [env.worker(f"dup-two-{n}", in_flight, ledger) for n in (1, 2)]
    for worker in workers:
        worker.wait_ready()
    load_sampler = env.load_sampler()
    first, deadline = None, time.monotonic() + 600
    while True:
        done = sum(counter(w.metrics(), "breakglass_duplicates_suppressed_total") for w in workers)
        now = time.monotonic()
        if first is None and done > 0:
            first = (now, done)
        if done >= len(copies):
            break
        if now > deadline:
            raise RuntimeError("duplicate run with two workers did not drain")
        time.sleep(0.02)
    two_workers_load = load_sampler.stop()
    for worker in workers:
        worker.stop()
    two_workers = r((len(copies) - first[1]) / (now - first[0]))
    say(f"duplicate path, two worker processes: {two_workers}/s")
    median = lambda key: statistics.median(x[key] for x in rounds)
    return {
        "two_workers_msgs_per_s": two_workers,
        "two_workers_vs_c": round(two_workers / median("c_msgs_per_s"), 3),
        "benchmark": "duplicate_path", "keys": len(keys), "copies_per_key": counts["duplicate_copies"],
        "messages": len(copies), "in_flight": in_flight, "prefetch": in_flight,
        "worker_msgs_per_s": r(median("worker_msgs_per_s")), "raw_c_msgs_per_s": r(median("c_msgs_per_s")),
        "ratio_vs_c": round(median("worker_msgs_per_s") / median("c_msgs_per_s"), 3),
        "worker_rss": {"vm_hwm_mib": max(x["worker_rss"]["vm_hwm_mib"] or 0 for x in rounds)},
        "load": {"raw_c": machine_load.combine([x["load"]["raw_c"] for x in rounds]),
                 "worker": machine_load.combine([x["load"]["worker"] for x in rounds]),
                 "two_workers": two_workers_load},
        "foreign_cores_idle_before": idle,
        "rounds": rounds,
        "notes": "copies (same signed bytes, same request ids) of keys decided in the gate run, loaded into the "
                 "contract's quorum queue before each consumer starts; worker: 1 `breakglass run` process, "
                 "in_flight = prefetch, rate from its breakglass_duplicates_suppressed_total (first seen -> all), each "
                 "copy verified (Ed25519), looked up in the ledger and its sighting written durably before the ack; "
                 "raw C: amqp_consume_message + amqp_basic_ack per message, same queue, same messages, same prefetch",
    }


def bench_console(env, counts):
    bodies = list(env.world.requests["console"])
    runs = {}
    idle = env.idle_check("console")
    for sessions, measured in ((1, counts["console_1"]), (4, counts["console_4"])):
        warm, batch = bodies[:sessions], bodies[sessions:sessions + measured]
        del bodies[:sessions + measured]
        ledger = env.dir / f"ledger-console-{sessions}.sqlite"
        evidence = env.dir / f"evidence-console-{sessions}"
        worker = env.worker(f"console-{sessions}", sessions, ledger, evidence)
        worker.wait_ready()
        sampler = RSSSampler(worker.proc.pid)
        env.enqueue(warm, f"console-{sessions}-warm")  # opens the browser sessions (not measured)
        wait_rows(ledger, "granted", len(warm), timeout=300)
        say(f"console: {len(batch)} grants through {sessions} browser session(s)")
        load_sampler = env.load_sampler()
        cpu_before, browsers_before = machine_cpu(), descendants_cpu(worker.proc.pid)
        env.enqueue(batch, f"console-{sessions}")
        ids = {b["request_id"] for b in batch}
        deadline = time.monotonic() + 60 + 30 * len(batch)
        while True:
            decided = {row[0] for state in ("granted", "halted") for row in ledger_rows(ledger, state)} & ids
            if len(decided) == len(ids):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"console run with {sessions} sessions did not finish; see {worker.log_path}")
            time.sleep(0.2)
        machine_busy = busy_share(cpu_before, machine_cpu())
        browser_cpu = descendants_cpu(worker.proc.pid) - browsers_before
        load = load_sampler.stop()
        rss = sampler.finish()
        worker.stop()
        granted = [row for row in ledger_rows(ledger, "granted") if row[0] in ids]
        halted = [row for row in ledger_rows(ledger, "halted") if row[0] in ids]
        latencies = [(d - c) for _, c, d, _ in granted]
        span = max(d for _, _, d, _ in granted) - min(c for _, c, _, _ in granted) if granted else None
        timing = []
        measured_cases = {f"{b['case_id']}_{b['tenant']['id']}_" for b in batch}  # not the warm-up grants
        for path in evidence.glob("*/timing.json"):
            if not any(path.parent.name.startswith(prefix) for prefix in measured_cases):
                continue
            doc = json.loads(path.read_text())
            if "recheck_to_click_ms" in doc:
                timing.append({k: int(v) for k, v in doc.items() if k.endswith("_ms")})
        runs[sessions] = {
            "sessions": sessions, "requests": len(batch), "granted": len(granted), "halted": len(halted),
            "halt_reasons": sorted({c for *_, reasons in halted for c in json.loads(reasons)}),
            "grants_per_min": r(len(granted) / span * 60, 2) if span else None,
            "delivery_to_granted_s": {"p50": r(percentile(latencies, 50), 3), "p95": r(percentile(latencies, 95), 3),
                                      "max": r(max(latencies), 3) if latencies else None},
            "timing_ms": {key: {"p50": percentile([t[key] for t in timing if key in t], 50),
                                "p95": percentile([t[key] for t in timing if key in t], 95)}
                          for key in ("recheck_to_click_ms", "click_to_confirmation_ms", "total_ms")},
            "recheck_to_click_ms_all": sorted(t.get("recheck_to_click_ms") for t in timing if "recheck_to_click_ms" in t),
            "worker_rss": rss, "machine_cpu_busy_pct": machine_busy, "load": load,
            "browser_cpu_s_per_grant": r(browser_cpu / len(granted), 2) if granted else None,
            "worker_cpu_s_per_grant": r(rss["cpu_seconds"] / max(1, len(granted) + len(warm)), 3) if rss.get("cpu_seconds") else None,
        }
        say(f"console {sessions} session(s), machine CPU {machine_busy} % busy ({load['foreign_cores']} cores used "
            f"by other processes), browsers "
            f"{runs[sessions]['browser_cpu_s_per_grant']} CPU s/grant: {runs[sessions]['grants_per_min']} grants/min, "
            f"p50 {runs[sessions]['delivery_to_granted_s']['p50']} s, halted {len(halted)}")

    # Requests arriving at an idle worker, one at a time (an on-call person's request during an incident): one
    # session, each request enqueued once the previous one is granted and the session was signed in again ahead
    # (console.sign_in_ahead; breakglass_console_sign_ins_ahead_total counted up), so the flow starts at the second
    # screen. The queued runs above measure back-to-back requests, where a request waits for the sign-in instead.
    arrivals = bodies[: 1 + counts["console_arrivals"]]
    del bodies[: 1 + counts["console_arrivals"]]
    ledger = env.dir / "ledger-console-arrivals.sqlite"
    evidence = env.dir / "evidence-console-arrivals"
    worker = env.worker("console-arrivals", 1, ledger, evidence)
    worker.wait_ready()
    say(f"console: {len(arrivals) - 1} requests arriving one at a time at an idle worker (1 session)")
    load_sampler = env.load_sampler()
    cpu_before, browsers_before = machine_cpu(), None
    for index, body in enumerate(arrivals):
        if index == 1:  # the first request opens the session (not measured)
            load_sampler = env.load_sampler()
            cpu_before, browsers_before = machine_cpu(), descendants_cpu(worker.proc.pid)
        if index > 0:
            wait_until(lambda: counter(worker.metrics(), "breakglass_console_sign_ins_ahead_total") >= index, 60,
                       interval=0.02, what="the session signed in ahead")
        env.enqueue([body], f"console-arrivals-{index}")
        wait_rows(ledger, "granted", index + 1, timeout=120)
    load = load_sampler.stop()
    browser_cpu = descendants_cpu(worker.proc.pid) - browsers_before if browsers_before is not None else None
    machine_busy = busy_share(cpu_before, machine_cpu())
    worker.stop()
    ids = {b["request_id"] for b in arrivals[1:]}
    granted = [row for row in ledger_rows(ledger, "granted") if row[0] in ids]
    latencies = [(d - c) for _, c, d, _ in granted]
    used = sum(1 for path in evidence.glob("*/steps.jsonl") if "signed in ahead, still signed in" in path.read_text())
    runs["arrivals"] = {
        "sessions": 1, "requests": len(ids), "granted": len(granted), "signed_in_ahead_used": used,
        "delivery_to_granted_s": {"p50": r(percentile(latencies, 50), 3), "p95": r(percentile(latencies, 95), 3),
                                  "max": r(max(latencies), 3) if latencies else None},
        "browser_cpu_s_per_grant": r(browser_cpu / len(granted), 2) if granted and browser_cpu is not None else None,
        "machine_cpu_busy_pct": machine_busy, "load": load,
    }
    say(f"console arrivals at an idle worker: p50 {runs['arrivals']['delivery_to_granted_s']['p50']} s, "
        f"{used} of {len(ids)} on a session signed in ahead, browsers {runs['arrivals']['browser_cpu_s_per_grant']} "
        f"CPU s/grant ({load['foreign_cores']} cores used by other processes)")

    # The baseline: the same screens through a hand-written WebDriver script, one session, sequential; then, as a
    # diagnostic, the same script with the worker's browser options.
    script = hand_written_script(env, bodies[: counts["script_flows"] + 1])
    say(f"hand-written WebDriver script: p50 {script['p50_s']} s, p95 {script['p95_s']} s; "
        f"{script['load']['foreign_cores']} cores used by other processes")
    script_worker_options = hand_written_script(
        env, bodies[counts["script_flows"] + 1: 2 * (counts["script_flows"] + 1)],
        args=webdriver_flow.WORKER_CHROMIUM_ARGS, prefs=webdriver_flow.WORKER_CHROMIUM_PREFS)
    say(f"the script with the worker's browser options: p50 {script_worker_options['p50_s']} s, "
        f"p95 {script_worker_options['p95_s']} s; {script_worker_options['load']['foreign_cores']} cores used by "
        "other processes")
    one, four, idle_arrivals = runs[1], runs[4], runs["arrivals"]
    return {
        "benchmark": "console_path",
        "worker": {"sessions_1": one, "sessions_4": four, "arrivals_1": idle_arrivals}, "script": script,
        "load": {"sessions_1": one["load"], "sessions_4": four["load"], "arrivals_1": idle_arrivals["load"],
                 "script": script["load"], "script_worker_browser_options": script_worker_options["load"]},
        "foreign_cores_idle_before": idle,
        "ratio_p50_vs_script": r(idle_arrivals["delivery_to_granted_s"]["p50"] / script["p50_s"], 3)
        if idle_arrivals["granted"] else None,
        "ratio_p95_vs_script": r(idle_arrivals["delivery_to_granted_s"]["p95"] / script["p95_s"], 3)
        if idle_arrivals["granted"] else None,
        "ratio_p50_queued_vs_script": r(one["delivery_to_granted_s"]["p50"] / script["p50_s"], 3)
        if one["granted"] else None,
        "script_worker_browser_options": script_worker_options,
        "ratio_p50_vs_script_worker_browser_options":
        r(idle_arrivals["delivery_to_granted_s"]["p50"] / script_worker_options["p50_s"], 3)
        if idle_arrivals["granted"] else None,
        "throughput_4_vs_1": r(four["grants_per_min"] / one["grants_per_min"], 3)
        if one["grants_per_min"] and four["grants_per_min"] else None,
        "recheck_to_click_ms_p95": percentile(one["recheck_to_click_ms_all"] + four["recheck_to_click_ms_all"], 95),
        "notes": "worker: one `breakglass run` process, worker.in_flight = browser sessions, sessions warmed up by "
                 "one grant each first, requests queued back to back; arrivals_1: one session, each request "
                 "enqueued at an idle worker once the previous was granted and the session signed in ahead (the "
                 "ratio_p50/p95_vs_script figures; ratio_p50_queued_vs_script for the queued run); "
                 "delivery -> granted = ledger claim -> granted decision (gate over HTTP, "
                 "nine console screens with assertions and masked screenshots, pre-submit recheck, click, "
                 "confirmation, IAM verification, sealed evidence, decision committed); script: "
                 "bench/worker/webdriver_flow.py, the same screens, fields, checks and screenshots in one session, "
                 "login -> confirmation, no sources/ledger/evidence, with the flags a person would use (CHROMIUM_ARGS); "
                 "script_worker_browser_options: the same script with the worker's browser options "
                 "(WORKER_CHROMIUM_ARGS/PREFS); recheck -> click from the bundles' timing.json",
    }


def hand_written_script(env, bodies, args=None, prefs=None):
    """bench/worker/webdriver_flow.py over `bodies` in one session of its own chromedriver; the first flow warms the
    session up and is not counted."""
    port = free_port()
    driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.procs.append(driver)
    try:
        wait_until(lambda: http_status(f"http://127.0.0.1:{port}/status") == 200, 30, what="chromedriver")
        session = webdriver_flow.Session(f"http://127.0.0.1:{port}", args=args, prefs=prefs)
        flows = []
        cpu_before, load_sampler = machine_cpu(), env.load_sampler()
        try:
            for index, body in enumerate(bodies):
                started = time.monotonic()
                webdriver_flow.grant(session, env.sim_url, "svc-breakglass", env.console_password, body)
                if index > 0:  # the first flow warms the session up, like the worker's warm-up request
                    flows.append(time.monotonic() - started)
            # Sampled before the session ends: deleting it kills the browser first, its renderers are then reaped by
            # init and their CPU showed as 0.55 "foreign" cores, refusing the script's ratios.
            script_load = load_sampler.stop()
        finally:
            session.delete()
    finally:
        driver.terminate()
        driver.wait(timeout=30)
    return {"machine_cpu_busy_pct": busy_share(cpu_before, machine_cpu()), "flows": len(flows),
            "p50_s": r(percentile(flows, 50), 3), "p95_s": r(percentile(flows, 95), 3),
            "all_s": [r(f, 3) for f in flows], "load": script_load}


def dig_load(results, area, side=None):
    """results[area]["load"] (or its `side`), None when that area did not run."""
    load = (results.get(area) or {}).get("load")
    return (load or {}).get(side) if side else load


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--consume-c", required=True)
    parser.add_argument("--lab", help="the breakglass-lab binary (the simulator); default: beside --bin")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--areas", default="startup,gate,duplicate,console")
    parser.add_argument("--out", default=str(ROOT / "bench/results"))
    parser.add_argument("--gate-in-flight", type=int, default=16)
    parser.add_argument("--duplicate-in-flight", type=int, default=64)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, ledgers, evidence)")
    args = parser.parse_args()
    areas = args.areas.split(",")
    if args.quick:
        counts = {"gate": 600, "duplicate_keys": 600, "duplicate_copies": 5, "duplicate_rounds": 1, "startup_runs": 2,
                  "console_1": 3, "console_4": 8, "script_flows": 3,
                  "console_arrivals": 3}
    else:
        counts = {"gate": 3000, "duplicate_keys": 3000, "duplicate_copies": 5, "duplicate_rounds": 3, "startup_runs": 5,
                  "console_1": 8, "console_4": 16, "script_flows": 8,
                  "console_arrivals": 8}
    counts["console"] = (1 + counts["console_1"] + 4 + counts["console_4"] + 1 + counts["console_arrivals"]
                         + 2 * (counts["script_flows"] + 1))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = pathlib.Path(tempfile.mkdtemp(prefix="breakglass-bench."))
    env = Environment(pathlib.Path(args.bin).resolve(), run_dir, counts,
                      lab=pathlib.Path(args.lab).resolve() if args.lab else None)
    stamp = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "quick": args.quick, "cpus": os.cpu_count()}
    results = {}
    try:
        env.start()
        if "startup" in areas:
            results["startup"] = bench_startup(env, counts)
        ledger = None
        if "gate" in areas or "duplicate" in areas:
            gate_bodies = env.world.requests["gate"]
            results["gate_path"], ledger = bench_gate(env, counts, args.gate_in_flight, gate_bodies[: counts["gate"]])
            if "gate" in areas and os.path.isdir("/dev/shm"):
                # Diagnostic, not a target: the same run with the evidence folder on tmpfs (fsync costs nothing), to
                # show how much of the gate path is the evidence bundle's synchronous fsyncs.
                shm = pathlib.Path(tempfile.mkdtemp(prefix="breakglass-bench-evidence.", dir="/dev/shm"))
                try:
                    results["gate_path_evidence_tmpfs"], _ = bench_gate(
                        env, counts, args.gate_in_flight, gate_bodies[counts["gate"]:], label="gate-tmpfs",
                        evidence=shm / "evidence")
                finally:
                    shutil.rmtree(shm, ignore_errors=True)
        if "duplicate" in areas:
            results["duplicate_path"] = bench_duplicate(env, counts, ledger, args.consume_c, args.duplicate_in_flight)
        if "console" in areas:
            results["console_path"] = bench_console(env, counts)
    finally:
        env.stop()
        if args.keep:
            say(f"kept {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    for name, result in results.items():
        result.update(stamp)
        result["load_average"] = os.getloadavg()[0]
        (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    rss = {"benchmark": "worker_rss", **stamp, "target_mib": 64,
           "by_area": {name: (res.get("worker_rss") or {}).get("vm_hwm_mib") for name, res in results.items()
                       if name in ("gate_path", "duplicate_path")}}
    if "console_path" in results:
        for k in (1, 4):
            rss["by_area"][f"console_{k}_sessions"] = results["console_path"]["worker"][f"sessions_{k}"]["worker_rss"]["vm_hwm_mib"]
    values = [v for v in rss["by_area"].values() if v]
    # The load during the loaded runs the peak is taken from (for the record; RSS is not a ratio).
    rss["load"] = machine_load.combine(
        [dig_load(results, "gate_path"), dig_load(results, "duplicate_path", "worker")]
        + [dig_load(results, "console_path", f"sessions_{k}") for k in (1, 4)])
    if values:
        rss["vm_hwm_mib_max"] = max(values)
        rss["notes"] = "VmHWM (peak resident set) of the `breakglass run` process alone, read from /proc at the end of each loaded run"
        (out / "worker_rss.json").write_text(json.dumps(rss, indent=2) + "\n")


if __name__ == "__main__":
    main()
