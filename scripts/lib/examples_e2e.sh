#!/usr/bin/env bash
# End to end check of examples/producer.py and examples/bot.py against a real worker:
#   a private RabbitMQ node, the reference environment (`breakglass sim`, config/demo/fixtures.yaml), the topology,
#   one worker as scripts/demo runs it, and two bots (text and --json). The producer publishes, with publisher
#   confirms: grant-acme of config/demo/requests.json from its body file, then the very same message again (a
#   duplicate), then revoked-approval built from the producer's options (halts at the gate). Checks:
#   - `breakglass check` accepts the producer's signed output and rejects it with one body byte changed;
#   - the option-built body equals the demo's item and passes the contract schema;
#   - an unroutable publish is an error exit;
#   - each bot printed exactly: the granted outcome, its evidence-ready, the halt (APPROVAL_REVOKED, takeover id),
#     its evidence-ready, and nothing for the duplicate (the worker counted it suppressed before the halt was
#     published, and the console holds exactly one grant for the key).
# Prints `examples: 1 passed, 0 failed`, or the logs' tails and `examples: 0 passed, 1 failed`.
# usage: scripts/lib/examples_e2e.sh [--keep] [BREAKGLASS_BINARY]   (default: $(swift build --show-bin-path)/breakglass)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
# shellcheck source=scripts/lib/common.sh
. "$root/scripts/lib/common.sh"

keep=0
if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi
py=$(system_python)
umask 077   # keys, tokens, the broker password and the logs: owner only

run=$(mktemp -d /tmp/breakglass-examples.XXXXXX)
pids=()       # services, stopped by the cleanup
bot_pids=()   # the bots, until the run has waited for them (their pids are not signalled after that)
passed=0
t0=$SECONDS
step() { printf '[%3d s] %s\n' "$((SECONDS - t0))" "$*" >>"$run/steps.log"; }
fail() { step "FAILED: $*"; exit 1; }

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${bot_pids[@]}" "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${bot_pids[@]}" "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$passed" != 1 ]; then
        for f in "$run"/{steps.log,bot.out,bot.err,bot-json.out,bot-json.err,producer.out,producer.err} \
            "$run"/{rabbit.out,topology.out,sim.log,worker.log}; do
            [ -s "$f" ] || continue
            echo "--- ${f#"$run"/} (tail)"
            tail -n 25 "$f"
        done
    fi
    [ -f "$run/rabbit/node.env" ] && "$root/scripts/rabbitmq-node" stop "$run/rabbit" >/dev/null 2>&1 || true
    reap_port_guards
    if [ "$keep" = 1 ]; then echo "kept $run"; else rm -rf "$run"; fi
    if [ "$passed" = 1 ] && [ "$status" = 0 ]; then
        echo "examples: 1 passed, 0 failed"
    else
        echo "examples: 0 passed, 1 failed"
        [ "$status" = 0 ] && status=1
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A command failing under set -e names itself in steps.log (the ERR trap also runs under set +e: skipped there).
trap 'rc=$?; [[ $- == *e* ]] && step "FAILED (status $rc) at line $LINENO: $BASH_COMMAND"' ERR

