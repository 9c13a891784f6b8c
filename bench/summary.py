#!/usr/bin/env python3
"""Reads bench/results/<area>.json of one `scripts/bench` run, writes bench/results/summary.json (every figure
under a stable snake_case name, with its baseline, ratio, target and whether it is met) and prints one table.

usage: summary.py RESULTS_DIR [--command "..."] [--since EPOCH] [--print-only]
Only result files written at or after --since count (figures of an older run are never mixed in).

Machine load (bench/machine_load.py): every figure carries "load", {side: load} for each side it was measured on
(a ratio has two: its value's and its baseline's), where a load says how many cores processes outside the bench
used meanwhile (foreign_cores). A ratio is refused when that exceeded the threshold on either side (0.5 core, or
BREAKGLASS_BENCH_FOREIGN_CORES): its measured values stay, "ratio" and "met" are null and "refused" says why; the
table shows "refused (busy)". A side whose load was not recorded (an older result file) does not refuse.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import machine_load  # noqa: E402


def load(directory, name, since):
    path = directory / f"{name}.json"
    if not path.exists() or path.stat().st_mtime < since:
        return None
    return json.loads(path.read_text())


def dig(doc, *keys):
    for key in keys:
        if doc is None:
            return None
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def ledger_load(doc):
    """A phase's load as bench-ledger records it (its own sampler, the PostgreSQL server counted as the bench's), in
    machine_load's terms; None when not recorded."""
    if not doc:
        return None
    bench = [doc.get(k) for k in ("bench_cores", "postgres_cores") if doc.get(k) is not None]
    return {"wall_s": doc.get("seconds"), "busy_cores": doc.get("machine_busy_cores"),
            "bench_cores": round(sum(bench), 2) if bench else None, "foreign_cores": doc.get("other_cores"),
            "load_average_start": doc.get("load_average_1m_before"), "load_average_end": doc.get("load_average_1m_after")}


class Figures:
    def __init__(self, threshold=machine_load.DEFAULT_FOREIGN_CORES):
        self.rows = []
        self.threshold = threshold

    def add(self, name, label, value, unit, target=None, higher_is_better=True, baseline=None, baseline_label=None,
            source=None, load=None, idle_before=None):
        """A figure; with `baseline`, `value` is compared as a ratio value/baseline against `target`.

        load: {side: machine load} of each side the figure was measured on (value side first); a ratio is refused
        (ratio and met None, `refused` says why) when processes outside the bench took more than the threshold on
        either side. idle_before: foreign cores measured just before the area, while the bench was idle."""
        row = {"name": name, "label": label, "value": value, "unit": unit, "source": source}
        row["load"] = load if load and any(load.values()) else None
        if idle_before is not None:
            row["foreign_cores_idle_before"] = idle_before
        measured = value
        if baseline is not None:
            row["baseline"] = baseline
            row["baseline_label"] = baseline_label
            measured = round(value / baseline, 3) if value is not None and baseline else None
            row["ratio"] = measured
            refused = machine_load.refusal(load, self.threshold)
            if refused:
                row["ratio"] = measured = None
                row["refused"] = refused
        if target is not None:
            row["target"] = target
            row["target_op"] = ">=" if higher_is_better else "<="
            if measured is None:
                row["met"] = None  # not measured, or refused
            else:
                row["met"] = measured >= target if higher_is_better else measured <= target
                # How far from the target: positive = headroom, negative = missed by that fraction of the target.
                row["margin_pct"] = round(((measured - target) / target if higher_is_better else (target - measured) / target) * 100, 1)
        self.rows.append(row)


