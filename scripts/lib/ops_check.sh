#!/usr/bin/env bash
# Checks the ops artifacts: the Prometheus alert rules (ops/prometheus/alerts.yml), their unit tests
# (alerts.test.yml), the Grafana dashboard (ops/grafana/breakglass.json) and docs/OPERATIONS.md.
#
#   scripts/lib/ops_check.sh [METRICS_FILE...]
#
#   1. promtool check rules ops/prometheus/alerts.yml
#   2. promtool test rules ops/prometheus/alerts.test.yml
#   3. scripts/lib/ops_check.py static: every rule has a severity, summary, description and a runbook section that
#      exists in docs/OPERATIONS.md; every alert is shown firing and silent by a test; the dashboard is valid JSON
#      with a DS_PROMETHEUS input; every rule and dashboard query selects only the worker's metrics (the list in
#      ops_check.py and docs/OPERATIONS.md#metrics), and each of those metrics is used and documented;
#   4. promtool check rules on the dashboard's queries (Grafana variables filled in): their PromQL parses;
#   5. with METRICS_FILE arguments, each the text of a real worker's GET /metrics: every breakglass_* metric the rules
#      and the dashboard use (histograms as _bucket/_sum/_count) is exported with its HELP and TYPE lines. Per-worker
#      metrics must be in every file; the per-ledger ones (breakglass_ledger_*, breakglass_dead_letter_messages) are
#      exported only by the worker holding the outbox relay lease, so they must be in at least one file: pass the
#      holder's /metrics, or the /metrics of every worker of the ledger (one of them holds the lease).
#
# promtool comes from the Debian package `prometheus`. Prints `ops-rules: 1 passed, 0 failed` (exit 0) or
# `ops-rules: 0 passed, 1 failed` (exit 1).
set -euo pipefail
cd "$(dirname "$0")/../.."

python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3

work=$(mktemp -d "${TMPDIR:-/tmp}/breakglass-ops-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=0
step() { printf '[ops] %s\n' "$*"; }
run() {
    local label=$1; shift
    step "$label"
    if ! "$@" >"$work/out" 2>&1; then
        sed 's/^/  /' "$work/out"
        step "FAILED: $label"
        failed=1
        return 0
    fi
    sed 's/^/  /' "$work/out"
}

for f in "$@"; do
    [ -r "$f" ] || { echo "ops_check: cannot read $f" >&2; exit 2; }
done

if ! command -v promtool >/dev/null 2>&1; then
    step "promtool is not installed (Debian package prometheus: apt-get install --no-install-recommends prometheus)"
    failed=1
elif ! "$python" -c 'import yaml' 2>/dev/null; then
    step "$python has no yaml module (Debian package python3-yaml)"
    failed=1
else
    run "promtool check rules ops/prometheus/alerts.yml" promtool check rules ops/prometheus/alerts.yml
    run "promtool test rules ops/prometheus/alerts.test.yml" promtool test rules ops/prometheus/alerts.test.yml
    run "rules, tests, dashboard and docs use only the worker's metrics" \
        "$python" scripts/lib/ops_check.py static "$work/dashboard-queries.yml"
    if [ -s "$work/dashboard-queries.yml" ]; then
        run "the dashboard's PromQL parses (promtool check rules)" promtool check rules "$work/dashboard-queries.yml"
    fi
    if [ $# -gt 0 ]; then
        run "a real worker's /metrics exports every metric used: $*" "$python" scripts/lib/ops_check.py exported "$@"
    else
        step "no /metrics file given: the exported names are not checked against a real worker"
    fi
fi

if [ "$failed" -eq 0 ]; then
    echo "ops-rules: 1 passed, 0 failed"
else
    echo "ops-rules: 0 passed, 1 failed"
fi
exit "$failed"