# wait_for WHAT SECONDS COMMAND...: polls COMMAND until it succeeds; fails the run at the deadline.
wait_for() {
    local what=$1 deadline=$((SECONDS + $2))
    shift 2
    until "$@"; do
        [ $SECONDS -ge $deadline ] && fail "timed out waiting for $what"
        sleep 0.2
    done
}
lines_in() { [ -f "$1" ] && [ "$(grep -c . "$1")" -ge "$2" ]; }
metric() { curl -fsS --max-time 2 "http://127.0.0.1:$ops_port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
metric_at_least() {
    local v
    v=$(metric "$1" 2>/dev/null) && [ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN {exit !(v >= n)}'
}

bin=${1:-"$(swift build --show-bin-path 2>/dev/null)/breakglass"}
[ -x "$bin" ] || fail "no breakglass binary at $bin"
step "binary $bin; run folder $run"

amqp_port=$(free_port); sim_port=$(free_port); ops_port=$(free_port)
"$root/scripts/rabbitmq-node" start "$run/rabbit" "$amqp_port" >"$run/rabbit.out" 2>&1 || fail "RabbitMQ did not start"
step "RabbitMQ on 127.0.0.1:$amqp_port"
amqp_url="amqp://guest@127.0.0.1:$amqp_port/"   # the password is in a file, never in a URL or on a command line
printf 'guest\n' >"$run/amqp.password"

"$bin" keygen --out "$run/keys" --key-id escalation-examples >/dev/null
seed="$run/keys/escalation-examples.seed"
trusted="$run/keys/trusted-keys.json"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$run/sources.token"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$run/control.token"
printf 'sample-console-password\n' >"$run/console.password"
chmod 600 "$run"/*.token "$run"/*.password "$seed"

"$(dirname "$bin")/breakglass-lab" sim --port "$sim_port" --fixtures config/demo/fixtures.yaml --token-file "$run/sources.token" \
    --control-token-file "$run/control.token" >"$run/sim.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$sim_port/console/login" 30 || fail "the simulator did not answer"
step "simulator on 127.0.0.1:$sim_port"

"$bin" topology declare --url "$amqp_url" --password-file "$run/amqp.password" >"$run/topology.out" 2>&1 \
    || fail "topology declare failed"

# The bots first, so that they see every event.
broker=(--url "$amqp_url" --password-file "$run/amqp.password")
"$py" examples/bot.py "${broker[@]}" --count 4 --timeout 75 --ready-file "$run/bot.ready" \
    >"$run/bot.out" 2>"$run/bot.err" &
bot_pid=$!; bot_pids+=("$bot_pid")
"$py" examples/bot.py "${broker[@]}" --json --count 4 --timeout 75 --ready-file "$run/bot-json.ready" \
    >"$run/bot-json.out" 2>"$run/bot-json.err" &
bot_json_pid=$!; bot_pids+=("$bot_json_pid")
wait_for "the bots' queues" 20 test -f "$run/bot.ready" -a -f "$run/bot-json.ready"
step "bots bound"

BREAKGLASS_WORKER_ID="worker-examples" \
BREAKGLASS_AMQP_URL="$amqp_url" \
BREAKGLASS_AMQP_PASSWORD_FILE="$run/amqp.password" \
BREAKGLASS_WORKER_TRUSTED_KEYS_FILE="$trusted" \
BREAKGLASS_LEDGER_PATH="$run/ledger.sqlite" \
BREAKGLASS_EVIDENCE_DIR="$run/evidence" \
BREAKGLASS_SOURCES_BASE_URL="http://127.0.0.1:$sim_port" \
BREAKGLASS_SOURCES_TOKEN_FILE="$run/sources.token" \
BREAKGLASS_CONSOLE_URL="http://127.0.0.1:$sim_port" \
BREAKGLASS_CONSOLE_PASSWORD_FILE="$run/console.password" \
BREAKGLASS_OPS_PORT="$ops_port" \
    "$bin" run --config config/demo/worker.yaml >"$run/worker.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$ops_port/readyz" 60 || fail "the worker did not become ready"
step "worker ready"

# 1. grant-acme, from its body file (times filled in by the demo's batch writer), signed output kept for check.
"$py" scripts/lib/demo_batch.py config/demo/requests.json "$run/batch" >"$run/batch.tsv"
grant_body=$(awk -F'\t' '$1 ~ /-grant-acme$/ {print $2}' "$run/batch.tsv")
[ -f "$grant_body" ] || fail "no grant-acme body in the batch"
"$py" examples/producer.py --key "$seed" --body "$grant_body" "${broker[@]}" --write-signed "$run/grant" \
    --traceparent "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" --tracestate "examples=1" \
    >"$run/producer.out" 2>"$run/producer.err" || fail "producer: grant-acme not confirmed"
cmp -s "$grant_body" "$run/grant.body" || fail "the signed output is not the exact body"
wait_for "the grant's outcome and evidence-ready" 60 lines_in "$run/bot.out" 2
step "grant-acme: granted"

# 2. The same message again: a duplicate; the worker must settle it with no event at all.
"$py" examples/producer.py --key "$seed" --body "$grant_body" "${broker[@]}" \
    >>"$run/producer.out" 2>>"$run/producer.err" || fail "producer: the duplicate not confirmed"
wait_for "the worker to suppress the duplicate" 30 metric_at_least breakglass_duplicates_suppressed_total 1
step "duplicate suppressed by the worker"

# 3. revoked-approval, built from the producer's options (it halts at the gate: APPROVAL_REVOKED).
"$py" examples/producer.py --key "$seed" "${broker[@]}" --write-signed "$run/halt" \
    --request-id REQ-DEMO-0005 --case-id CASE-88131 --tenant-id tnt-1c88e4 --tenant-name Initech \
    --incident-id INC-5530 --requester-admin-id adm-7790 --identity-assurance-ref IDV-9920 \
    --role tenant-admin --scope users.reset-mfa --duration-minutes 60 \
    --approval incident-command APR-21 u-ic-12 --approval security APR-22 u-sec-3 \
    --approval customer-account-authority APR-23 c-ciso-2 \
    --packet-id PKT-80 --packet-sha256 44d33e912730bd0f786e5785ee64160e1869398aa072a14b949b0ec6cad53a58 \
    >>"$run/producer.out" 2>>"$run/producer.err" || fail "producer: revoked-approval not confirmed"

# An unroutable publish (no queue bound to that routing key) is an error exit, and publishes nothing.
set +e
"$py" examples/producer.py --key "$seed" --body "$grant_body" "${broker[@]}" --routing-key nowhere.bound \
    >>"$run/producer.out" 2>"$run/unroutable.err"
unroutable_status=$?
set -e
[ "$unroutable_status" = 1 ] && grep -q "unroutable" "$run/unroutable.err" \
    || fail "an unroutable publish exited $unroutable_status: $(cat "$run/unroutable.err")"

set +e
wait "$bot_pid"; bot_status=$?
wait "$bot_json_pid"; bot_json_status=$?
set -e
bot_pids=()
[ "$bot_status" = 0 ] && [ "$bot_json_status" = 0 ] || fail "bots exited $bot_status / $bot_json_status"
step "bots done"

# breakglass check: the producer's signed output is accepted as is, and rejected with one body byte changed.
for name in grant halt; do
    "$bin" check "$run/$name.body" --signature "$(cat "$run/$name.signature")" --trusted-keys "$trusted" \
        >"$run/check-$name.out" 2>&1 || fail "breakglass check rejected $name.body: $(cat "$run/check-$name.out")"
done
"$py" - "$run/grant.body" "$run/tampered.body" <<'EOF'
import sys
body = bytearray(open(sys.argv[1], "rb").read())
at = body.index(b"Acme Corp")   # still valid JSON: only the signature can catch it
body[at] = ord("B")
open(sys.argv[2], "wb").write(body)
EOF
set +e
"$bin" check "$run/tampered.body" --signature "$(cat "$run/grant.signature")" --trusted-keys "$trusted" \
    >"$run/check-tampered.out" 2>&1
tampered_status=$?
set -e
[ "$tampered_status" = 1 ] && grep -q "SIGNATURE_INVALID" "$run/check-tampered.out" \
    || fail "breakglass check on a changed body exited $tampered_status: $(cat "$run/check-tampered.out")"
"$py" scripts/lib/contract_check.py request "$run/grant.body" "$run/halt.body" >"$run/contract.out" 2>&1 \
    || fail "the producer's bodies fail the contract schema"
step "breakglass check: accepted, tampered copy rejected"

# What the bots printed, exactly; the worker's and the console's own counts.
curl -fsS --max-time 5 "http://127.0.0.1:$ops_port/metrics" >"$run/metrics.txt" || fail "no worker metrics"
curl -fsS --max-time 5 -H "Authorization: Bearer $(cat "$run/control.token")" \
    "http://127.0.0.1:$sim_port/control/grants" >"$run/grants.json" || fail "no console grant counts"
"$py" - "$run" <<'EOF' >"$run/verdict.out" 2>&1 || fail "$(cat "$run/verdict.out")"
import json, re, sys

run = sys.argv[1]
problems = []

# The option-built body is the demo's revoked-approval item, field for field (times aside).
item = next(i for i in json.load(open("config/demo/requests.json"))["items"] if i["name"] == "revoked-approval")
built = json.load(open(f"{run}/halt.body"))
for body in (item["body"], built):
    body.pop("enqueued_at"); body.pop("not_after")
if built != item["body"]:
    problems.append(f"the producer built {built}, the demo's item is {item['body']}")

text = [line.rstrip("\n") for line in open(f"{run}/bot.out")]
expected = [
    r"GRANTED  case CASE-88121 tenant tnt-4f9a2c request REQ-DEMO-0001 confirmation (\S+) "
    r"scopes admins\.restore,users\.reset-mfa until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
    r"EVIDENCE case CASE-88121 tenant tnt-4f9a2c request REQ-DEMO-0001 bundle (\S+) \(\d+ artifacts\) at (\S+)",
    r"HALTED   case CASE-88131 tenant tnt-1c88e4 request REQ-DEMO-0005 stage gate reasons APPROVAL_REVOKED "
    r"takeover (\S+)",
    r"EVIDENCE case CASE-88131 tenant tnt-1c88e4 request REQ-DEMO-0005 bundle (\S+) \(\d+ artifacts\) at (\S+)",
]
if len(text) != len(expected):
    problems.append(f"the bot printed {len(text)} lines, expected {len(expected)}")
for number, (line, pattern) in enumerate(zip(text, expected), start=1):
    if not re.fullmatch(pattern, line):
        problems.append(f"bot line {number} {line!r} does not match {pattern!r}")

rows = [json.loads(line) for line in open(f"{run}/bot-json.out")]
want = [("outcome", "CASE-88121", {"result": "granted", "request_id": "REQ-DEMO-0001"}),
        ("evidence-ready", "CASE-88121", {"request_id": "REQ-DEMO-0001"}),
        ("halted", "CASE-88131", {"stage": "gate", "reasons": ["APPROVAL_REVOKED"], "escalate": False}),
        ("evidence-ready", "CASE-88131", {"request_id": "REQ-DEMO-0005"})]
if len(rows) != len(want):
    problems.append(f"the --json bot printed {len(rows)} lines, expected {len(want)}")
# Contract 1.1: the grant was published with a traceparent; its events continue that trace under the worker's own
# span (same trace id, another span id); the halt's request carried none, so its events carry none.
for row in rows:
    trace = row.get("traceparent")
    if row.get("case_id") == "CASE-88121":
        if not (isinstance(trace, str) and trace.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
                and "-00f067aa0ba902b7-" not in trace):
            problems.append(f"{row.get('kind')} of CASE-88121 carries traceparent {trace!r}")
    elif trace is not None:
        problems.append(f"{row.get('kind')} of {row.get('case_id')} carries a traceparent its request did not have")
for row, (kind, case, fields) in zip(rows, want):
    if row.get("kind") != kind or row.get("case_id") != case or any(row.get(k) != v for k, v in fields.items()):
        problems.append(f"--json line {row} is not {kind} {case} {fields}")
if len({row.get("event_id") for row in rows}) != len(rows):
    problems.append("the --json bot printed one event id twice")
for row in rows:
    if row.get("kind") == "evidence-ready" and not (row.get("location") or "").endswith(row.get("bundle_id") or "?"):
        problems.append(f"evidence location {row.get('location')} does not end with its bundle id")
if len(rows) > 2 and not rows[0].get("confirmation_id"):
    problems.append("the granted outcome has no confirmation id")
if len(rows) > 2 and not rows[2].get("takeover_id"):
    problems.append("the halt has no takeover id")

for name in ("bot.err", "bot-json.err"):
    tail = open(f"{run}/{name}").read().strip().splitlines()[-1:]
    if not tail or not tail[0].startswith("bot: 4 distinct events,") or not tail[0].endswith(" 0 ignored"):
        problems.append(f"{name}: {tail}")

metrics = {}
for line in open(f"{run}/metrics.txt"):
    if line.startswith("breakglass_") and " " in line:
        name, value = line.rsplit(" ", 1)
        metrics[name] = float(value)
if metrics.get("breakglass_duplicates_suppressed_total") != 1:
    problems.append(f"duplicates suppressed: {metrics.get('breakglass_duplicates_suppressed_total')}, expected 1")
outcomes = {k: v for k, v in metrics.items() if k.startswith("breakglass_outcomes_total")}
if sum(outcomes.values()) != 2:
    problems.append(f"worker outcomes {outcomes}, expected one granted and one halted")

grants = json.load(open(f"{run}/grants.json")).get("counts", [])
acme = [g for g in grants if g.get("tenant_id") == "tnt-4f9a2c"]
if sum(g.get("count", 0) for g in grants) != 1 or sum(g.get("count", 0) for g in acme) != 1:
    problems.append(f"console grants {grants}, expected exactly one, for tnt-4f9a2c")

for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
EOF
step "bot lines, worker counts and console grants as expected; $((SECONDS - t0)) s"
passed=1
