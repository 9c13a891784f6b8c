#!/usr/bin/env python3
"""Static checks of the ops artifacts (used by scripts/lib/ops_check.sh; promtool does the PromQL itself).

    ops_check.py static PROMQL_OUT     alerts.yml, alerts.test.yml, the Grafana dashboard and docs/OPERATIONS.md agree
                                       with the worker's metric list below; writes every dashboard query, with its
                                       Grafana variables filled in, as recording rules to PROMQL_OUT for
                                       `promtool check rules` (PromQL syntax).
    ops_check.py exported FILE...      every breakglass_* metric the rules and the dashboard use is in a real worker's
                                       /metrics text: the per-worker ones in every FILE, the per-ledger ones (exported
                                       only by the outbox relay lease holder) in at least one FILE, with its HELP line
                                       and the expected TYPE.

Prints one line per problem and exits 1 if there is any. Run from the repository root.
"""
import json
import re
import sys

import yaml

RULES = "ops/prometheus/alerts.yml"
RULE_TESTS = "ops/prometheus/alerts.test.yml"
DASHBOARD = "ops/grafana/breakglass.json"
OPERATIONS = "docs/OPERATIONS.md"

# The worker's metrics (Sources/BreakGlassWorker/Ops/WorkerMetrics.swift, docs/OPERATIONS.md#metrics):
# name -> (type, scope). Scope "worker": every worker process exports it; "ledger": only the worker holding the
# outbox relay lease does, so there is one series per ledger.
METRICS = {
    "breakglass_build_info": ("gauge", "worker"),
    "breakglass_ready": ("gauge", "worker"),
    "breakglass_deliveries_total": ("counter", "worker"),
    "breakglass_redeliveries_total": ("counter", "worker"),
    "breakglass_outcomes_total": ("counter", "worker"),
    "breakglass_outcome_reasons_total": ("counter", "worker"),
    "breakglass_escalated_halts_total": ("counter", "worker"),
    "breakglass_duplicates_suppressed_total": ("counter", "worker"),
    "breakglass_console_sign_ins_ahead_total": ("counter", "worker"),
    "breakglass_gate_duration_seconds": ("histogram", "worker"),
    "breakglass_console_duration_seconds": ("histogram", "worker"),
    "breakglass_recheck_to_click_seconds": ("histogram", "worker"),
    "breakglass_in_flight": ("gauge", "worker"),
    "breakglass_browser_sessions": ("gauge", "worker"),
    "breakglass_ledger_outbox_backlog": ("gauge", "ledger"),
    "breakglass_ledger_outbox_oldest_age_seconds": ("gauge", "ledger"),
    "breakglass_ledger_takeovers_open": ("gauge", "ledger"),
    "breakglass_ledger_takeover_oldest_open_age_seconds": ("gauge", "ledger"),
    "breakglass_ledger_escalated_halts_open": ("gauge", "ledger"),
    "breakglass_dead_letter_messages": ("gauge", "ledger"),
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
SEVERITIES = {"critical", "warning", "info"}

# Grafana's variables, replaced by values of the right shape before promtool parses a query.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "${__range}": "1h",
    "$__range_s": "3600", "$job": ".*", "${job}": ".*", "$instance": ".*", "${instance}": ".*",
}

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan", "atan2"}

problems = []


def problem(message):
    problems.append(message)
    print(f"  problem: {message}")


def base_name(name):
    """The metric a sample or selector name belongs to (a histogram's _bucket/_sum/_count → the histogram)."""
    if name in METRICS:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and METRICS.get(name[: -len(suffix)], ("", ""))[0] == "histogram":
            return name[: -len(suffix)]
    return name


