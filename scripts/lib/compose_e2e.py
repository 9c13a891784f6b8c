#!/usr/bin/env python3
"""docker/compose.yaml as shipped, end to end, without a Docker engine.

  compose_e2e.py [--bin BREAKGLASS] [--keep]

Reads docker/compose.yaml and docker/Dockerfile and runs every service the way Compose and the image would:
  * the secrets: `docker/make-secrets` into a temp folder; each container gets its own /run/secrets holding only the
    secrets its service lists, copied with the source file's mode and owner (Compose bind-mounts a file secret
    read-only with the host file's owner and mode; uid/gid/mode of the long syntax are ignored: docker/compose#9648);
  * the image: a temp folder mirrors the paths the Dockerfile creates (COPY destinations, the user's home and
    WORKDIR); named volumes are folders initialised like Docker does (owner and mode of the image folder);
  * the broker: a private RabbitMQ node (scripts/rabbitmq-node) with no `guest` user that imports the definitions
    file the broker's conf.d file names, from the secret Compose mounts there;
  * the simulator and `deploy.replicas` workers: entrypoint + command, Dockerfile ENV + compose environment, the
    working folder = WORKDIR, as the Dockerfile's USER (uid via setpriv when run as root), each started once the
    services it depends on pass their compose health checks, each "healthy" once its own health check passes;
  * the network: the only rewrites are host names (service:port -> 127.0.0.1:free port), each container's own
    ports (its private network namespace -> a free port on 127.0.0.1, 0.0.0.0 -> 127.0.0.1) and absolute in-image
    paths (-> the temp mirror). Any other absolute path must exist on this host where Debian puts it (Chromium).
Then the escalation system's side: one request signed with the generated key, published as the `escalation`
broker user; the outcome event `granted` must arrive on breakglass.events (read as `admin`) and the console must
count one grant. Last, `docker compose stop`: SIGTERM to every worker, each must exit 0 within its
stop_grace_period; then the simulator within Compose's default 10 s. Everything started is stopped on exit.
Prints `compose: 1 passed, 0 failed` or `compose: 0 passed, 1 failed` with the log tails.
"""
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import free_port  # the ports rule of scripts/lib/common.sh, shared with chaos and bench

try:
    import pika
    import yaml
except ImportError:
    # Debian's interpreter has python3-pika and python3-yaml; a pyenv python3 earlier on PATH may not.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKER = os.path.join(ROOT, "docker")
RMQ_BIN = os.environ.get("RMQ_BIN", "/usr/lib/rabbitmq/bin")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Docker's default PATH
COMPOSE_DEFAULT_GRACE = 10.0
T0 = time.monotonic()


class Failure(Exception):
    pass


def say(message):
    print(f"[compose {time.monotonic() - T0:5.1f}s] {message}", flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


def duration(text, default):
    """Compose durations: 45s, 1m30s, 500ms, or a number of seconds."""
    if text is None:
        return default
    if isinstance(text, (int, float)):
        return float(text)
    total, rest = 0.0, str(text).strip()
    for value, unit in re.findall(r"([0-9.]+)(ms|us|h|m|s)", rest):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}[unit]
    check(total > 0 or rest in ("0", "0s"), f"cannot read the duration {text!r}")
    return total


# ---------------------------------------------------------------- the Dockerfile

