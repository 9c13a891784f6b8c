"""scripts/lib/harness.py without services: the free-port rule, waiting with a deadline, the queue-depth parser, the
command lines, the environment of a worker, read-only ledger reads, HTTP status polling. Standard library only."""
import http.server
import pathlib
import random
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import harness  # noqa: E402


class FreePortTests(unittest.TestCase):
    def test_reads_the_ephemeral_range_and_falls_back_to_32768(self):
        with tempfile.TemporaryDirectory() as tmp:
            ranges = pathlib.Path(tmp) / "ip_local_port_range"
            ranges.write_text("40000\t60999\n")
            self.assertEqual(harness.ephemeral_low(ranges), 40000)
            ranges.write_text("garbage\n")
            self.assertEqual(harness.ephemeral_low(ranges), 32768)
            self.assertEqual(harness.ephemeral_low(pathlib.Path(tmp) / "missing"), 32768)

    def test_port_is_below_the_ephemeral_range_within_12000_and_bindable(self):
        for low in (32768, 40000, 13000):
            port = harness.free_port(low=low)
            self.assertGreaterEqual(port, max(1025, low - 12000))
            self.assertLess(port, low)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port))  # free: binds

    def test_never_below_1025(self):
        port = harness.free_port(low=1500)
        self.assertTrue(1025 <= port < 1500, port)

    def test_skips_a_port_in_use(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            taken = busy.getsockname()[1]
            low = taken + 1

            class Scripted:
                """Answers the busy port three times first, then at random."""
                answers = [taken, taken, taken]

                def randint(self, first, last):
                    return self.answers.pop(0) if self.answers else random.randint(first, last)

            scripted = Scripted()
            port = harness.free_port(low=low, rng=scripted)
            self.assertEqual(scripted.answers, [])  # the busy port was tried, and passed over
            self.assertNotEqual(port, taken)
            self.assertTrue(max(1025, low - 12000) <= port < low, port)

    def test_does_not_hand_out_a_port_twice(self):
        ports = [harness.free_port() for _ in range(30)]
        self.assertEqual(len(ports), len(set(ports)))

    def test_empty_range_falls_back_to_a_kernel_port(self):
        port = harness.free_port(low=1025)
        self.assertGreater(port, 0)


class WaitTests(unittest.TestCase):
    def test_deadline_raises(self):
        started = time.monotonic()
        with self.assertRaises(harness.WaitTimeout) as raised:
            harness.wait_until(lambda: False, 0.2, interval=0.01, what="nothing")
        self.assertIn("timed out after 0.2 s waiting for nothing", str(raised.exception))
        self.assertLess(time.monotonic() - started, 5)
        self.assertIsInstance(raised.exception, RuntimeError)  # callers that catch RuntimeError still do

    def test_returns_the_first_true_value(self):
        calls = []

        def predicate():
            calls.append(1)
            return "ready" if len(calls) >= 3 else None

        self.assertEqual(harness.wait_until(predicate, 5, interval=0.001), "ready")
        self.assertEqual(len(calls), 3)

    def test_abort_ends_the_wait_with_its_message(self):
        with self.assertRaises(harness.WaitAborted) as raised:
            harness.wait_until(lambda: False, 30, interval=0.001, abort=lambda: "worker exited (1)")
        self.assertEqual(str(raised.exception), "worker exited (1)")

    def test_poll_until_answers_false_at_the_deadline(self):
        self.assertFalse(harness.poll_until(lambda: False, 0.05, interval=0.01))
        self.assertEqual(harness.poll_until(lambda: 7, 0.05), 7)


class CommandTests(unittest.TestCase):
    def test_queue_depths(self):
        text = ("Timeout: 60.0 seconds ...\nListing queues for vhost / ...\nname\tmessages\tmessages_unacknowledged\n"
                "breakglass.restorations\t0\t0\nbreakglass.dead\t12\t0\nchaos.events\t3\t1\n")
        self.assertEqual(harness.parse_queue_depths(text), {"breakglass.restorations": (0, 0),
                                                            "breakglass.dead": (12, 0), "chaos.events": (3, 1)})

    def test_enqueue_command(self):
        self.assertEqual(harness.enqueue_command("/bin/bg", ["a.json", "b.json"], "amqp://h/", key="k.seed"),
                         ["/bin/bg", "enqueue", "a.json", "b.json", "--url", "amqp://h/", "--key", "k.seed"])
        self.assertEqual(harness.enqueue_command("/bin/bg", ["a.json"], "amqp://h/", unsigned=True),
                         ["/bin/bg", "enqueue", "a.json", "--url", "amqp://h/", "--unsigned"])
        self.assertEqual(harness.enqueue_command(pathlib.Path("/bin/bg"), [pathlib.Path("x.jsonl")], "amqp://h/",
                                                 key=pathlib.Path("k.seed"), window=1000),
                         ["/bin/bg", "enqueue", "x.jsonl", "--url", "amqp://h/", "--key", "k.seed", "--window", "1000"])

    def test_simulator_command(self):
        self.assertEqual(harness.simulator_command("bg", 4100, "f.json", "s.token", "c.token"),
                         ["bg", "sim", "--port", "4100", "--fixtures", "f.json", "--token-file", "s.token",
                          "--control-token-file", "c.token"])

    def test_rabbit_node_command_line(self):
        node = harness.RabbitNode("/tmp/some-node", script="/bin/echo")
        result = node.ctl("list_queues", "name", capture_output=True, text=True)
        self.assertEqual(result.stdout.split(), ["ctl", "/tmp/some-node", "list_queues", "name"])

    def test_worker_environment(self):
        settings = harness.worker_settings("amqp://x/", "t.json", "l.sqlite", "ev", "http://s", "s.token",
                                           "http://c", "c.password")
        self.assertEqual(sorted(settings), sorted([
            "BREAKGLASS_AMQP_URL", "BREAKGLASS_WORKER_TRUSTED_KEYS_FILE", "BREAKGLASS_LEDGER_PATH",
            "BREAKGLASS_EVIDENCE_DIR", "BREAKGLASS_SOURCES_BASE_URL", "BREAKGLASS_SOURCES_TOKEN_FILE",
            "BREAKGLASS_CONSOLE_URL", "BREAKGLASS_CONSOLE_PASSWORD_FILE"]))
        environment = harness.worker_environment({"BREAKGLASS_WORKER_ID": "w-1", **settings},
                                                 base={"PATH": "/bin", "BREAKGLASS_CRASH_AT": "after-ack"},
                                                 drop=("BREAKGLASS_CRASH_AT",))
        self.assertEqual(environment["PATH"], "/bin")
        self.assertEqual(environment["BREAKGLASS_WORKER_ID"], "w-1")
        self.assertNotIn("BREAKGLASS_CRASH_AT", environment)


class LedgerTests(unittest.TestCase):
    def test_read_ledger_read_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "ledger.sqlite"
            db = sqlite3.connect(path)
            db.execute(f"CREATE TABLE restorations ({', '.join(harness.RESTORATION_COLUMNS)}, owner)")
            db.execute(f"CREATE TABLE takeovers ({', '.join(harness.TAKEOVER_COLUMNS)}, record)")
            db.execute(f"CREATE TABLE outbox ({', '.join(harness.OUTBOX_COLUMNS)})")
            db.execute("INSERT INTO restorations (case_id, tenant_id, state, epoch, resume_count) "
                       "VALUES ('CASE-1', 'tnt-1', 'granted', 2, 0)")
            db.execute("INSERT INTO outbox (event_id, case_id, tenant_id, published_at) VALUES ('e1', 'CASE-1', 'tnt-1', NULL)")
            db.commit()
            db.close()
            tables = harness.read_ledger(path)
            self.assertEqual(tables["restorations"][0]["state"], "granted")
            self.assertEqual(tables["restorations"][0]["epoch"], 2)
            self.assertEqual(tables["takeovers"], [])
            self.assertIsNone(tables["outbox"][0]["published_at"])
            self.assertEqual(harness.ledger_query(path, "SELECT epoch FROM restorations WHERE case_id = ?",
                                                  ("CASE-1",)), [(2,)])
            with self.assertRaises(sqlite3.OperationalError):  # read-only
                harness.ledger_query(path, "DELETE FROM restorations")

    def test_missing_ledger_raises(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(sqlite3.Error):
                harness.read_ledger(pathlib.Path(tmp) / "none.sqlite")
            self.assertFalse((pathlib.Path(tmp) / "none.sqlite").exists())


class HTTPTests(unittest.TestCase):
    def test_status_of_a_local_server_and_of_nothing(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/readyz" else 503)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            self.assertEqual(harness.http_status(f"http://127.0.0.1:{port}/other"), 503)
            self.assertTrue(harness.ready(port))
        finally:
            server.shutdown()
            server.server_close()
        self.assertIsNone(harness.http_status(f"http://127.0.0.1:{port}/readyz", timeout=1))
        self.assertFalse(harness.ready(port, timeout=1))


if __name__ == "__main__":
    unittest.main()
