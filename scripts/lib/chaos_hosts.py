#!/usr/bin/env python3
"""The multi-host chaos run behind `./scripts/chaos --hosts N` (issue 17).

N hosts as network namespaces (scripts/lib/hosts.py), each with 2 workers and their own browsers, against a 3-node
RabbitMQ cluster (private nodes, clustered, a quorum request queue) and one PostgreSQL ledger, all reached over the
hosts' bridge. While a storm of requests (every key 5 times: 3 identical copies, 2 replays) is worked:
  - a whole host is killed at once (every process in its namespace, SIGKILL), then "rebooted" (workers started again);
  - a host is cut off from the network (its link down) while it holds `submitting` claims, for longer than the
    lease, then healed: it must never click after its lease lapsed;
  - the RabbitMQ node most workers use (the first of amqp.urls) is killed, then started again;
  - PostgreSQL is restarted.
Then the checker judges the same invariants as the one-host run (0 keys granted twice, 0 submitted twice, 0 lost
outcomes, 0 missing events, every halt with a takeover record, every decision with its evidence, events against the
contract, no secret leaked, queues empty) plus: the cut-off host never clicked after its lease lapsed.

  chaos_hosts.py run RUN_DIR      (RUN_DIR/env.json and the plan are written by scripts/chaos --hosts N)
  chaos_hosts.py judge RUN_DIR    judges a kept run folder again (its facts/), without services

Exit status 0, 1 on any violation, 2 on a harness error. Needs root (network namespaces), psycopg2 and pika.
"""
import collections
import datetime
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time

import chaos
import chaos_checks
import harness
import hosts as hostlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKERS_PER_HOST = 2
# The invariants of the one-host run that hold whatever the topology (the others judge faults only that run makes:
# crash points, the full disk, the frozen worker, poison headers; and the off-site redirect, which the simulator
# makes only for a console reached on 127.0.0.1, so a key planned for it is an ordinary key here).
INVARIANTS = [
    "never_granted_twice", "never_submitted_twice", "grants_on_own_tenant", "grants_within_approval",
    "every_key_decided", "one_terminal_event_per_decision", "console_matches_ledger", "no_missing_event",
    "event_ids_not_reused", "no_stray_event", "every_halt_has_takeover_record", "every_decision_has_evidence",
    "gate_anomalies_caught", "nothing_posted_offsite", "invalid_keys_dead_lettered",
    "dead_letters_explained", "queues_empty", "events_match_contract", "no_secret_leaked", "files_owner_only",
]