def parse_dockerfile(path):
    """The runtime (last) stage: ENV, USER, WORKDIR, COPY, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, the useradd line."""
    lines, current = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if not current and (line.lstrip().startswith("#") or not line.strip()):
            continue
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    stages, stage = [], None
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        word = word.upper()
        if word == "FROM":
            stage = {"from": rest.strip(), "env": {}, "copies": [], "expose": [], "user": None, "workdir": "/",
                     "healthcheck": None, "entrypoint": None, "cmd": None, "users": {}}
            stages.append(stage)
            continue
        rest = rest.strip()
        if word == "ENV":
            tokens = shlex.split(rest)
            if tokens and "=" not in tokens[0]:
                stage["env"][tokens[0]] = " ".join(tokens[1:])
            else:
                for token in tokens:
                    key, _, value = token.partition("=")
                    stage["env"][key] = value
        elif word == "USER":
            stage["user"] = rest
        elif word == "WORKDIR":
            stage["workdir"] = os.path.normpath(os.path.join(stage["workdir"], rest))
        elif word == "COPY":
            tokens = shlex.split(rest)
            flags = [t for t in tokens if t.startswith("--")]
            paths = [t for t in tokens if not t.startswith("--")]
            stage["copies"].append({"from": next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None),
                                    "sources": paths[:-1], "dest": paths[-1]})
        elif word == "EXPOSE":
            stage["expose"] += [int(p.split("/")[0]) for p in rest.split()]
        elif word == "HEALTHCHECK":
            options = dict(re.findall(r"--([a-z-]+)=(\S+)", rest))
            command = re.sub(r"^(--[a-z-]+=\S+\s+)*", "", rest)
            check(command.startswith("CMD "), f"Dockerfile HEALTHCHECK without CMD: {rest}")
            stage["healthcheck"] = {"test": ["CMD"] + json.loads(command[4:]),
                                    "interval": options.get("interval"), "timeout": options.get("timeout"),
                                    "start_period": options.get("start-period"), "retries": options.get("retries")}
        elif word in ("ENTRYPOINT", "CMD"):
            check(rest.startswith("["), f"Dockerfile {word} must be the exec (JSON) form: {rest}")
            stage[word.lower()] = json.loads(rest)
        elif word == "RUN":
            for match in re.finditer(r"useradd\s+([^&;]*)", rest):
                args = match.group(1)
                name = args.split()[-1]
                uid = re.search(r"--uid\s+(\d+)", args)
                gid = re.search(r"--gid\s+(\d+)", args)
                home = re.search(r"--home-dir\s+(\S+)", args)
                home = home.group(1) if home else f"/home/{name}"
                chmod = re.search(r"chmod\s+([0-7]+)\s+" + re.escape(home) + r"(\s|$)", rest)
                stage["users"][name] = {"uid": int(uid.group(1)) if uid else None, "home": home,
                                        "gid": int(gid.group(1)) if gid else None,
                                        "mode": int(chmod.group(1), 8) if chmod else 0o755}
    check(len(stages) >= 2, "the Dockerfile should be multi-stage")
    return stages[-1]


# ---------------------------------------------------------------- .dockerignore

def dockerignore_excludes(patterns, path):
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern[1:] if negate else pattern
        pattern = pattern.strip("/")
        regex = "^" + "".join(".*" if tok == "**" else "[^/]*" if tok == "*" else "[^/]" if tok == "?" else re.escape(tok)
                              for tok in re.findall(r"\*\*|\*|\?|[^*?]+", pattern)) + "$"
        if any(re.match(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


# ---------------------------------------------------------------- processes

class Container:
    def __init__(self, name, service, directory):
        self.name, self.service, self.dir = name, service, directory
        self.process = None
        self.log = os.path.join(directory, "log.txt")
        self.ports = {}     # container port -> host port
        self.paths = []     # (in-image prefix, host folder), longest first
        self.env = {}
        self.argv = []

    def tail(self, n=40):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)\n"


def is_broker(service):
    return str(service.get("image", "")).startswith("rabbitmq:")


def run(argv, timeout, **kwargs):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, **kwargs)


def wait_for(what, deadline, probe, container=None, interval=0.3):
    """Polls probe() until it returns a truthy value, the deadline passes, or the container's process exits."""
    while True:
        result = probe()
        if result:
            return result
        if container is not None and container.process is not None and container.process.poll() is not None:
            raise Failure(f"{container.name} exited with {container.process.returncode} while waiting for {what}")
        if time.monotonic() >= deadline:
            raise Failure(f"timed out waiting for {what}")
        time.sleep(interval)


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except Exception:
        return False


# ---------------------------------------------------------------- the test