def metric_names(expr):
    """The metric names a PromQL expression selects (strings, label matchers, ranges and grouping removed)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def check_names(where, expr):
    found = metric_names(expr)
    if not found:
        problem(f"{where}: selects no metric: {expr!r}")
    for name in sorted(found):
        if base_name(name) not in METRICS:
            problem(f"{where}: {name} is not one of the worker's metrics")
    return {base_name(n) for n in found}


def github_anchor(heading):
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def doc_anchors():
    anchors = set()
    in_code = False
    with open(OPERATIONS, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and re.match(r"#{1,6} ", line):
                anchors.add(github_anchor(line.lstrip("#")))
            for explicit in re.findall(r'<a (?:id|name)="([^"]+)"', line):
                anchors.add(explicit)
    return anchors


def rule_metrics():
    """Checks alerts.yml and its tests; returns the metrics the rules use."""
    used = set()
    with open(RULES, encoding="utf-8") as f:
        groups = yaml.safe_load(f)["groups"]
    anchors = doc_anchors()
    alerts = []
    for group in groups:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            used |= check_names(f"{RULES} {name}", rule["expr"])
            if "alert" not in rule:
                continue
            alerts.append(name)
            labels, annotations = rule.get("labels", {}), rule.get("annotations", {})
            if labels.get("severity") not in SEVERITIES:
                problem(f"{RULES} {name}: severity label must be one of {sorted(SEVERITIES)}")
            for key in ("summary", "description", "runbook_url"):
                if not annotations.get(key, "").strip():
                    problem(f"{RULES} {name}: no {key} annotation")
            url = annotations.get("runbook_url", "")
            match = re.fullmatch(re.escape(OPERATIONS) + r"#([\w-]+)", url)
            if not match:
                problem(f"{RULES} {name}: runbook_url {url!r} is not {OPERATIONS}#anchor")
            elif match.group(1) not in anchors:
                problem(f"{RULES} {name}: {OPERATIONS} has no section #{match.group(1)}")
            elif url not in annotations.get("description", ""):
                problem(f"{RULES} {name}: the description does not name its runbook section {url}")
    with open(RULE_TESTS, encoding="utf-8") as f:
        tests = yaml.safe_load(f)
    fired, quiet = set(), set()
    for test in tests.get("tests", []):
        for case in test.get("alert_rule_test", []) or []:
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
        for series in test.get("input_series", []):
            if series["series"].startswith("breakglass_"):
                check_names(f"{RULE_TESTS} {test.get('name')}", series["series"].split("{")[0])
    for name in alerts:
        if name not in fired:
            problem(f"{RULE_TESTS}: no test makes {name} fire")
        if name not in quiet:
            problem(f"{RULE_TESTS}: no test shows {name} silent")
    print(f"  {RULES}: {len(alerts)} alerts, each with severity, summary, description and a runbook section; "
          f"each fired and silent in {RULE_TESTS}")
    return used


def dashboard_metrics(promql_out):
    """Checks the dashboard; writes its queries as recording rules for promtool; returns the metrics it uses."""
    with open(DASHBOARD, encoding="utf-8") as f:
        dashboard = json.load(f)
    used = set()
    if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 36:
        problem(f"{DASHBOARD}: schemaVersion {dashboard.get('schemaVersion')!r} (expected 36 or later)")
    inputs = [i for i in dashboard.get("__inputs", []) if i.get("name") == "DS_PROMETHEUS"]
    if not inputs or inputs[0].get("pluginId") != "prometheus":
        problem(f"{DASHBOARD}: no DS_PROMETHEUS datasource input for prometheus")
    queries = []
    ids = set()

    def walk(panels):
        for panel in panels:
            where = f"{DASHBOARD} panel {panel.get('id')} {panel.get('title')!r}"
            if panel.get("id") in ids:
                problem(f"{where}: duplicate panel id")
            ids.add(panel.get("id"))
            if "gridPos" not in panel:
                problem(f"{where}: no gridPos")
            if panel.get("type") == "row":
                walk(panel.get("panels", []))
                continue
            if panel.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                problem(f"{where}: datasource is not ${{DS_PROMETHEUS}}")
            targets = panel.get("targets", [])
            if not targets:
                problem(f"{where}: no query")
            for target in targets:
                expr = target.get("expr", "")
                if target.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                    problem(f"{where} query {target.get('refId')}: datasource is not ${{DS_PROMETHEUS}}")
                queries.append((f"{where} {target.get('refId')}", expr))

    walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        match = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query)
        queries.append((f"{DASHBOARD} variable ${variable.get('name')}", match.group(1) if match else query))
    rules = []
    for i, (where, expr) in enumerate(queries):
        if not expr.strip():
            problem(f"{where}: empty query")
            continue
        used |= check_names(where, expr)
        filled = expr
        for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
            filled = filled.replace(variable, value)
        if "$" in filled:
            problem(f"{where}: unknown Grafana variable in {expr!r}")
        rules.append({"record": f"dashboard:query_{i}", "expr": filled})
    with open(promql_out, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, sort_keys=False, width=1000)
    print(f"  {DASHBOARD}: valid JSON, schemaVersion {dashboard.get('schemaVersion')}, {len(ids)} panels, "
          f"{len(queries)} queries over {len(used)} metrics")
    return used


def check_static(promql_out):
    used = rule_metrics() | dashboard_metrics(promql_out)
    for name in sorted(set(METRICS) - used):
        problem(f"{name} is used by neither {RULES} nor {DASHBOARD}")
    with open(OPERATIONS, encoding="utf-8") as f:
        doc = f.read()
    for name in sorted(METRICS):
        if f"`{name}`" not in doc:
            problem(f"{OPERATIONS} does not describe `{name}`")


def parse_exposition(path):
    """Metric names with samples, HELP lines and TYPE lines in a Prometheus text exposition."""
    samples, helps, types = set(), set(), {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("# HELP "):
                helps.add(line.split()[2])
            elif line.startswith("# TYPE "):
                parts = line.split()
                if len(parts) >= 4:
                    types[parts[2]] = parts[3]
            elif line and not line.startswith("#"):
                samples.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return samples, helps, types


def check_exported(paths):
    used = set()
    with open(RULES, encoding="utf-8") as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                used |= {base_name(n) for n in metric_names(rule["expr"])}
    with open(DASHBOARD, encoding="utf-8") as f:
        dashboard = json.load(f)
    exprs = re.findall(r'"expr":\s*("(?:\\.|[^"\\])*")', json.dumps(dashboard))
    for expr in exprs:
        used |= {base_name(n) for n in metric_names(json.loads(expr))}
    used = {n for n in used if n.startswith("breakglass_")}
    files = {}
    for path in paths:
        samples, helps, types = parse_exposition(path)
        if not samples:
            problem(f"{path}: no samples (not a /metrics text?)")
        files[path] = (samples, helps, types)

    def exported(path):
        """Every metric the file has samples of, or declares with a HELP or TYPE line (a labelled counter with no
        series yet has only those)."""
        samples, helps, types = files[path]
        names = samples | {base_name(s) for s in samples} | helps | set(types)
        return names | {n + "_total" for n in names}

    unheld = []
    for name in sorted(used):
        kind, scope = METRICS.get(name, ("?", "worker"))
        holders = [p for p in files if name in exported(p)]
        if scope == "worker":
            for path in files:
                if path not in holders:
                    problem(f"{path}: does not export {name} (every worker does)")
        elif not holders:
            unheld.append(name)
        for path in holders:
            _, helps, types = files[path]
            family = {name, re.sub(r"_total$", "", name)}
            if not family & helps:
                problem(f"{path}: no HELP line for {name}")
            declared_types = {types[f] for f in family if f in types}
            if not declared_types:
                problem(f"{path}: no TYPE line for {name}")
            elif kind not in declared_types:
                problem(f"{path}: {name} is a {'/'.join(sorted(declared_types))}, expected a {kind}")
    if unheld:
        problem(f"the per-ledger metrics {', '.join(unheld)} are in none of {', '.join(paths)}: pass the /metrics of "
                "the worker that holds the outbox relay lease (with several files, at least one must be the holder's)")
    for path, (samples, _, _) in files.items():
        extra = sorted({base_name(s) for s in samples if s.startswith("breakglass_")} - set(METRICS))
        if extra:
            print(f"  note: {path} also exports {', '.join(extra)} (not in the alert rules or the dashboard)")
    print(f"  {len(used)} breakglass_* metrics used by the rules and the dashboard, checked in {len(paths)} /metrics file(s)")


def main(argv):
    try:
        if len(argv) >= 2 and argv[0] == "static":
            check_static(argv[1])
        elif len(argv) >= 2 and argv[0] == "exported":
            check_exported(argv[1:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ValueError, yaml.YAMLError, KeyError, TypeError) as error:
        # json.JSONDecodeError is a ValueError; KeyError/TypeError: a file without the expected structure.
        problem(f"cannot check: {type(error).__name__}: {error}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
