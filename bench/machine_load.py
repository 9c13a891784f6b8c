#!/usr/bin/env python3
"""How busy the machine was with work that is not the benchmark's, during one measured interval.

A figure measured while something else held a core (a fuzzer, another session's build) says little, and a ratio
whose two sides saw different loads says less. This module measures, over an interval:

  busy_cores     the machine's busy CPU time (/proc/stat: user + nice + system + irq + softirq + steal; idle and
                 iowait are not busy; guest time is already inside user and nice) / the wall time;
  bench_cores    the CPU time of the benchmark's own processes / the wall time;
  foreign_cores  busy_cores - bench_cores (never below 0): CPU used by processes outside the benchmark, in cores.
                 1.0 means one core's worth of someone else's work for the whole interval.

and the 1-minute load average at the start and at the end. Standard library only; Linux (/proc).

The benchmark's processes ("ours") are, at each sample, every process in the trees rooted at the given root PIDs
(the process and all its descendants, found by walking the ppid field of every /proc/PID/stat) plus the given extra
PIDs and their descendants (processes that daemonize out of our tree: a private RabbitMQ node's beam.smp). By
default the sampling process itself is a root, so everything it starts (workers, chromedriver and the browsers,
the simulator, the raw C loop) is ours.

How our CPU time is counted, and why it survives processes that exit during the interval: at each sample we add,
over the processes that are ours at that moment, utime + stime + cutime + cstime. cutime/cstime are the CPU times
of the children a process has reaped (wait()ed for), including what those children had themselves reaped. When a
child of ours exits and its parent (ours) reaps it, its whole CPU time moves from its own utime/stime to its
parent's cutime/cstime: the sum does not change, so nothing is lost and nothing is counted twice. The difference
of the sums at the two samples is our CPU time during the interval.

Accepted imprecisions (all small for the benchmark's own use; none of them hides a busy foreign process):
  - a process of ours that exits during the interval and is reaped by a process that is not ours (it had
    daemonized, or it was a root whose parent is not ours) takes its CPU time with it: our sum drops, so it shows
    as foreign. The default root (the sampling process) reaps everything it starts, so this does not happen to
    the benchmark's workers and tools; Chromium helpers that double-fork away from chromedriver can.
  - a process that leaves our tree during the interval (daemonizes) likewise; one that joins it (a foreign
    process adopted by a root acting as a subreaper) adds its earlier CPU time to ours.
  - processes that are not ours and exit during the interval need no care: they are only ever in busy.
  - /proc/stat is tick-based and per-process times are not, so bench_cores can exceed busy_cores by a little;
    foreign_cores is then 0.
  - a process reaped between the two reads of one sample (the busy counters, then every /proc/PID/stat) can be
    seen in neither or both places; that window is a few milliseconds.
  - only processes visible in this PID namespace can be ours; processes outside it are foreign, as they should be.

The rule that uses it (refusal): a ratio is not reported when foreign_cores during either side exceeded a
threshold, 0.5 core by default, or BREAKGLASS_BENCH_FOREIGN_CORES. See refusal() and docs/BENCHMARKS.md.

Command line (for the bash parts of scripts/bench):
  machine_load.py measure [--out FILE] [--attach FILE] [--extra-pid PID]... -- COMMAND [ARGS...]
      runs COMMAND (its stdin/stdout/stderr are this process's) and measures the machine while it runs; COMMAND
      and its descendants are ours. --out writes the load as JSON to FILE; --attach adds it as "load" to the JSON
      object in FILE (written by COMMAND) once COMMAND succeeded; without either it goes to stderr. Exits with
      COMMAND's status.
  machine_load.py idle [--seconds S]
      prints the foreign cores of the next S seconds (default 2) as JSON.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ENV_THRESHOLD = "BREAKGLASS_BENCH_FOREIGN_CORES"
DEFAULT_FOREIGN_CORES = 0.5

_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system [idle iowait] irq softirq steal (guest is inside user/nice)


def clock_ticks():
    return os.sysconf("SC_CLK_TCK")


def machine_busy(proc="/proc"):
    """(busy jiffies since boot, online CPUs) from /proc/stat."""
    busy, cpus = None, 0
    with open(f"{proc}/stat") as stat:
        for line in stat:
            if line.startswith("cpu "):
                fields = [int(x) for x in line.split()[1:]]
                busy = sum(fields[i] for i in _BUSY_FIELDS if i < len(fields))
            elif line.startswith("cpu"):
                cpus += 1
            elif busy is not None:
                break
    if busy is None:
        raise RuntimeError(f"no cpu line in {proc}/stat")
    return busy, cpus or (os.cpu_count() or 1)


def process_table(proc="/proc"):
    """{pid: (ppid, utime + stime, cutime + cstime)} of every process visible in /proc, in clock ticks."""
    table = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat") as stat:
                text = stat.read()
            # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
            fields = text.rsplit(")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
        except (OSError, IndexError, ValueError):
            continue  # exited between listdir and open, or unreadable
    return table


def process_trees(roots, table):
    """Every pid in `table` that is one of `roots` or descends from one (by ppid)."""
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = set(), [pid for pid in roots if pid in table]
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found.add(pid)
        stack.extend(children.get(pid, ()))
    return found


def _loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


class Sampler:
    """Measures one interval: start() ... stop() -> dict, or `with Sampler(...) as sampler:` then sampler.result.

    roots: PIDs whose process trees are ours; extra_pids: more PIDs (with their descendants) that are ours, for
    processes that are not in those trees (a daemonized broker); include_self: the sampling process is a root
    (default). PIDs given that do not exist (any more) are ignored.

    stop() returns {"wall_s", "cores", "busy_cores", "bench_cores", "foreign_cores", "load_average_start",
    "load_average_end", "bench_processes"}; cores figures are rounded to 0.01, bench_processes counts ours at the
    end.
    """

    def __init__(self, roots=(), extra_pids=(), include_self=True, proc="/proc"):
        self.roots = {int(pid) for pid in roots if pid}
        self.roots.update(int(pid) for pid in extra_pids if pid)
        if include_self:
            self.roots.add(os.getpid())
        self.proc = proc
        self.result = None
        self._start = None

    def _sample(self):
        wall = time.monotonic()
        busy, cpus = machine_busy(self.proc)
        table = process_table(self.proc)
        ours = process_trees(self.roots, table)
        bench = sum(table[pid][1] + table[pid][2] for pid in ours)
        return wall, busy, cpus, bench, len(ours)

    def start(self):
        self.result = None
        self._load_start = _loadavg()
        self._start = self._sample()
        return self

    def stop(self):
        if self._start is None:
            raise RuntimeError("Sampler.stop() before start()")
        end = self._sample()
        (wall0, busy0, _, bench0, _), (wall1, busy1, cpus, bench1, count) = self._start, end
        self._start = None
        wall, tick = max(wall1 - wall0, 1e-6), clock_ticks()
        busy_cores = (busy1 - busy0) / tick / wall
        bench_cores = max(0, bench1 - bench0) / tick / wall
        self.result = {
            "wall_s": round(wall, 3),
            "cores": cpus,
            "busy_cores": round(busy_cores, 2),
            "bench_cores": round(bench_cores, 2),
            "foreign_cores": round(max(0.0, busy_cores - bench_cores), 2),
            "load_average_start": self._load_start,
            "load_average_end": _loadavg(),
            "bench_processes": count,
        }
        return self.result

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def measure(roots=(), extra_pids=(), include_self=True):
    """A started Sampler (shorthand)."""
    return Sampler(roots, extra_pids, include_self).start()


def idle_check(seconds=2.0, roots=(), extra_pids=()):
    """Foreign cores over the next `seconds`, taken before a figure while nothing of ours works (ours: this process,
    its descendants, `roots` and `extra_pids`, e.g. an idle broker). Blocks for `seconds`."""
    sampler = Sampler(roots, extra_pids).start()
    time.sleep(seconds)  # the interval itself: there is no condition to wait for
    return sampler.stop()["foreign_cores"]


def combine(loads):
    """One load for several intervals of the same side (rounds): cores are wall-weighted means; foreign_cores_max is
    the worst interval, which is what refusal() judges. None and empty entries are skipped; None if none is left."""
    loads = [load for load in loads or () if load]
    if not loads:
        return None
    if len(loads) == 1:
        return dict(loads[0])
    wall = sum(load.get("wall_s") or 0 for load in loads)
    worsts = [worst_foreign(load) for load in loads if worst_foreign(load) is not None]

    def mean(key):
        values = [(load.get(key), load.get("wall_s") or 0) for load in loads if load.get(key) is not None]
        weight = sum(w for _, w in values)
        return round(sum(v * w for v, w in values) / weight, 2) if values and weight else None

    return {
        "wall_s": round(wall, 3),
        "cores": loads[-1].get("cores"),
        "busy_cores": mean("busy_cores"),
        "bench_cores": mean("bench_cores"),
        "foreign_cores": mean("foreign_cores"),
        "foreign_cores_max": max(worsts) if worsts else None,
        "load_average_start": loads[0].get("load_average_start"),
        "load_average_end": loads[-1].get("load_average_end"),
        "intervals": sum(load.get("intervals", 1) for load in loads),
    }


def worst_foreign(load):
    """The foreign cores a load is judged by: the worst interval when it combines several, else its own; None if
    unknown."""
    if not load:
        return None
    value = load.get("foreign_cores_max")
    return load.get("foreign_cores") if value is None else value


def foreign_threshold(environ=None):
    """The refusal threshold in cores: BREAKGLASS_BENCH_FOREIGN_CORES, else 0.5. ValueError when set but not a
    number >= 0."""
    text = (os.environ if environ is None else environ).get(ENV_THRESHOLD, "").strip()
    if not text:
        return DEFAULT_FOREIGN_CORES
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{ENV_THRESHOLD}={text!r} is not a number of cores") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{ENV_THRESHOLD}={text!r} must be a finite number of cores >= 0")
    return value


def _cores(value):
    return f"{round(value, 2):g}"


def refusal(sides, threshold=None):
    """Why a ratio must not be reported, or None when it may be.

    sides: {side name: load} for the sides of the ratio (e.g. {"worker": ..., "raw C": ...}); a load is a Sampler
    result or a combine() of several. The ratio is refused when, during any side, processes outside the benchmark
    used more than `threshold` cores (default: foreign_threshold()). A side whose load is unknown (None: an older
    result file) does not cause a refusal. The reason names the worst side:
    "machine busy: 0.9 cores used by other processes during raw C" (+ " (also 0.7 during worker)" for others).
    """
    threshold = foreign_threshold() if threshold is None else threshold
    over = [(worst_foreign(load), side) for side, load in (sides or {}).items()]
    over = sorted(((value, side) for value, side in over if value is not None and value > threshold),
                  key=lambda item: -item[0])
    if not over:
        return None
    (value, side), others = over[0], over[1:]
    reason = f"machine busy: {_cores(value)} cores used by other processes during {side}"
    if others:
        reason += " (also " + ", ".join(f"{_cores(v)} during {s}" for v, s in others) + ")"
    return reason


def _main(argv=None):
    parser = argparse.ArgumentParser(description="Machine load outside the benchmark's processes.")
    sub = parser.add_subparsers(dest="what", required=True)
    run = sub.add_parser("measure", help="run a command and measure the machine while it runs")
    run.add_argument("--out", help="write the load as JSON to this file")
    run.add_argument("--attach", help='add the load as "load" to the JSON object in this file after success')
    run.add_argument("--extra-pid", type=int, action="append", default=[], help="another PID of ours (a broker)")
    run.add_argument("command", nargs=argparse.REMAINDER)
    idle = sub.add_parser("idle", help="foreign cores over the next seconds")
    idle.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    if args.what == "idle":
        print(json.dumps({"foreign_cores": idle_check(args.seconds)}))
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("measure: missing COMMAND (after --)")
    sampler = Sampler(extra_pids=args.extra_pid).start()
    status = subprocess.run(command).returncode
    load = sampler.stop()
    if args.out:
        with open(args.out, "w") as out:
            json.dump(load, out, indent=2)
            out.write("\n")
    if args.attach and status == 0:
        with open(args.attach) as existing:
            doc = json.load(existing)
        doc["load"] = load
        with open(args.attach, "w") as out:
            json.dump(doc, out, indent=2)
            out.write("\n")
    if not args.out and not args.attach:
        print(json.dumps(load), file=sys.stderr)
    return 128 - status if status < 0 else status  # killed by a signal: as a shell reports it


if __name__ == "__main__":
    sys.exit(_main())