class ComposeRun:
    def __init__(self, binary, keep):
        self.binary = binary
        self.keep = keep
        # Every folder on the way to a container's files must be reachable by the image's user (chmod 0755).
        self.tmp = tempfile.mkdtemp(prefix="breakglass-compose.")
        os.chmod(self.tmp, 0o755)
        self.containers = []
        self.rabbit_dir = None
        self.is_root = os.geteuid() == 0
        self.notes = []

    # -- static checks: what Compose and `docker build` would refuse or what makes the deployment unsafe

    def static_checks(self):
        compose = self.compose
        services = compose["services"]
        for name, service in services.items():
            for port in service.get("ports", []):
                check(str(port).startswith("127.0.0.1:"), f"service {name} publishes {port} beyond loopback")
            check("healthcheck" in service or ("build" in service and self.dockerfile["healthcheck"]),
                  f"service {name} has no health check")
        broker = [s for s in services.values() if is_broker(s)]
        check(len(broker) == 1, "one rabbitmq service expected")
        version = re.match(r"rabbitmq:(\d+)\.(\d+)", broker[0]["image"])
        check(version and int(version.group(1)) >= 4, f"{broker[0]['image']}: the 3.x release lines are out of community support")
        definitions = json.load(open(os.path.join(DOCKER, "rabbitmq", "definitions.json")))
        check(not definitions.get("users") and "password_hash" not in json.dumps(definitions),
              "docker/rabbitmq/definitions.json must not carry users or password hashes (docker/make-secrets adds them)")
        patterns = [l.strip() for l in open(os.path.join(ROOT, ".dockerignore")) if l.strip() and not l.startswith("#")]
        for path in (".build/debug/breakglass", ".git/HEAD", "run/ledger.sqlite", "x.sqlite", "docker/secrets/amqp_password",
                     "docker/secrets/escalation-2026.seed"):
            check(dockerignore_excludes(patterns, path), f".dockerignore lets {path} into the build context")
        for stage_copy in self.dockerfile["copies"]:
            for source in stage_copy["sources"] if stage_copy["from"] is None else []:
                check(not dockerignore_excludes(patterns, source.rstrip("/")), f".dockerignore excludes {source}, which the Dockerfile COPYs")
                check(os.path.exists(os.path.join(ROOT, source)), f"the Dockerfile COPYs {source}, which does not exist")
        check(self.dockerfile["user"] not in (None, "root", "0"), "the image runs as root")

    # -- the image mirror

    def build_image(self):
        df = self.dockerfile
        self.image = os.path.join(self.tmp, "image")
        self.image_paths = []  # (in-image path, mirror path)
        for c in df["copies"]:
            dest = os.path.join(self.image, c["dest"].lstrip("/"))
            os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
            if c["from"] is not None:
                name = os.path.basename(c["dest"])
                check(name in ("breakglass", "breakglass-lab"), f"unexpected COPY --from: {c}")
                # The product binary, or the lab binary built beside it.
                os.symlink(os.path.join(os.path.dirname(self.binary), name) if name != "breakglass" else self.binary, dest)
            else:
                check(len(c["sources"]) == 1, f"one source per COPY expected: {c}")
                shutil.copytree(os.path.join(ROOT, c["sources"][0]), dest, symlinks=True)
            self.image_paths.append((c["dest"].rstrip("/"), dest))
        user = df["users"].get(df["user"])
        check(user is not None and user["uid"] is not None and user["gid"] is not None,
              f"USER {df['user']} is not created with a fixed --uid and --gid")
        self.uid, self.gid, self.home, self.home_mode = user["uid"], user["gid"], user["home"], user["mode"]
        # Folders a container writes (the home, WORKDIR) get a fresh copy per container or their volume.
        self.writable = sorted({self.home, df["workdir"]}, key=len, reverse=True)

    def mkdir_owned(self, path, mode):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        if self.is_root:
            os.chown(path, self.uid, self.gid)

    # -- per-container filesystem, environment and command line

    def secret_files(self, container, service):
        run_secrets = os.path.join(container.dir, "run", "secrets")
        os.makedirs(run_secrets, mode=0o755, exist_ok=True)
        mounted = {}
        for entry in service.get("secrets", []):
            source, target = (entry, entry) if isinstance(entry, str) else (entry["source"], entry.get("target", entry["source"]))
            if isinstance(entry, dict) and any(k in entry for k in ("uid", "gid", "mode")):
                self.notes.append(f"{container.name}: secret {source} sets uid/gid/mode, which Compose ignores for file secrets")
            spec = self.compose["secrets"][source]
            check("file" in spec, f"secret {source} is not a file secret")
            host = os.path.normpath(os.path.join(DOCKER, spec["file"]))
            rel = os.path.relpath(host, os.path.join(DOCKER, "secrets"))
            check(not rel.startswith(".."), f"secret {source} is not in docker/secrets")
            generated = os.path.join(self.secrets, rel)
            check(os.path.exists(generated), f"docker/make-secrets did not write {rel} (secret {source})")
            in_container = target if target.startswith("/") else f"/run/secrets/{target}"
            dest = os.path.join(container.dir, in_container.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(generated, dest)  # content, mode; the owner stays the host user's (here: whoever runs this)
            mounted[in_container] = dest
        container.paths.append(("/run/secrets", run_secrets))
        return mounted

    def filesystem(self, container, service):
        self.secret_files(container, service)
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith(".") or source.startswith("/"):
                container.paths.append((target, os.path.normpath(os.path.join(DOCKER, source))))
            else:
                check(source in (self.compose.get("volumes") or {}), f"volume {source} is not declared")
                folder = os.path.join(self.tmp, "volumes", source)
                if not os.path.exists(folder):
                    # A new named volume starts as a copy of the image folder it is mounted on (owner and mode).
                    self.mkdir_owned(folder, self.home_mode if target == self.home else 0o755)
                container.paths.append((target, folder))
        for folder in self.writable:
            if not any(folder == p or folder.startswith(p + "/") for p, _ in container.paths):
                copy = os.path.join(container.dir, folder.lstrip("/"))
                self.mkdir_owned(copy, self.home_mode if folder == self.home else 0o755)
                container.paths.append((folder, copy))
        container.paths += self.image_paths
        container.paths.sort(key=lambda p: len(p[0]), reverse=True)

    def rewrite(self, container, value):
        value = str(value)
        for (service, cport), hport in self.published.items():
            value = re.sub(rf"(?<=[/@]){re.escape(service)}:{cport}(?=[/?#]|$)", f"127.0.0.1:{hport}", value)
        for cport, hport in container.ports.items():
            value = re.sub(rf"\b(127\.0\.0\.1|localhost):{cport}\b", f"127.0.0.1:{hport}", value)
            if value == str(cport):
                value = str(hport)
        if value == "0.0.0.0":
            value = "127.0.0.1"
        for prefix, folder in container.paths:
            if value == prefix or value.startswith(prefix + "/"):
                return folder + value[len(prefix):]
        for service in self.compose["services"]:
            check(not re.search(rf"//([^/@]*@)?{re.escape(service)}(:|/|$)", value),
                  f"{container.name}: {value!r} names service {service} on a port it does not listen on")
        if value.startswith("/") and not re.search(r"[\s:]", value):
            check(os.path.exists(value), f"{container.name}: {value} is neither created by the Dockerfile nor on this host")
        return value

    def container_ports(self, service):
        """The ports a container of this image listens on: EXPOSE, compose expose, the container side of ports."""
        return sorted(set(self.dockerfile["expose"]) | {int(str(p).split(":")[-1]) for p in service.get("ports", [])}
                      | {int(p) for p in service.get("expose", [])})

    def prepare(self, name, service_name, service, replica):
        container = Container(name, service_name, os.path.join(self.tmp, "containers", name))
        os.makedirs(container.dir, mode=0o755)
        os.chmod(container.dir, 0o755)
        for port in self.container_ports(service):
            container.ports[port] = self.published.get((service_name, port)) or free_port()
        self.filesystem(container, service)
        df = self.dockerfile
        env = {"PATH": DEFAULT_PATH, "HOSTNAME": name, "HOME": self.home}
        env.update(df["env"])
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        env.update({k: "" if v is None else str(v) for k, v in environment.items()})
        entrypoint = service.get("entrypoint", df["entrypoint"])
        command = service.get("command", df["cmd"])
        argv = list(entrypoint) + list(command)
        if argv[0] == "/usr/bin/tini":
            if os.path.exists("/usr/bin/tini"):
                # PID 1 in the container; here it reaps its descendants as a registered child subreaper instead.
                env["TINI_SUBREAPER"] = "1"
            else:
                # tini forwards SIGTERM to its child and exits with its status; without it here, the child runs
                # directly.
                argv = argv[2:] if argv[1] == "--" else argv[1:]
                self.notes.append("tini is not installed here (apt-get install tini): the entrypoint's child runs directly")
        container.env = {k: self.rewrite(container, v) for k, v in env.items()}
        container.argv = [self.rewrite(container, a) for a in argv]
        container.command = list(command)
        container.workdir = self.rewrite(container, df["workdir"])
        container.healthcheck = service.get("healthcheck") or df["healthcheck"]
        container.grace = duration(service.get("stop_grace_period"), COMPOSE_DEFAULT_GRACE)
        if "run" in container.argv and "--config" in container.argv:
            # The drain on SIGTERM must fit in the grace period, or docker compose stop SIGKILLs a draining worker.
            config = yaml.safe_load(open(container.argv[container.argv.index("--config") + 1])) or {}
            drain = float(container.env.get("BREAKGLASS_WORKER_DRAIN_SECONDS") or (config.get("worker") or {}).get("drain_seconds", 30))
            check(container.grace > drain, f"{name}: stop_grace_period {container.grace:.0f} s is not above worker.drain_seconds {drain:.0f} s")
        self.containers.append(container)
        return container

    def start(self, container):
        prefix = []
        if self.is_root:
            prefix = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]
        else:
            self.notes.append(f"not root: containers run as uid {os.getuid()}, not {self.uid}")
        log = open(container.log, "w")
        container.process = subprocess.Popen(prefix + container.argv, env=container.env, cwd=container.workdir,
                                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
        log.close()

    def health_probe(self, container):
        test = container.healthcheck["test"]
        check(test[0] == "CMD", f"{container.name}: only exec-form health checks are reproduced ({test})")
        argv = [self.rewrite(container, a) for a in test[1:]]
        timeout = duration(container.healthcheck.get("timeout"), 30)

        def probe():
            try:
                return run(argv, timeout, env=container.env).returncode == 0
            except subprocess.TimeoutExpired:
                return False
        return probe

    def wait_healthy(self, container):
        hc = container.healthcheck
        budget = duration(hc.get("start_period"), 0) + duration(hc.get("interval"), 30) * int(hc.get("retries") or 3)
        wait_for(f"{container.name} to be healthy ({' '.join(hc['test'][1:])})", time.monotonic() + budget,
                 self.health_probe(container), container, interval=0.5)

    # -- the broker

    def start_broker(self, name, service):
        container = Container(name, name, os.path.join(self.tmp, "containers", name))
        os.makedirs(container.dir)
        container.ports = {5672: self.published[(name, 5672)]}
        mounted = self.secret_files(container, service)
        conf_path = None
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if target.startswith("/etc/rabbitmq/conf.d/"):
                conf_path = os.path.join(DOCKER, source)
        check(conf_path and os.path.exists(conf_path), "the rabbitmq service mounts no conf.d file")
        conf = dict(re.findall(r"^\s*([a-z_.]+)\s*=\s*(\S+)\s*$", open(conf_path).read(), re.M))
        check(conf.get("definitions.import_backend") == "local_filesystem", "the broker does not import definitions from a file")
        definitions = mounted.get(conf.get("definitions.local.path"))
        check(definitions, f"definitions.local.path {conf.get('definitions.local.path')} is not a secret of the rabbitmq service")
        check(os.stat(definitions).st_mode & 0o004, "RabbitMQ (uid 999 in its image) cannot read the definitions secret (not world-readable)")
        # Under scripts/test, in its temp folder: its cleanup also stops the node if this script was killed.
        self.rabbit_dir = tempfile.mkdtemp(prefix="compose-rabbit.", dir=os.environ.get("BREAKGLASS_TEST_TMP") or self.tmp)
        result = run([os.path.join(ROOT, "scripts", "rabbitmq-node"), "start", self.rabbit_dir, str(container.ports[5672])], 120)
        check(result.returncode == 0, f"the private RabbitMQ node did not start:\n{result.stdout}")
        # A blank node that imports definitions at boot creates no default user: remove the one this node made.
        for argv in (["delete_user", "guest"], ["import_definitions", definitions]):
            result = run([os.path.join(ROOT, "scripts", "rabbitmq-node"), "ctl", self.rabbit_dir] + argv, 60)
            check(result.returncode == 0, f"rabbitmqctl {' '.join(argv)} failed:\n{result.stdout}")
        node = dict(line.split("=", 1) for line in open(os.path.join(self.rabbit_dir, "node.env")).read().split())["RABBITMQ_NODENAME"]
        test = service["healthcheck"]["test"]
        check(test[0] == "CMD" and test[1].startswith("rabbitmq-"), f"unexpected broker health check {test}")
        argv = [os.path.join(RMQ_BIN, test[1]), "-n", node] + test[2:]
        wait_for("rabbitmq to be healthy", time.monotonic() + 60, lambda: run(argv, 30).returncode == 0)

    # -- the flow

    def main(self):
        say(f"binary {self.binary}; temp {self.tmp}")
        check(os.access(self.binary, os.X_OK), f"no breakglass binary at {self.binary}")
        self.compose = yaml.safe_load(open(os.path.join(DOCKER, "compose.yaml")))
        self.dockerfile = parse_dockerfile(os.path.join(DOCKER, "Dockerfile"))
        self.static_checks()

        self.secrets = os.path.join(self.tmp, "secrets")
        result = run([os.path.join(DOCKER, "make-secrets"), self.secrets], 60)
        check(result.returncode == 0, f"docker/make-secrets failed:\n{result.stdout}")
        check(os.stat(self.secrets).st_mode & 0o077 == 0, "docker/make-secrets left its folder open to other users")
        say("docker/make-secrets wrote the secrets")
        self.build_image()

        services = self.compose["services"]
        order, seen = [], set()

        def visit(name):
            if name not in seen:
                seen.add(name)
                for dep in services[name].get("depends_on") or {}:
                    visit(dep)
                order.append(name)
        for name in services:
            visit(name)
        # Published container ports of every service (what other containers reach by service name).
        # (A replicated service has no single address: its replicas get their own ports in prepare().)
        self.published = {}
        for name, service in services.items():
            if is_broker(service):
                self.published[(name, 5672)] = free_port()
            elif int((service.get("deploy") or {}).get("replicas", 1)) == 1:
                for port in self.container_ports(service):
                    self.published[(name, port)] = free_port()
        self.workers = []
        for name in order:
            service = services[name]
            for dep, condition in (service.get("depends_on") or {}).items():
                check((condition or {}).get("condition") == "service_healthy", f"{name} starts before {dep} is healthy")
            if is_broker(service):
                self.start_broker(name, service)
                self.broker = name
                say(f"{name}: private node on 127.0.0.1:{self.published[(name, 5672)]}, definitions imported, healthy")
                continue
            check(service.get("build", {}).get("dockerfile") == "docker/Dockerfile", f"service {name}: unknown image")
            replicas = int((service.get("deploy") or {}).get("replicas", 1))
            started = []
            for n in range(1, replicas + 1):
                container = self.prepare(f"{name}-{n}", name, service, n)
                self.start(container)
                started.append(container)
            for container in started:
                self.wait_healthy(container)
                say(f"{container.name}: healthy ({' '.join(container.command[:1])}; container port -> here {container.ports})")
            if name == "simulator":
                self.simulator = started[0]
            if "run" in started[0].argv:
                self.workers += started
        check(self.workers, "no worker service")
        self.grant_end_to_end()
        self.stop_services()

    def secret(self, name):
        return open(os.path.join(self.secrets, name)).read().strip()

    def control(self, method, path, body=None):
        """The simulator's control API (its port published on 127.0.0.1, the generated control token)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.simulator.ports[8080]}/control/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.secret('control_token')}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def publish(self, name):
        """The escalation system: the demo's request `name` (times filled in), signed with the generated key and
        published as broker user `escalation`."""
        item = next(i for i in json.load(open(os.path.join(ROOT, "config", "demo", "requests.json")))["items"]
                    if i["name"] == name)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        body = json.dumps(item["body"], separators=(",", ":")) \
            .replace("$ENQUEUED_AT", now.strftime("%Y-%m-%dT%H:%M:%SZ")) \
            .replace("$NOT_AFTER", (now + datetime.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        request = os.path.join(self.tmp, f"{name}.json")
        open(request, "w").write(body)
        seed = next(f for f in os.listdir(self.secrets) if f.endswith(".seed"))
        result = run([self.binary, "enqueue", request, "--key", os.path.join(self.secrets, seed),
                      "--url", f"amqp://escalation@127.0.0.1:{self.published[(self.broker, 5672)]}/",
                      "--password-file", os.path.join(self.secrets, "escalation_amqp_password")], 60)
        check(result.returncode == 0, f"enqueue as the escalation user failed:\n{result.stdout}")
        case, tenant = item["body"]["case_id"], item["body"]["tenant"]["id"]
        say(f"enqueued {case}/{tenant} as user escalation, signed with {seed}")
        return case, tenant

    def terminal_event(self, case, tenant, seconds):
        """The first outcome or halted event of case/tenant on breakglass.events (others are shown and skipped)."""
        def probe():
            method, _props, raw = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.2)
                return None
            event = json.loads(raw)
            kind = event["type"].rsplit(".", 1)[-1]
            data = event.get("data") or {}
            say(f"event {kind} {event.get('subject')} {data.get('result', '')} {','.join(data.get('reasons') or [])}")
            if event.get("subject") == f"{case}/{tenant}" and kind in ("outcome", "halted"):
                return event
            return None
        return wait_for(f"the outcome of {case}/{tenant}", time.monotonic() + seconds, probe, interval=0)

    def grant_end_to_end(self):
        # An incident bot's view, read as broker user `admin`, bound before anything is published.
        params = pika.ConnectionParameters(host="127.0.0.1", port=self.published[(self.broker, 5672)], heartbeat=30,
                                           credentials=pika.PlainCredentials("admin", self.secret("rabbitmq_admin_password")))
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, "breakglass.events", routing_key="#")

        t = time.monotonic()
        case, tenant = self.publish("grant-acme")
        event = self.terminal_event(case, tenant, 60)
        check(event["type"].endswith(".outcome") and event["data"].get("result") == "granted",
              f"expected granted, got {json.dumps(event)}")
        say(f"granted {time.monotonic() - t:.1f} s after the enqueue")
        grants = self.control("GET", f"grants?tenant_id={tenant}")
        check(grants.get("total") == 1, f"the console should count one grant for {tenant}: {json.dumps(grants.get('counts'))}")
        say(f"the console counts {grants['total']} grant for {tenant}")

    def stop_services(self):
        # `docker compose stop`: dependants first; SIGTERM, SIGKILL after stop_grace_period. The workers are stopped
        # with a request in flight (the console answers every page 1 s late): they must drain it to its end, publish
        # its event and exit 0 within their grace period. (The compose fixtures pre-select a scope this case did not
        # approve, so it ends halted CONSOLE_SCOPE_DRIFT; past worker.drain_seconds it would be halted as well.)
        self.control("PUT", "faults/tenants/tnt-7b21d0", {"page_delay_ms": 1000})
        case, tenant = self.publish("grant-globex")

        def in_flight():
            return any("console flow started" in line and case in line
                       for c in self.workers for line in open(c.log, errors="replace"))
        wait_for(f"a worker to start the console flow of {case}/{tenant}", time.monotonic() + 60, in_flight)
        for group in (self.workers, [self.simulator]):
            t = time.monotonic()
            for container in group:
                container.process.send_signal(signal.SIGTERM)
            for container in group:
                try:
                    rc = container.process.wait(timeout=max(0.1, container.grace - (time.monotonic() - t)))
                except subprocess.TimeoutExpired:
                    raise Failure(f"{container.name} did not stop within its stop_grace_period {container.grace:.0f} s")
                say(f"{container.name}: SIGTERM -> exit {rc} after {time.monotonic() - t:.1f} s (grace {container.grace:.0f} s)")
                if container in self.workers:
                    check(rc == 0, f"{container.name} exited {rc} on SIGTERM")
            if group is self.workers:
                event = self.terminal_event(case, tenant, 5)
                kind = event["type"].rsplit(".", 1)[-1]
                check(kind == "halted" or event["data"].get("result") == "granted",
                      f"the request in flight at SIGTERM should end granted or halted, got {json.dumps(event)}")
                say(f"the request in flight at SIGTERM ended {event['data'].get('result') or kind} "
                    f"{','.join(event['data'].get('reasons') or [])}; its event was published before the exit")
        self.connection.close()

    def cleanup(self):
        # Whatever still runs (a failure or an interruption): SIGTERM to every container's process group at once
        # (dependants first), SIGKILL to the groups still there after 10 s.
        running = [c.process for c in reversed(self.containers) if c.process is not None and c.process.poll() is None]
        for p in running:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for p in running:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in running:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # also the group's browsers left behind by a stopped worker
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.rabbit_dir and os.path.exists(os.path.join(self.rabbit_dir, "node.env")):
            run([os.path.join(ROOT, "scripts", "rabbitmq-node"), "stop", self.rabbit_dir], 60)
        if self.keep:
            say(f"kept {self.tmp} (broker: {self.rabbit_dir})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if self.rabbit_dir:
                shutil.rmtree(self.rabbit_dir, ignore_errors=True)


def default_binary():
    if os.environ.get("BREAKGLASS_BIN"):
        return os.environ["BREAKGLASS_BIN"]
    folder = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True).stdout.strip()
    return os.path.join(folder, "breakglass")


def main(argv):
    binary, keep = None, False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--bin":
            binary = args.pop(0)
        elif arg == "--keep":
            keep = True
        else:
            print("usage: compose_e2e.py [--bin BREAKGLASS] [--keep]", file=sys.stderr)
            return 2
    def interrupted(*_):
        raise KeyboardInterrupt()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, interrupted)
    test = ComposeRun(os.path.abspath(binary or default_binary()), keep)
    passed = False
    try:
        test.main()
        passed = True
    except (Failure, subprocess.TimeoutExpired, OSError, KeyError, ValueError, pika.exceptions.AMQPError) as error:
        say(f"FAILED: {type(error).__name__}: {error}")
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        if not passed:
            for container in test.containers:
                print(f"---- {container.name} (last lines of {container.log})\n{container.tail()}", end="")
            if test.rabbit_dir:
                for log in sorted(os.listdir(os.path.join(test.rabbit_dir, "log"))) if os.path.isdir(os.path.join(test.rabbit_dir, "log")) else []:
                    print(f"---- rabbitmq {log}")
                    print("".join(open(os.path.join(test.rabbit_dir, "log", log), errors="replace").readlines()[-15:]), end="")
        test.cleanup()
    for note in dict.fromkeys(test.notes):
        say(f"note: {note}")
    say(f"took {time.monotonic() - T0:.1f} s")
    print(f"compose: {1 if passed else 0} passed, {0 if passed else 1} failed")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
