"""The process harness shared by the chaos suite (scripts/lib/chaos.py) and the worker benchmarks
(bench/worker/worker_bench.py): free ports, a private RabbitMQ node (scripts/rabbitmq-node), the reference environment
(`breakglass-lab sim`) and its control API, worker processes (`breakglass run`), waiting on a condition with a deadline,
reading the SQLite ledger (read-only), and enqueueing signed requests (`breakglass enqueue`).

Standard library only (importable without pika or jsonschema). Nothing here prints or stores a secret: token and
password files are passed to the processes by path.
"""
import json
import os
import pathlib
import random
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import http.client

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODE_SCRIPT = ROOT / "scripts" / "rabbitmq-node"
PORT_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"


# --------------------------------------------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------------------------------------------

def ephemeral_low(path=PORT_RANGE_FILE):
    """The first port of the kernel's ephemeral range (ip_local_port_range), 32768 when it cannot be read."""
    try:
        with open(path) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out = set()


def free_port(low=None, rng=random, attempts=200):
    """A free TCP port on 127.0.0.1, the rule of scripts/lib/common.sh's free_port: chosen at random below the kernel's
    ephemeral range (at most 12,000 ports below it, never below 1025). A port the kernel hands out (port 0) can be
    taken by any outgoing connection or by RabbitMQ's distribution listener before our process binds it. Ports
    already handed out by this process are not handed out again. Falls back to a kernel-chosen port when none of
    `attempts` random ports can be bound."""
    low = ephemeral_low() if low is None else low
    first, last = max(1025, low - 12000), low - 1
    if first <= last:
        for _ in range(attempts):
            port = rng.randint(first, last)
            if port in _handed_out:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------------------------------------------
# Waiting
# --------------------------------------------------------------------------------------------------------------

class WaitTimeout(RuntimeError):
    """The condition did not hold before the deadline."""


class WaitAborted(RuntimeError):
    """The wait was given up early (e.g. the process it waited for exited)."""


def wait_until(predicate, timeout, interval=0.05, what="condition", abort=None):
    """Polls `predicate` until it returns something true (returned) or `timeout` seconds pass (WaitTimeout).
    `abort`, when given, is polled too: a true value (a message) ends the wait with WaitAborted."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if abort is not None:
            reason = abort()
            if reason:
                raise WaitAborted(reason if isinstance(reason, str) else f"gave up waiting for {what}")
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def poll_until(predicate, timeout, interval=0.05):
    """Like wait_until, but answers False at the deadline instead of raising."""
    try:
        return wait_until(predicate, timeout, interval)
    except WaitTimeout:
        return False


def http_status(url, timeout=2.0):
    """The HTTP status `url` answers a GET with, None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, http.client.HTTPException):
        return None


# --------------------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------------------

def stop_process(process, timeout=60):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds; waits for it. Returns its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def stop_processes(processes, timeout=30):
    """SIGTERM to every running one first, then waits for each (SIGKILL after `timeout` seconds)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()


class RabbitNode:
    """A private RabbitMQ node run by scripts/rabbitmq-node in its own folder (`start DIR PORT`, `stop`, `restart`,
    `ctl`...). Every call is `rabbitmq-node COMMAND DIR ARGS...`; keyword arguments go to subprocess.run."""

    def __init__(self, directory, script=NODE_SCRIPT):
        self.dir = str(directory)
        self.script = str(script)

    def command(self, command, *args, check=True, **kwargs):
        return subprocess.run([self.script, command, self.dir, *[str(a) for a in args]], check=check, **kwargs)

    def start(self, port=None, **kwargs):
        """Starts a new node on `port`, or starts again a node stopped earlier (no port)."""
        return self.command("start", *([] if port is None else [port]), **kwargs)

    def stop(self, **kwargs):
        return self.command("stop", **kwargs)

    def restart(self, **kwargs):
        return self.command("restart", **kwargs)

    def ctl(self, *args, **kwargs):
        return self.command("ctl", *args, **kwargs)

    def queue_depths(self):
        """{queue: (messages, unacknowledged)} from rabbitmqctl list_queues ({} when the node does not answer)."""
        result = self.ctl("list_queues", "name", "messages", "messages_unacknowledged", check=False,
                          capture_output=True, text=True)
        return parse_queue_depths(result.stdout)


def parse_queue_depths(text):
    depths = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            depths[parts[0]] = (int(parts[1]), int(parts[2]))
    return depths


def keygen(binary, out, key_id):
    """`breakglass keygen`: OUT/<key_id>.seed (the signing seed) and OUT/trusted-keys.json."""
    subprocess.run([str(binary), "keygen", "--out", str(out), "--key-id", key_id], check=True,
                   stdout=subprocess.DEVNULL)


def declare_topology(binary, amqp_url):
    subprocess.run([str(binary), "topology", "declare", "--url", amqp_url], check=True, stdout=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------------------------
# The reference environment (`breakglass-lab sim`: the simulator is in the lab binary, not the product)
# --------------------------------------------------------------------------------------------------------------

def simulator_command(binary, port, fixtures, token_file, control_token_file):
    return [str(binary), "sim", "--port", str(port), "--fixtures", str(fixtures), "--token-file", str(token_file),
            "--control-token-file", str(control_token_file)]


class Simulator:
    """A `breakglass-lab sim` process (live sources and the console) on 127.0.0.1:PORT, its output in `log`;
    `binary` is the breakglass-lab executable."""

    def __init__(self, binary, port, fixtures, token_file, control_token_file, log, cwd=ROOT):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.control_token_file = control_token_file
        self.proc = subprocess.Popen(simulator_command(binary, port, fixtures, token_file, control_token_file),
                                     stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=cwd)

    def wait_ready(self, timeout=60):
        wait_until(lambda: http_status(self.url + "/console/login") == 200, timeout, what="the simulator")

    def control(self, path, method="GET", body=None):
        return sim_control(self.url, self.control_token_file, path, method, body)


def sim_control(base_url, control_token_file, path, method="GET", body=None, timeout=10):
    """A call of the simulator's control API (/control/PATH, bearer token read from its file): the JSON answer."""
    request = urllib.request.Request(f"{base_url}/control/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Authorization", "Bearer " + pathlib.Path(control_token_file).read_text().strip())
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"{}")


