#!/usr/bin/env python3
"""Browser CPU per WebDriver operation, for two sets of Chromium options side by side (issue 21.4).

  bench/worker/chromium_flags.py [--seconds 4] [--rounds 2]

Starts a local page server and one chromedriver per option set, and for each set measures, over `--seconds` each:
a button press that posts a form and loads the next page (the console's every screen), a navigation, a script call
(`execute/sync`), a screenshot (1280x1024) and typing 64 characters (find, clear, send keys). CPU is that of
chromedriver and every browser process it started, read from a cgroup (v1 cpuacct or v2) that contains them, so
renderers that exit are counted too. Needs root (it creates the cgroups). Prints ms of CPU and of wall time per
operation. Option sets: `script` (the hand-written script's flags, webdriver_flow.CHROMIUM_ARGS) and `worker`
(WORKER_CHROMIUM_ARGS/PREFS, the worker's defaults).
"""
import argparse
import http.client
import http.server
import os
import pathlib
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts" / "lib"))
import webdriver_flow  # noqa: E402
from harness import free_port, http_status, wait_until  # noqa: E402

PAGE = (b"<!doctype html><html><head><title>t</title><style>body{font-family:sans-serif}</style></head><body>"
        b"<main data-screen=x><h1>Screen</h1><form method=post action=/next><input id=a name=a>"
        b"<input type=password id=pw name=pw><button id=n>Next</button></form></main></body></html>")


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/favicon"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(303)
        self.send_header("Location", "/p")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class CPUGroup:
    """A cgroup holding one process tree; usage() in ns, exited members included."""
    made = 0

    def __init__(self, name):
        v1 = pathlib.Path("/sys/fs/cgroup/cpuacct")
        CPUGroup.made += 1
        self.path = (v1 if v1.is_dir() else pathlib.Path("/sys/fs/cgroup")) / \
            f"breakglass-{name}-{os.getpid()}-{CPUGroup.made}"
        self.v1 = v1.is_dir()
        self.path.mkdir()

    def usage(self):
        if self.v1:
            return int((self.path / "cpuacct.usage").read_text())
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) * 1000

    def remove(self):
        """Waits (10 s at most) for the browser's processes to leave, kills what is left, removes the group."""
        def members():
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        try:
            wait_until(lambda: not members(), 10, what="the browser's processes to exit")
        except Exception:
            for pid in members():
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            wait_until(lambda: not members(), 10, what="the browser's processes to be killed")
        self.path.rmdir()


def measure(name, args, prefs, page, seconds, exclude=None):
    group = CPUGroup(name)
    port = free_port()
    driver = subprocess.Popen(["sh", "-c", f"echo $$ > {group.path}/cgroup.procs; exec chromedriver --port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: http_status(f"http://127.0.0.1:{port}/status") == 200, 30, what="chromedriver")
        session = webdriver_flow.Session(f"http://127.0.0.1:{port}", args=args, prefs=prefs,
                                          exclude=exclude)
        try:
            session.navigate(page)
            results = {}
            operations = {
                "press + page load": lambda i: press(session),
                "navigation": lambda i: session.navigate(f"{page}?{i}"),
                "script call": lambda i: session.script("return 1"),
                "screenshot": lambda i: session.cmd("GET", "/screenshot"),
                "type 64 chars": lambda i: type64(session),
            }
            for label, operation in operations.items():
                used, started, count = group.usage(), time.monotonic(), 0
                while time.monotonic() - started < seconds:
                    operation(count)
                    count += 1
                results[label] = ((group.usage() - used) / 1e6 / count, (time.monotonic() - started) * 1000 / count)
            return results
        finally:
            session.delete()
    finally:
        driver.terminate()
        driver.wait(timeout=30)
        group.remove()


def press(session):
    deadline = time.monotonic() + 10
    while True:
        try:
            session.click("#n")
            return
        except webdriver_flow.WebDriverFailure:
            if time.monotonic() > deadline:
                raise


def type64(session):
    element = session.find("#a")
    session.cmd("POST", f"/element/{element}/clear")
    session.cmd("POST", f"/element/{element}/value", {"text": "0123456789abcdef" * 4})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                        help="also measure the worker's options plus FLAGS (space-separated; '!switch' removes one "
                             "of chromedriver's default switches through excludeSwitches, '-flag' drops a worker flag)")
    parser.add_argument("--only-variants", action="store_true", help="measure the worker's set and the variants only")
    options = parser.parse_args()
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = f"http://127.0.0.1:{port}/p"
    sets = {"script": (webdriver_flow.CHROMIUM_ARGS, None),
            "worker": (webdriver_flow.WORKER_CHROMIUM_ARGS, webdriver_flow.WORKER_CHROMIUM_PREFS)}
    if options.only_variants:
        del sets["script"]
    excludes = {}
    for variant in options.variant:
        name, _, flags = variant.partition("=")
        words = flags.split()
        dropped = {w[1:] for w in words if w.startswith("-") and not w.startswith("--")}
        args = [a for a in webdriver_flow.WORKER_CHROMIUM_ARGS if a not in dropped]
        args += [w for w in words if w.startswith("--")]
        sets[name] = (args, webdriver_flow.WORKER_CHROMIUM_PREFS)
        excludes[name] = [w[1:] for w in words if w.startswith("!")]
    print(f"browser CPU per operation (ms CPU / ms wall), {options.seconds:g} s each, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    for round_ in range(options.rounds):
        for name, (args, prefs) in sets.items():
            results = measure(name, args, prefs, page, options.seconds, excludes.get(name))
            print(f"  round {round_ + 1} {name:10s} " + " | ".join(
                f"{label} {cpu:6.1f} / {wall:5.1f}" for label, (cpu, wall) in results.items()), flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
