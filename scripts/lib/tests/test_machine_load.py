"""bench/machine_load.py: the refusal rule on made-up loads (pure), the /proc parsing on a fake /proc, and the sampler
on a real busy-loop child, counted as foreign when it is not ours and as ours when it is (also after it exited and
was reaped). Standard library only; about 3 s on a quiet machine (three intervals of 0.6 s of busy-loop CPU each)."""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))
import machine_load  # noqa: E402

BUSY_LOOP = """
import sys, time
print("spinning", flush=True)
limit = float(sys.argv[1])  # CPU seconds to burn, then exit (0: until killed)
while limit <= 0 or time.process_time() < limit:
    pass
print(time.process_time(), flush=True)
"""


def load(foreign, **extra):
    return {"wall_s": 1.0, "cores": 2, "busy_cores": 1.0, "bench_cores": 1.0, "foreign_cores": foreign, **extra}


class RefusalTests(unittest.TestCase):
    def test_quiet_sides_are_not_refused(self):
        self.assertIsNone(machine_load.refusal({"worker": load(0.1), "raw C": load(0.5)}, threshold=0.5))

    def test_a_busy_side_refuses_and_is_named(self):
        reason = machine_load.refusal({"worker": load(0.1), "raw C": load(0.9)}, threshold=0.5)
        self.assertEqual(reason, "machine busy: 0.9 cores used by other processes during raw C")

    def test_either_side_counts_and_the_worst_is_named_first(self):
        reason = machine_load.refusal({"worker": load(0.7), "raw C": load(1.04)}, threshold=0.5)
        self.assertEqual(reason, "machine busy: 1.04 cores used by other processes during raw C (also 0.7 during worker)")
        self.assertIn("during script", machine_load.refusal({"worker": load(0), "script": load(0.51)}, threshold=0.5))

    def test_unknown_load_does_not_refuse(self):
        self.assertIsNone(machine_load.refusal({"worker": None, "raw C": load(None)}, threshold=0.5))
        self.assertIsNone(machine_load.refusal({}, threshold=0.5))

    def test_combined_rounds_are_judged_by_the_worst_round(self):
        rounds = [load(0.1, wall_s=9.0), load(0.9, wall_s=1.0)]
        combined = machine_load.combine(rounds)
        self.assertEqual(combined["foreign_cores"], 0.18)  # wall-weighted mean
        self.assertEqual(combined["foreign_cores_max"], 0.9)
        self.assertEqual(combined["intervals"], 2)
        self.assertIn("0.9 cores", machine_load.refusal({"worker": combined}, threshold=0.5))
        self.assertIsNone(machine_load.combine([None, {}]))
        self.assertEqual(machine_load.combine([load(0.2)]), load(0.2))

    def test_threshold_from_the_environment(self):
        self.assertEqual(machine_load.foreign_threshold({}), 0.5)
        self.assertEqual(machine_load.foreign_threshold({"BREAKGLASS_BENCH_FOREIGN_CORES": "1.5"}), 1.5)
        self.assertEqual(machine_load.foreign_threshold({"BREAKGLASS_BENCH_FOREIGN_CORES": " "}), 0.5)
        for bad in ("many", "-1", "nan", "inf"):
            with self.assertRaises(ValueError):
                machine_load.foreign_threshold({"BREAKGLASS_BENCH_FOREIGN_CORES": bad})
        previous = os.environ.get("BREAKGLASS_BENCH_FOREIGN_CORES")
        os.environ["BREAKGLASS_BENCH_FOREIGN_CORES"] = "1.0"
        try:
            self.assertIsNone(machine_load.refusal({"raw C": load(0.9)}))  # the default threshold is the variable
        finally:
            if previous is None:
                del os.environ["BREAKGLASS_BENCH_FOREIGN_CORES"]
            else:
                os.environ["BREAKGLASS_BENCH_FOREIGN_CORES"] = previous