# --------------------------------------------------------------------------------------------------------------
# Workers (`breakglass run`)
# --------------------------------------------------------------------------------------------------------------

def worker_settings(amqp_url, trusted_keys, ledger, evidence, sources_url, sources_token_file, console_url,
                    console_password_file):
    """The BREAKGLASS_* variables that point a worker at a broker, a ledger, evidence and the reference environment
    (secrets by file)."""
    return {
        "BREAKGLASS_AMQP_URL": amqp_url,
        "BREAKGLASS_WORKER_TRUSTED_KEYS_FILE": str(trusted_keys),
        "BREAKGLASS_LEDGER_PATH": str(ledger),
        "BREAKGLASS_EVIDENCE_DIR": str(evidence),
        "BREAKGLASS_SOURCES_BASE_URL": sources_url,
        "BREAKGLASS_SOURCES_TOKEN_FILE": str(sources_token_file),
        "BREAKGLASS_CONSOLE_URL": console_url,
        "BREAKGLASS_CONSOLE_PASSWORD_FILE": str(console_password_file),
    }


def worker_environment(settings, base=None, drop=()):
    """This process's environment (or `base`) with `settings` on top and the names in `drop` removed."""
    environment = dict(os.environ if base is None else base)
    environment.update(settings)
    for name in drop:
        environment.pop(name, None)
    return environment


def start_worker(binary, config, environment, log, flags=(), cwd=None, new_session=False):
    """`breakglass run --config CONFIG [FLAGS]`, stdout and stderr into the open file `log`."""
    return subprocess.Popen([str(binary), "run", "--config", str(config), *flags], env=environment, stdout=log,
                            stderr=subprocess.STDOUT, cwd=cwd, start_new_session=new_session)


def ready(ops_port, timeout=2.0):
    """Whether the worker whose ops server listens on `ops_port` answers /readyz with 200."""
    return http_status(f"http://127.0.0.1:{ops_port}/readyz", timeout=timeout) == 200


# --------------------------------------------------------------------------------------------------------------
# The ledger (read-only, beside live writers: WAL)
# --------------------------------------------------------------------------------------------------------------

RESTORATION_COLUMNS = ("case_id", "tenant_id", "state", "escalate", "takeover_id", "reasons", "request_id",
                       "in_doubt", "reconciled", "resume_count", "epoch")
TAKEOVER_COLUMNS = ("id", "case_id", "tenant_id", "stage", "escalate")
OUTBOX_COLUMNS = ("event_id", "case_id", "tenant_id", "routing_key", "published_at")


def ledger_query(path, sql, params=(), timeout=10, as_dicts=False):
    """Rows of one query on the ledger at `path`, opened read-only (sqlite3.Error when it cannot be read)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    try:
        if as_dicts:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql, params).fetchall()]
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def read_ledger(path, timeout=10):
    """{"restorations": [...], "takeovers": [...], "outbox": [...]}: the rows (as dicts) the chaos checker judges."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    try:
        db.row_factory = sqlite3.Row
        return {table: [dict(row) for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()]
                for table, columns in (("restorations", RESTORATION_COLUMNS), ("takeovers", TAKEOVER_COLUMNS),
                                       ("outbox", OUTBOX_COLUMNS))}
    finally:
        db.close()


# --------------------------------------------------------------------------------------------------------------
# Queues read with pika (the checkers' view of the broker)
# --------------------------------------------------------------------------------------------------------------

def pika_parameters(host, port):
    import pika
    return pika.ConnectionParameters(host=host, port=int(port), heartbeat=30,
                                     credentials=pika.PlainCredentials("guest", "guest"))


def drain_queue(host, port, queue):
    """Every message of `queue` (basic.get with auto-ack until empty), as (properties, body)."""
    import pika
    connection = pika.BlockingConnection(pika_parameters(host, port))
    channel = connection.channel()
    messages = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        messages.append((properties, body))
    connection.close()
    return messages


def declare_watch_queue(host, port, name="chaos.events"):
    """A durable quorum queue bound to every event (`breakglass.events`, `#`): what a checker drains at the end."""
    import pika
    connection = pika.BlockingConnection(pika_parameters(host, port))
    channel = connection.channel()
    channel.queue_declare(name, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(name, "breakglass.events", routing_key="#")
    connection.close()


# --------------------------------------------------------------------------------------------------------------
# Enqueueing (`breakglass enqueue`: signs each body, publishes with confirms)
# --------------------------------------------------------------------------------------------------------------

def enqueue_command(binary, files, amqp_url, key=None, unsigned=False, window=None):
    """`breakglass enqueue FILE... --url URL (--key SEED | --unsigned) [--window N]`."""
    args = [str(binary), "enqueue", *[str(f) for f in files], "--url", amqp_url]
    if key is not None:
        args += ["--key", str(key)]
    elif unsigned:
        args += ["--unsigned"]
    if window is not None:
        args += ["--window", str(window)]
    return args


def enqueue(binary, files, amqp_url, key=None, unsigned=False, window=None, check=False):
    """Runs `breakglass enqueue` once; its completed process (output captured as text)."""
    return subprocess.run(enqueue_command(binary, files, amqp_url, key, unsigned, window), capture_output=True,
                          text=True, check=check)