def log(message):
    print(f"[chaos-hosts {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Cluster:
    """3 RabbitMQ nodes on the bridge's address, clustered."""

    def __init__(self, run, script, gateway, ports):
        self.nodes = [harness.RabbitNode(run / f"rabbit{i + 1}", script) for i in range(len(ports))]
        self.ports = ports
        self.gateway = gateway

    def start(self):
        environment = dict(os.environ, RMQ_LISTEN=self.gateway)
        threads = [threading.Thread(target=node.command, args=("start", port),
                                    kwargs={"env": environment, "stdout": subprocess.DEVNULL})
                   for node, port in zip(self.nodes, self.ports)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for node in self.nodes[1:]:
            node.command("join", self.nodes[0].dir, stdout=subprocess.DEVNULL)

    def url(self, index):
        return f"amqp://guest:guest@{self.gateway}:{self.ports[index]}/"

    def stop(self):
        for node in self.nodes:
            node.command("stop", check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Postgres:
    def __init__(self, run, script):
        self.dir = run / "pg"
        self.script = str(script)

    def command(self, *args, check=True, **kwargs):
        return subprocess.run([self.script, args[0], str(self.dir), *[str(a) for a in args[1:]]], check=check,
                              **kwargs)

    def connect(self, database):
        import psycopg2
        env = dict(line.split("=", 1) for line in (self.dir / "node.env").read_text().split())
        return psycopg2.connect(host=env["PG_HOST"], port=int(env["PG_PORT"]), user="breakglass", dbname=database,
                                password=(self.dir / "password").read_text().strip(), connect_timeout=5)


class Run:
    def __init__(self, run_dir):
        self.run = pathlib.Path(run_dir)
        self.__dict__.update(json.loads((self.run / "env.json").read_text()))
        self.started_at = time.time()
        self.hosts = hostlib.Hosts(self.prefix, self.host_count)
        self.cluster = Cluster(self.run, self.node_script, self.hosts.gateway, self.amqp_ports)
        self.pg = Postgres(self.run, self.pg_script)
        self.processes = {}  # (host, slot) -> Popen
        self.lock = threading.Lock()
        self.timeline = []
        self.cut = {}
        self.sim = None
        self.database = "breakglass"

    # -- set-up ------------------------------------------------------------------------------------------------

    def setup(self):
        self.hosts.setup()
        log(f"{self.host_count} hosts on {self.hosts.subnet}.0/24 (bridge {self.hosts.gateway})")
        self.cluster.start()
        log(f"RabbitMQ cluster of 3 nodes on {self.hosts.gateway}:{self.amqp_ports}")
        self.pg.command("start", self.pg_port, self.hosts.gateway, stdout=subprocess.DEVNULL)
        self.pg.command("psql", "-qc", f"CREATE DATABASE {self.database}", stdout=subprocess.DEVNULL)
        log(f"PostgreSQL on {self.hosts.gateway}:{self.pg_port}")
        self.sim = subprocess.Popen(
            harness.simulator_command(self.lab, self.sim_port, self.run / "fixtures.json", self.run / "sources.token",
                                      self.run / "control.token") + ["--host", self.hosts.gateway],
            stdout=open(self.run / "sim.log", "w"), stderr=subprocess.STDOUT, cwd=ROOT)
        self.sim_url = f"http://{self.hosts.gateway}:{self.sim_port}"
        harness.wait_until(lambda: harness.http_status(self.sim_url + "/console/login") == 200, 60,
                           what="the simulator")
        harness.declare_topology(self.bin, self.cluster.url(0))
        self.declare_watch_queue()
        plan = json.loads((self.run / "plan.json").read_text())
        for tenant, modes in plan["faults"].items():
            self.control(f"faults/tenants/{tenant}", "PUT", modes)

    def control(self, path, method="GET", body=None):
        return harness.sim_control(self.sim_url, self.run / "control.token", path, method, body)

    def declare_watch_queue(self):
        harness.declare_watch_queue(self.hosts.gateway, self.amqp_ports[1])

    # -- workers -----------------------------------------------------------------------------------------------

    def worker_env(self, host, slot):
        folder = self.run / f"h{host}-w{slot}"
        folder.mkdir(mode=0o700, exist_ok=True)
        urls = ",".join(self.cluster.url(i) for i in range(3))
        settings = {
            "BREAKGLASS_AMQP_URLS": urls,
            "BREAKGLASS_WORKER_TRUSTED_KEYS_FILE": str(self.run / "keys" / "trusted-keys.json"),
            "BREAKGLASS_LEDGER_URL": f"postgres://breakglass@{self.hosts.gateway}:{self.pg_port}/{self.database}"
                                     "?sslmode=disable",  # the lab server has no TLS (a real one would)
            "BREAKGLASS_LEDGER_PASSWORD_FILE": str(self.run / "pg" / "password"),
            # The worker's local folder (chromedriver's pid file lives beside `ledger.path`).
            "BREAKGLASS_LEDGER_PATH": str(folder / "local.sqlite"),
            # One evidence folder every host reads (the namespaces share the file system: a shared mount).
            "BREAKGLASS_EVIDENCE_DIR": str(self.run / "evidence"),
            "BREAKGLASS_SOURCES_BASE_URL": self.sim_url,
            "BREAKGLASS_SOURCES_TOKEN_FILE": str(self.run / "sources.token"),
            "BREAKGLASS_CONSOLE_URL": self.sim_url,
            "BREAKGLASS_CONSOLE_PASSWORD_FILE": str(self.run / "console.password"),
            "BREAKGLASS_WORKER_ID": f"h{host}-w{slot}",
            # The reference environment is plain HTTP on the hosts' bridge (a lab, not loopback).
            "BREAKGLASS_SECURITY_ALLOW_PLAIN_HTTP": "true",
            # 6 workers and their browsers on a 2-core machine: one request at a time each.
            "BREAKGLASS_WORKER_IN_FLIGHT": "1",
            "BREAKGLASS_OPS_PORT": str(self.ops_port + slot - 1),
        }
        return harness.worker_environment(settings, drop=("BREAKGLASS_AMQP_URL", "BREAKGLASS_CRASH_AT"))

    def start_worker(self, host, slot):
        logfile = open(self.run / f"worker-h{host}-w{slot}.log", "ab")
        logfile.write(f"\n=== start {time.strftime('%H:%M:%S')} ===\n".encode())
        logfile.flush()
        process = subprocess.Popen(self.hosts.command(host, [self.bin, "run", "--config", self.worker_config]),
                                   env=self.worker_env(host, slot), stdout=logfile, stderr=subprocess.STDOUT,
                                   cwd=ROOT, start_new_session=True)
        with self.lock:
            self.processes[(host, slot)] = process

    def start_host(self, host):
        for slot in range(1, WORKERS_PER_HOST + 1):
            self.start_worker(host, slot)

    def ready(self, host, slot):
        result = subprocess.run(self.hosts.command(host, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                          "--max-time", "2",
                                                          f"http://127.0.0.1:{self.ops_port + slot - 1}/readyz"]),
                                capture_output=True, text=True)
        return result.stdout.strip() == "200"

    def stop_workers(self):
        with self.lock:
            processes = list(self.processes.items())
        for (host, _slot), process in processes:
            if process.poll() is None:
                try:
                    os.kill(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for (host, _slot), process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- the ledger --------------------------------------------------------------------------------------------

    def query(self, sql, params=()):
        for attempt in range(30):
            try:
                connection = self.pg.connect(self.database)
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(sql, params)
                        columns = [c.name for c in cursor.description]
                        return [dict(zip(columns, row)) for row in cursor.fetchall()]
                finally:
                    connection.close()
            except Exception:  # PostgreSQL restarting
                if attempt == 29:
                    raise
                time.sleep(1)

    def read_ledger(self):
        tables = {}
        for table, columns in (("restorations", harness.RESTORATION_COLUMNS), ("takeovers", harness.TAKEOVER_COLUMNS),
                               ("outbox", harness.OUTBOX_COLUMNS)):
            rows = self.query(f"SELECT {', '.join(columns)} FROM {table}")
            for row in rows:
                for name, value in row.items():
                    if isinstance(value, memoryview):
                        row[name] = bytes(value)
                    elif isinstance(value, (list, dict)):  # jsonb: the text SQLite stores
                        row[name] = json.dumps(value, separators=(",", ":"))
                    elif isinstance(value, bool):
                        row[name] = int(value)
            tables[table] = rows
        return tables

    # -- faults ------------------------------------------------------------------------------------------------

    def note(self, what, **details):
        self.timeline.append({"at": time.time(), "what": what, **details})
        log(what + (" " + json.dumps(details, sort_keys=True) if details else ""))

    def kill_host(self, host, down_seconds):
        pids = self.hosts.kill(host)
        self.note("host killed", host=host, processes=len(pids))
        time.sleep(down_seconds)  # the host is down (a fault's duration, not synchronisation)
        self.start_host(host)
        self.note("host rebooted", host=host)

    def cut_host(self, host, lease, deadline):
        # Cut while one of its workers holds a `submitting` claim (the case that matters), or at the deadline.
        owners = [f"h{host}-w{slot}" for slot in range(1, WORKERS_PER_HOST + 1)]
        held = []
        wait_end = time.time() + deadline
        while time.time() < wait_end:
            try:
                held = self.query("SELECT case_id, tenant_id, epoch, lease_expires_at FROM restorations "
                              "WHERE state = 'submitting' AND owner = ANY(%s)", (owners,))
            except Exception:
                held = []
            if held:
                break
            time.sleep(0.05)
        self.hosts.cut(host)
        at = time.time()
        self.cut = {"host": host, "at": at, "owners": owners,
                    "submitting": [{"key": f"{r['case_id']}/{r['tenant_id']}", "epoch": r["epoch"],
                                    "lease_expires_at": r["lease_expires_at"]} for r in held]}
        # Longer than every lease it holds: a `submitting` claim's lease covers the lease and the confirmation bound,
        # so the cut lasts until the latest of them lapsed, plus 10 s (the ledger's server runs on this machine's
        # clock), and at least the plain lease + 10 s.
        until = max([at + lease + 10] + [r["lease_expires_at"] + 10 for r in held])
        self.cut["until"] = until
        self.note("host cut off", host=host, submitting_claims=len(held), seconds=round(until - at, 1))
        time.sleep(max(0.0, until - time.time()))  # the fault's duration
        self.hosts.heal(host)
        self.cut["healed_at"] = time.time()
        self.note("host healed", host=host)

    def kill_broker_node(self, down_seconds):
        node = self.cluster.nodes[0]
        node.command("kill", check=False)
        self.note("RabbitMQ node 1 killed (the first of amqp.urls)")
        time.sleep(down_seconds)
        node.command("start", env=dict(os.environ, RMQ_LISTEN=self.hosts.gateway), stdout=subprocess.DEVNULL)
        self.note("RabbitMQ node 1 back")

    def restart_postgres(self):
        self.pg.command("restart", stdout=subprocess.DEVNULL)
        self.note("PostgreSQL restarted")

    # -- the storm ---------------------------------------------------------------------------------------------

    def enqueue(self, items, label):
        out = self.run / "batch" / label
        out.mkdir(parents=True, exist_ok=True)
        groups = {"sign": [], "forged": []}
        for n, (mode, text) in enumerate(items):
            path = out / f"{n:05d}.json"
            path.write_text(text)
            groups[mode].append(str(path))
        for mode, files in groups.items():
            if not files:
                continue
            key = self.seed if mode == "sign" else self.forger_seed
            for attempt in range(60):
                for path in files:
                    chaos.PUBLISH_ATTEMPTS[chaos.case_of(pathlib.Path(path).read_text())] += 1
                # Published to the second node: the first is killed during the run.
                result = harness.enqueue(self.bin, files, self.cluster.url(1), key=key)
                if result.returncode == 0:
                    break
                time.sleep(1)
            else:
                raise RuntimeError(f"enqueue failed: {result.stderr[-400:]}")

    def storm(self):
        plan = json.loads((self.run / "plan.json").read_text())
        rng = random.Random(self.seed_value)
        keys = [r for r in plan["requests"] if not r.get("reserve") and not r.get("disk")]
        copies = [(r, c) for r in keys for c in range(5)]
        rng.shuffle(copies)
        for host in range(1, self.host_count + 1):
            self.start_host(host)
        if not harness.poll_until(lambda: sum(self.ready(h, 1) for h in range(1, self.host_count + 1)) >= 2, 120,
                                  interval=0.5):
            tail = (self.run / "worker-h1-w1.log").read_text()[-1500:]
            raise RuntimeError(f"workers not ready within 120 s; worker-h1-w1.log ends with:\n{tail}")
        log(f"storm: {len(keys)} keys x 5 copies = {len(copies)} messages in 3 waves")
        lease = self.lease_seconds
        quick = self.quick
        faults = [
            threading.Timer(8, self.kill_host, args=(1, 5 if quick else 15)),
            threading.Timer(4, self.cut_host, args=(2 if self.host_count > 1 else 1, lease, 30)),
            threading.Timer(20 if quick else 40, self.kill_broker_node, args=(8 if quick else 20,)),
            threading.Timer(35 if quick else 70, self.restart_postgres),
        ]
        for fault in faults:
            fault.start()
        waves = 3
        size = (len(copies) + waves - 1) // waves
        for wave in range(waves):
            chunk = copies[wave * size:(wave + 1) * size]
            self.enqueue([chaos.message_copies(r, c, rng) for r, c in chunk], f"wave{wave}")
            self.note("wave enqueued", wave=wave, messages=len(chunk))
            time.sleep(6 if quick else 15)  # the storm's pace
        for fault in faults:
            fault.join()
        return keys

    def quiet(self, sent_keys, timeout):
        """Waits until every valid key is decided and the outbox is drained (or `timeout`)."""
        valid = {r["key"] for r in sent_keys if r["kind"] not in ("forged", "malformed")}

        def done():
            try:
                rows = self.query("SELECT case_id, tenant_id, state FROM restorations")
            except Exception:  # the schema is not there yet (no worker opened the ledger)
                return False
            decided = {f"{r['case_id']}/{r['tenant_id']}" for r in rows
                       if r["state"] in ("granted", "rejected", "resolved", "halted")}
            pending = self.query("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")[0]["n"]
            if not (valid <= decided and pending == 0):
                return False
            # And every copy consumed (the duplicates of decided keys are acked too).
            depth = self.queue_depths().get("breakglass.restorations")
            return depth == (0, 0)

        return harness.poll_until(done, timeout, interval=1.0)

    # -- judgement ---------------------------------------------------------------------------------------------

    def drain(self, queue):
        # Node 2: node 1 is the one the run kills.
        return harness.drain_queue(self.hosts.gateway, self.amqp_ports[1], queue)

    def queue_depths(self):
        return harness.RabbitNode(self.cluster.nodes[1].dir, self.node_script).queue_depths()

    def collect(self, sent_keys, seconds):
        run = self.run
        write = chaos_checks.write_fact
        write(run, "sent.json", [{"key": r["key"], "kind": r["kind"], "reserve": False, "disk": False,
                                  "privilege": r["body"]["privilege"]} for r in sent_keys])
        write(run, "ledger.json", self.read_ledger())
        write(run, "console.json", {"grants": self.control("grants"), "offsite": self.control("offsite")})
        write(run, "session-cookies.json", {"session_ids": self.control("sessions/issued").get("session_ids", [])})
        events_file = chaos_checks.write_events(run, [body for _p, body in self.drain("chaos.events")])
        write(run, "dead-letters.jsonl",
              [body.decode("utf-8", "replace") for _p, body in self.drain("breakglass.dead")])
        write(run, "queues.json", self.queue_depths())
        write(run, "supervisor.json", {"launches": len(self.processes), "fired": {}, "timeouts": {},
                                       "unexpected_exits": [], "aborts": 0, "ledger_exits": 0, "frozen_claim": {},
                                       "poisoned": {"count": 0, "attempts": 0}, "disk": {}})
        write(run, "publish-attempts.json", dict(chaos.PUBLISH_ATTEMPTS))
        write(run, "cores.json", [])
        schema = subprocess.run([sys.executable, str(ROOT / "scripts/lib/contract_check.py"), "events",
                                 str(events_file)], capture_output=True, text=True)
        write(run, "schema-check.json", {"returncode": schema.returncode, "stdout": schema.stdout,
                                         "stderr": schema.stderr[-2000:]})
        evidence = run / "evidence"
        paths = ([evidence] + sorted(evidence.rglob("*"))) if evidence.exists() else []
        write(run, "file-modes.json", [{"path": str(p.relative_to(run)), "mode": f"{p.lstat().st_mode & 0o777:04o}"}
                                       for p in paths])
        write(run, "run.json", {"mode": f"hosts-{self.host_count}" + ("-quick" if self.quick else ""),
                                "quick": bool(self.quick), "seconds": seconds, "fed": 0,
                                "started_at": self.started_at, "ledger_dir": "."})
        write(run, "hosts.json", {"timeline": self.timeline, "cut": self.cut})

    def load_recorded(self):
        recorded = json.loads((chaos_checks.facts_dir(self.run) / "hosts.json").read_text())
        self.timeline, self.cut = recorded["timeline"], recorded["cut"]
        self.started_at = json.loads((chaos_checks.facts_dir(self.run) / "run.json").read_text())["started_at"]

    def click_decisions(self, key):
        """When the cut-off host's workers decided to click for `key` (their `click allowed` log lines), as seconds."""
        case_id = key.split("/", 1)[0]
        moments = []
        for owner in self.cut.get("owners", []):
            path = self.run / f"worker-{owner}.log"
            if not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                if '"click allowed"' not in line or case_id not in line:
                    continue
                try:
                    stamp = json.loads(line)["ts"]
                except (ValueError, KeyError):
                    continue
                moments.append(datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
        return moments

    def cut_host_never_clicked_after_lapse(self, facts):
        """For every key the cut-off host held in `submitting` at the cut:
        - the host never decided to click after that claim's lease lapsed (its `click allowed` lines);
        - a grant the console made after the lapse (a click sent before the cut, delivered when the link came back:
          no process can recall a request already on the wire) is never silently missed: the ledger says granted, or
          halted with escalate (a person reconciles the console: "access may have been granted").
        Returns (violations, claims held at the cut, late grants seen)."""
        violations = []
        late = 0
        grants = facts.console.get("grants", {}).get("grants", []) if isinstance(facts.console, dict) else []
        for claim in self.cut.get("submitting", []):
            lapse = claim["lease_expires_at"]
            for moment in self.click_decisions(claim["key"]):
                if moment > lapse:
                    violations.append(f"{claim['key']}: the cut-off host decided to click {moment - lapse:.1f} s after "
                                      f"its lease (epoch {claim['epoch']}) lapsed")
            case_id, tenant_id = claim["key"].split("/", 1)
            row = facts.ledger.get(claim["key"]) or {}
            for grant in grants:
                if grant.get("tenant_id") != tenant_id or not grant.get("granted_at"):
                    continue
                moment = datetime.datetime.fromisoformat(grant["granted_at"].replace("Z", "+00:00")).timestamp()
                if moment <= lapse + 1.0:
                    continue
                late += 1
                if not (row.get("state") == "granted" or (row.get("state") == "halted" and row.get("escalate"))):
                    violations.append(f"{claim['key']}: granted at {grant['granted_at']} after the lease lapsed, but the "
                                      f"ledger says {row.get('state')} without escalation")
        return violations, len(self.cut.get("submitting", [])), late

    def judge(self, seconds):
        facts = chaos_checks.Facts(self.run)
        by_name = {check.__name__: check for check in chaos_checks.INVARIANTS}
        violations = []
        figures = {}
        for name in INVARIANTS:
            verdict = by_name[name](facts)
            figures[name] = verdict.figures
            violations += verdict.violations
        cut_violations, held, late = self.cut_host_never_clicked_after_lapse(facts)
        violations += cut_violations
        grants = collections.Counter(r["state"] for r in facts.ledger.values())
        summary = {
            "mode": f"hosts {self.host_count}" + (" (quick)" if self.quick else ""), "seconds": round(seconds, 1),
            "hosts": self.host_count, "workers": self.host_count * WORKERS_PER_HOST,
            "keys": len(facts.sent), "outcomes": dict(grants), "timeline": self.timeline,
            "cut_host_submitting_claims": held, "late_grants_escalated": late, "violations": violations,
            "figures": figures,
        }
        (self.run / "chaos-summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True, default=str))
        print(f"chaos run: hosts {self.host_count}{' (quick)' if self.quick else ''}, {seconds:.0f} s, "
              f"{self.host_count} hosts x {WORKERS_PER_HOST} workers, 3 RabbitMQ nodes, 1 PostgreSQL")
        print(f"  keys: {len(facts.sent)}; ledger states: {dict(sorted(grants.items()))}")
        for entry in self.timeline:
            print(f"  t+{entry['at'] - self.started_at:6.1f} s  {entry['what']}"
                  + (f" (host {entry['host']})" if "host" in entry else ""))
        print(f"  cut-off host held {held} submitting claim(s) at the cut; click decisions after a lapsed lease or late "
              f"grants not escalated: {len(cut_violations)}; late grants (a click delivered after the heal), each "
              f"escalated to a person: {late}")
        for name in INVARIANTS:
            print(f"  {name}: {'ok' if not by_name[name](facts).violations else 'VIOLATED'}")
        if violations:
            print(f"VIOLATIONS ({len(violations)}):")
            for violation in violations[:50]:
                print("  - " + str(violation))
            return 1
        print("no violation")
        return 0


def main(run_dir):
    state = Run(run_dir)
    try:
        state.setup()
        t0 = time.time()
        sent_keys = state.storm()
        settled = state.quiet(sent_keys, 240 if state.quick else 600)
        log("quiet" if settled else "not quiet before the deadline: judging anyway")
        state.stop_workers()
        seconds = time.time() - t0
        state.collect(sent_keys, seconds)
        return state.judge(seconds)
    finally:
        state.stop_workers()
        if state.sim is not None:
            state.sim.terminate()
            state.sim.wait()
        state.cluster.stop()
        state.pg.command("stop", check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state.hosts.teardown()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    if len(sys.argv) == 3 and sys.argv[1] == "judge":
        # Judges a kept run folder again (no services needed).
        recorded = Run(sys.argv[2])
        recorded.load_recorded()
        sys.exit(recorded.judge(json.loads((chaos_checks.facts_dir(recorded.run) / "run.json").read_text())["seconds"]))
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        try:
            sys.exit(main(sys.argv[2]))
        except Exception as error:
            print(f"chaos-hosts harness error: {type(error).__name__}: {error}", file=sys.stderr)
            import traceback
            traceback.print_exc()
            sys.exit(2)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