class SummaryTests(unittest.TestCase):
    """bench/summary.py applies the rule: a refused ratio keeps its values, has ratio/met null and says why."""

    def summarize(self, threshold=None):
        with tempfile.TemporaryDirectory() as tmp:
            results = pathlib.Path(tmp)
            (results / "duplicate_path.json").write_text(json.dumps({
                "prefetch": 64, "worker_msgs_per_s": 3000.0, "raw_c_msgs_per_s": 20000.0,
                "load": {"worker": load(0.1), "raw_c": machine_load.combine([load(0.2), load(0.9)])}}))
            (results / "startup.json").write_text(json.dumps({
                "runs": 2, "start_to_ready_ms_median": 200.0, "start_to_ready_ms_max": 250.0, "load": load(1.5)}))
            (results / "gate_path.json").write_text(json.dumps({  # an older file: no load recorded
                "in_flight": 16, "requests_per_s": 100.0, "latency_ms": {"p99": 120.0}}))
            environment = {"PATH": tmp}  # no `swift` to ask for its version
            if threshold is not None:
                environment["BREAKGLASS_BENCH_FOREIGN_CORES"] = threshold
            out = subprocess.run([sys.executable, str(ROOT / "bench/summary.py"), str(results)], env=environment,
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return json.loads((results / "summary.json").read_text()), out.stdout

    def test_a_busy_side_refuses_the_ratio_and_other_figures_carry_their_load(self):
        summary, table = self.summarize()
        duplicate = summary["figures"]["duplicate_path_vs_c"]
        self.assertEqual(duplicate["value"], 3000.0)
        self.assertEqual(duplicate["baseline"], 20000.0)
        self.assertIsNone(duplicate["ratio"])
        self.assertIsNone(duplicate["met"])
        self.assertEqual(duplicate["refused"], "machine busy: 0.9 cores used by other processes during raw C")
        self.assertEqual(summary["refused"], ["duplicate_path_vs_c"])
        self.assertNotIn("duplicate_path_vs_c", summary["not_measured"])
        self.assertIn("refused (busy)", table)
        # Not a ratio: reported with its load, never refused.
        startup = summary["figures"]["start_to_ready_ms"]
        self.assertTrue(startup["met"])
        self.assertEqual(startup["load"]["start -> ready runs"]["foreign_cores"], 1.5)
        self.assertIsNone(summary["figures"]["gate_path_requests_per_s"]["load"])
        self.assertEqual(summary["foreign_cores_threshold"], 0.5)

    def test_the_threshold_comes_from_the_environment(self):
        summary, table = self.summarize(threshold="1")
        duplicate = summary["figures"]["duplicate_path_vs_c"]
        self.assertEqual(duplicate["ratio"], 0.15)
        self.assertFalse(duplicate["met"])
        self.assertNotIn("refused", duplicate)
        self.assertNotIn("refused (busy)", table)
        self.assertEqual(summary["foreign_cores_threshold"], 1.0)


class FakeProcTests(unittest.TestCase):
    """The parsers on a made-up /proc: busy fields, names with spaces and parentheses, the tree walk."""

    def test_busy_trees_and_sums(self):
        with tempfile.TemporaryDirectory() as proc:
            base = pathlib.Path(proc)
            # user nice system idle iowait irq softirq steal guest guest_nice
            (base / "stat").write_text("cpu  100 10 50 900 40 1 2 3 7 0\ncpu0 50 5 25 450 20 0 1 1 0 0\n"
                                       "cpu1 50 5 25 450 20 1 1 2 7 0\nintr 1 2 3\n")
            processes = {1: (0, 5, 5, 0, 0, "init"), 10: (1, 100, 20, 30, 4, "bench (main) x"), 11: (10, 7, 3, 0, 0, "wk"),
                         12: (11, 1, 1, 0, 0, "chrome"), 20: (1, 500, 0, 0, 0, "fuzzer"), 30: (1, 2, 2, 0, 0, "beam.smp")}
            for pid, (ppid, utime, stime, cutime, cstime, name) in processes.items():
                (base / str(pid)).mkdir()
                fields = ["S", ppid, 0, 0, 0, 0, 0, 0, 0, 0, 0, utime, stime, cutime, cstime] + [0] * 30
                (base / str(pid) / "stat").write_text(f"{pid} ({name}) " + " ".join(map(str, fields)) + "\n")
            (base / "99").mkdir()  # exited: no stat file
            self.assertEqual(machine_load.machine_busy(proc), (100 + 10 + 50 + 1 + 2 + 3, 2))
            table = machine_load.process_table(proc)
            self.assertEqual(table[10], (1, 120, 34))
            self.assertNotIn(99, table)
            self.assertEqual(machine_load.process_trees({10}, table), {10, 11, 12})
            self.assertEqual(machine_load.process_trees({10, 11, 30, 4242}, table), {10, 11, 12, 30})


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@unittest.skipUnless(os.path.exists("/proc/stat"), "needs Linux /proc")
class SamplerTests(unittest.TestCase):
    """A Python busy loop in a child process. The machine may be busy with other work (builds): the assertions compare
    the sampler's figures with the CPU the child itself used in the interval, not with fixed core counts."""

    def spin(self, cpu_seconds=0):
        child = subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(cpu_seconds)], stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (child.poll() is None and child.kill(), child.wait(), child.stdout.close()))
        self.assertEqual(child.stdout.readline().strip(), "spinning")
        return child

    def busy_interval(self, sampler, child, cpu_seconds=0.6, timeout=60):
        """Runs `sampler` while the child burns `cpu_seconds` of CPU (a condition, not a sleep); returns the sampler's
        result and the child's own cores in that interval."""
        start_ticks, started = cpu_ticks(child.pid), time.monotonic()
        sampler.start()
        goal = start_ticks + cpu_seconds * machine_load.clock_ticks()
        wait_for(lambda: cpu_ticks(child.pid) >= goal, timeout, f"the child to use {cpu_seconds} s of CPU")
        result = sampler.stop()
        child_cores = (cpu_ticks(child.pid) - start_ticks) / machine_load.clock_ticks() / (time.monotonic() - started)
        return result, child_cores

    def check_shape(self, result):
        self.assertEqual(set(result), {"wall_s", "cores", "busy_cores", "bench_cores", "foreign_cores",
                                       "load_average_start", "load_average_end", "bench_processes"})
        self.assertGreaterEqual(result["foreign_cores"], 0)
        self.assertLessEqual(result["busy_cores"], result["cores"] + 0.2)

    def test_a_busy_process_that_is_not_ours_is_foreign(self):
        child = self.spin()
        result, child_cores = self.busy_interval(machine_load.Sampler(include_self=False), child)
        self.check_shape(result)
        self.assertGreaterEqual(result["foreign_cores"], 0.8 * child_cores - 0.05, (result, child_cores))
        self.assertEqual(result["bench_cores"], 0.0)
        self.assertEqual(result["bench_processes"], 0)
        self.assertIn("during worker", machine_load.refusal({"worker": result}, threshold=min(0.5, 0.7 * child_cores - 0.05)))

    def test_the_same_process_in_the_root_set_is_ours(self):
        child = self.spin()
        result, child_cores = self.busy_interval(machine_load.Sampler(roots=[child.pid], include_self=False), child)
        self.check_shape(result)
        self.assertGreaterEqual(result["bench_cores"], 0.8 * child_cores - 0.05, (result, child_cores))
        self.assertLessEqual(result["bench_cores"], 1.2 * child_cores + 0.05, (result, child_cores))
        # Whatever else the machine did, the child is not part of it.
        self.assertLessEqual(result["foreign_cores"], result["busy_cores"] - 0.8 * child_cores + 0.1, (result, child_cores))
        self.assertEqual(result["bench_processes"], 1)

    def test_a_child_that_exits_and_is_reaped_during_the_interval_stays_ours(self):
        """Our own process is a root (the default): the child is a descendant while it runs, and its CPU time moves
        to our cutime/cstime when we reap it; the interval ends after the reap."""
        child = self.spin(cpu_seconds=0.6)
        start_ticks = cpu_ticks(child.pid)
        sampler = machine_load.Sampler().start()
        used = float(child.stdout.readline())  # the child's last line: it burnt its CPU and is exiting
        child.wait(timeout=60)
        result = sampler.stop()
        child_cpu = used - start_ticks / machine_load.clock_ticks()
        self.check_shape(result)
        bench_cpu = result["bench_cores"] * result["wall_s"]
        self.assertGreaterEqual(bench_cpu, 0.8 * child_cpu - 0.05, (result, child_cpu))

    def test_idle_check_and_the_command_line(self):
        self.assertGreaterEqual(machine_load.idle_check(0.2), 0)
        with tempfile.TemporaryDirectory() as tmp:
            attach = pathlib.Path(tmp) / "figure.json"
            out = pathlib.Path(tmp) / "load.json"
            command = f"import json; json.dump({{'value': 1}}, open({str(attach)!r}, 'w'))"
            status = subprocess.run([sys.executable, str(ROOT / "bench/machine_load.py"), "measure", "--out", str(out),
                                     "--attach", str(attach), "--", sys.executable, "-c", command]).returncode
            self.assertEqual(status, 0)
            doc = json.loads(attach.read_text())
            self.assertEqual(doc["value"], 1)
            self.assertEqual(doc["load"], json.loads(out.read_text()))
            failed = subprocess.run([sys.executable, str(ROOT / "bench/machine_load.py"), "measure", "--out", str(out),
                                     "--", sys.executable, "-c", "raise SystemExit(3)"]).returncode
            self.assertEqual(failed, 3)


if __name__ == "__main__":
    unittest.main()