def fmt(value, unit=""):
    if value is None:
        return "—"
    if isinstance(value, float) and abs(value) >= 100:
        text = f"{value:,.0f}"
    elif isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--command", default="scripts/bench")
    parser.add_argument("--since", type=float, default=0)
    parser.add_argument("--print-only", action="store_true", help="print the table, leave summary.json as it is")
    parser.add_argument("--load-at-start", type=float, help="1-minute load average when the run started")
    args = parser.parse_args()
    directory = pathlib.Path(args.results)
    area = {name: load(directory, name, args.since) for name in (
        "transport", "duplicate_path", "gate_path", "gate_path_evidence_tmpfs", "console_path", "startup", "worker_rss",
        "gate", "ledger")}

    try:
        threshold = machine_load.foreign_threshold()
    except ValueError as error:
        threshold = machine_load.DEFAULT_FOREIGN_CORES
        print(f"summary: {error}; using {threshold}", file=sys.stderr)
    f = Figures(threshold)
    t = area["transport"]
    if t:
        c = dig(t, "consume_ack_msgs_per_s")
        f.add("transport_consume_vs_c", "transport: BreakGlassAMQP consume+ack vs raw rabbitmq-c", c["breakglass"], "msg/s",
              target=0.9, baseline=c["c"], baseline_label="raw C", source="transport.json",
              load={"BreakGlassAMQP": dig(t, "load", "breakglass"), "raw C": dig(t, "load", "c")})
        f.add("transport_consume_vs_pika", "transport: BreakGlassAMQP consume+ack vs pika", c["breakglass"], "msg/s",
              target=2.5, baseline=c["pika"], baseline_label="pika", source="transport.json",
              load={"BreakGlassAMQP": dig(t, "load", "breakglass"), "pika": dig(t, "load", "pika")})
    d = area["duplicate_path"]
    if d:
        idle = d.get("foreign_cores_idle_before")
        f.add("duplicate_path_vs_c", f"duplicate path: 1 worker on redeliveries of decided keys vs raw C consume+ack "
              f"(prefetch {d['prefetch']})", d["worker_msgs_per_s"], "msg/s", target=0.7, baseline=d["raw_c_msgs_per_s"],
              baseline_label="raw C", source="duplicate_path.json", idle_before=idle,
              load={"worker": dig(d, "load", "worker"), "raw C": dig(d, "load", "raw_c")})
        if d.get("two_workers_msgs_per_s"):
            f.add("duplicate_path_two_workers_vs_c", "  diagnostic: the same with 2 worker processes vs raw C",
                  d["two_workers_msgs_per_s"], "msg/s", baseline=d["raw_c_msgs_per_s"], baseline_label="raw C",
                  source="duplicate_path.json", idle_before=idle,
                  load={"2 workers": dig(d, "load", "two_workers"), "raw C": dig(d, "load", "raw_c")})
    g = area["gate_path"]
    if g:
        figure_load, idle = {"worker": g.get("load")}, g.get("foreign_cores_idle_before")
        f.add("gate_path_requests_per_s", f"gate path: new requests halting at the gate, 1 worker (in_flight {g['in_flight']})",
              g["requests_per_s"], "req/s", target=500, source="gate_path.json", load=figure_load, idle_before=idle)
        f.add("gate_path_p99_ms", "gate path: p99 claim -> halted decision durable", dig(g, "latency_ms", "p99"), "ms",
              target=50, higher_is_better=False, source="gate_path.json", load=figure_load, idle_before=idle)
    gt = area["gate_path_evidence_tmpfs"]
    if gt:
        f.add("gate_path_evidence_tmpfs_requests_per_s", "  diagnostic: gate path with the evidence folder on tmpfs",
              gt["requests_per_s"], "req/s", source="gate_path_evidence_tmpfs.json", load={"worker": gt.get("load")},
              idle_before=gt.get("foreign_cores_idle_before"))
    cp = area["console_path"]
    if cp:
        one = dig(cp, "worker", "sessions_1")
        four = dig(cp, "worker", "sessions_4")
        script = cp["script"]
        idle = cp.get("foreign_cores_idle_before")
        one_load, four_load, script_load = dig(one, "load"), dig(four, "load"), dig(script, "load")
        # Issue 21's targets: p50 <= 0.8x the script (was 1.2x); N sessions >= 0.8 x min(N, cores) x one session;
        # browser CPU <= 1.2 CPU-s per grant.
        cores = os.cpu_count() or 1
        # The target figures: requests arriving one at a time at an idle worker (its session signed in ahead).
        # Older result files have no arrivals run: the queued run stands in.
        arrivals = dig(cp, "worker", "arrivals_1") or one
        arrivals_load = dig(arrivals, "load")
        f.add("console_p50_vs_script",
              "console: p50 delivery -> granted (1 session, requests arriving at an idle worker) vs hand-written "
              "WebDriver script",
              dig(arrivals, "delivery_to_granted_s", "p50"), "s", target=0.8, higher_is_better=False,
              baseline=script["p50_s"], baseline_label="script", source="console_path.json", idle_before=idle,
              load={"worker, arrivals": arrivals_load, "script": script_load})
        f.add("console_p95_vs_script",
              "console: p95 delivery -> granted (1 session, requests arriving at an idle worker) vs hand-written "
              "WebDriver script",
              dig(arrivals, "delivery_to_granted_s", "p95"), "s", target=1.2, higher_is_better=False,
              baseline=script["p95_s"], baseline_label="script", source="console_path.json", idle_before=idle,
              load={"worker, arrivals": arrivals_load, "script": script_load})
        f.add("console_p50_queued_vs_script",
              "  diagnostic: p50 delivery -> granted (1 session, requests queued back to back) vs the script",
              dig(one, "delivery_to_granted_s", "p50"), "s",
              baseline=script["p50_s"], baseline_label="script", source="console_path.json", idle_before=idle,
              load={"worker, 1 session": one_load, "script": script_load})
        with_options = cp.get("script_worker_browser_options")
        if with_options:
            f.add("console_p50_vs_script_worker_browser_options",
                  "  diagnostic: p50 delivery -> granted (arrivals) vs the script run with the worker's browser options",
                  dig(arrivals, "delivery_to_granted_s", "p50"), "s",
                  baseline=with_options["p50_s"], baseline_label="script, worker's options",
                  source="console_path.json", idle_before=idle,
                  load={"worker, arrivals": arrivals_load, "script, worker's options": dig(with_options, "load")})
        f.add("console_4_vs_1_sessions",
              f"console: grants/min with 4 browser sessions vs 1 (target 0.8 x min(4, {cores} cores))",
              four["grants_per_min"], "grants/min", target=round(0.8 * min(4, cores), 2), baseline=one["grants_per_min"],
              baseline_label="1 session", source="console_path.json", idle_before=idle,
              load={"4 sessions": four_load, "1 session": one_load})
        f.add("browser_cpu_s_per_grant", "console: browser CPU (Chromium + chromedriver) per grant, 1 session",
              dig(one, "browser_cpu_s_per_grant"), "CPU-s", target=1.2, higher_is_better=False,
              source="console_path.json", idle_before=idle, load={"1 session": one_load})
        f.add("recheck_to_click_p95_ms", "console: recheck -> click window p95, 1 session (evidence timing.json)",
              dig(one, "timing_ms", "recheck_to_click_ms", "p95"), "ms", target=300, higher_is_better=False,
              source="console_path.json", idle_before=idle, load={"1 session": one_load})
        f.add("recheck_to_click_p95_ms_4_sessions", "console: recheck -> click window p95, 4 sessions",
              dig(four, "timing_ms", "recheck_to_click_ms", "p95"), "ms", target=300, higher_is_better=False,
              source="console_path.json", idle_before=idle, load={"4 sessions": four_load})
    rss = area["worker_rss"]
    if rss:
        f.add("worker_rss_peak_mib", "worker RSS under load, peak (VmHWM, browsers excluded)", rss["vm_hwm_mib_max"], "MiB",
              target=64, higher_is_better=False, source="worker_rss.json", load={"loaded worker runs": rss.get("load")})
    s = area["startup"]
    if s:
        figure_load, idle = {"start -> ready runs": s.get("load")}, s.get("foreign_cores_idle_before")
        f.add("start_to_ready_ms", f"start -> /readyz 200 (median of {s['runs']})", s["start_to_ready_ms_median"], "ms",
              target=1000, higher_is_better=False, source="startup.json", load=figure_load, idle_before=idle)
        f.add("start_to_ready_max_ms", f"start -> /readyz 200 (worst of {s['runs']})", s["start_to_ready_ms_max"], "ms",
              target=1000, higher_is_better=False, source="startup.json", load=figure_load, idle_before=idle)
    gd = area["gate"]
    if gd:
        figure_load = {"bench-gate": gd.get("load")}  # attached by scripts/bench (machine_load.py measure --attach)
        f.add("gate_decisions_per_s", "gate decisions in process (bench-gate, issue 6)", dig(gd, "rates", "decisions_per_s"),
              "dec/s", target=500, source="gate.json", load=figure_load)
        f.add("gate_decisions_p99_ms", "gate decision p99 in process (bench-gate, issue 6)", dig(gd, "latency_ms", "p99"),
              "ms", target=50, higher_is_better=False, source="gate.json", load=figure_load)
    led = area["ledger"]
    if led:
        f.add("ledger_claim_decide_per_s", "ledger: durable claim+decide cycles/s, 1 process (issue 4)",
              dig(led, "rates", "claim_decide_per_s"), "cycles/s", target=2000, source="ledger.json",
              load={"bench-ledger": ledger_load(dig(led, "load", "claim_decide"))})
        f.add("ledger_decided_lookups_per_s", "ledger: decided-key lookups/s (issue 4)",
              dig(led, "rates", "decided_lookup_per_s"), "lookups/s", target=100000, source="ledger.json",
              load={"bench-ledger": ledger_load(dig(led, "load", "decided_lookup"))})

    try:
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        swift = None
    summary = {
        "command": args.command,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "swift": swift,
                    "load_average_at_start": args.load_at_start,
                    "load_average_at_end": round(os.getloadavg()[0], 2)},
        "foreign_cores_threshold": threshold,
        "quick": any(dig(area[k], "quick") for k in area if area[k]),
        "figures": {row["name"]: {k: v for k, v in row.items() if k != "name"} for row in f.rows},
        "met": sum(1 for row in f.rows if row.get("met") is True),
        "missed": [row["name"] for row in f.rows if row.get("met") is False],
        "refused": [row["name"] for row in f.rows if row.get("refused")],
        "not_measured": [row["name"] for row in f.rows
                         if row.get("target") is not None and row.get("met") is None and not row.get("refused")],
    }
    # Why each missed target is missed, from the profiles (bench/why_missed.json, written by a person).
    why_path = pathlib.Path(__file__).resolve().parent / "why_missed.json"
    if why_path.exists():
        why = json.loads(why_path.read_text())
        summary["why_missed"] = {name: why["figures"][name] for name in summary["missed"] if name in why["figures"]}
        summary["why_missed_profiled"] = why.get("profiled")
    if args.print_only:
        previous = load(directory, "summary", 0) or {}
        summary["date"] = previous.get("date", summary["date"])
        summary["machine"] = previous.get("machine", summary["machine"])
    else:
        (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    header = ("figure", "value", "baseline", "ratio", "target", "met?", "others' cores")
    lines = []
    for row in f.rows:
        target = row.get("target")
        op = "≥" if row.get("target_op") == ">=" else "≤"
        if "baseline" in row:
            target_text = f"{op} {target}×" if target is not None else "—"
            baseline = f"{fmt(row['baseline'], row['unit'])} ({row['baseline_label']})"
            ratio = fmt(row.get("ratio")) + "×" if row.get("ratio") is not None else "—"
        else:
            target_text = f"{op} {fmt(float(target), row['unit'])}" if target is not None else "—"
            baseline, ratio = "—", "—"
        met = row.get("met")
        if row.get("refused"):
            ratio = met_text = "refused (busy)"
        elif target is None:
            met_text = "(no target)"
        elif met is None:
            met_text = "not measured"
        elif met:
            met_text = f"yes (+{row['margin_pct']} %)"
        elif row.get("target_op") == ">=":
            met_text = f"NO, {-row['margin_pct']} % short"
        else:
            met_text = f"NO, {-row['margin_pct']} % over"
        others = [machine_load.worst_foreign(side) for side in (row.get("load") or {}).values()]
        others_text = " / ".join("—" if v is None else f"{v:.2f}" for v in others) if any(
            v is not None for v in others) else "—"
        lines.append((row["label"], fmt(row["value"], row["unit"]), baseline, ratio, target_text, met_text, others_text))
    widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
    print()
    loads = summary["machine"].get("load_average_at_start"), summary["machine"]["load_average_at_end"]
    load_text = f"load {loads[0]} at start, {loads[1]} at end" if loads[0] is not None else f"load {loads[1]} at end"
    print(f"breakglass benchmarks — {summary['date']} — {os.cpu_count()} cores — {load_text}"
          + (" — QUICK (small counts)" if summary["quick"] else ""))
    for row in [header, tuple("-" * w for w in widths)] + lines:
        print(" | ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    print(f"\nothers' cores: CPU used by processes outside the bench while the figure was measured, in cores (a ratio: "
          f"value side / baseline side; worst round); a ratio is refused above {threshold:g} on either side "
          f"({machine_load.ENV_THRESHOLD}).")
    for row in f.rows:
        if row.get("refused"):
            print(f"refused: {row['name']}: {row['refused']}")
    print(f"\n{summary['met']} of {sum(1 for row in f.rows if row.get('target') is not None)} targets met; missed: {', '.join(summary['missed']) or 'none'}"
          + (f"; refused (machine busy): {', '.join(summary['refused'])}" if summary["refused"] else ""))
    if not args.print_only:
        print(f"written: {directory / 'summary.json'}")


if __name__ == "__main__":
    main()
