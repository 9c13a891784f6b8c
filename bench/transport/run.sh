#!/usr/bin/env bash
# scripts/bench transport: consume+ack and publish-with-confirms throughput of BreakGlassAMQP, a raw
# rabbitmq-c C loop and Python pika, one after the other on the same private RabbitMQ node (started here on a
# free port, stopped at the end). Release builds: the C loop with -O2, BreakGlassAMQP with swiftc -O -wmo from
# the library sources (same code as the package target, built outside SwiftPM so the benchmark needs no extra
# package product). Writes bench/results/transport.json.
# Each client run goes through bench/machine_load.py measure: the CPU other processes used meanwhile (the client and
# the broker are the bench's) is recorded per client and round, and in transport.json as "load" per client.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
messages=50000 size=1024 prefetch=200 window=1000 rounds=2 clients="c breakglass pika"
while [ $# -gt 0 ]; do
    case "$1" in
    --messages) messages=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --prefetch) prefetch=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;  # for quick comparisons; the JSON needs all three
    *) echo "bench transport: unknown option $1" >&2; exit 2 ;;
    esac
done

build=${BENCH_BUILD_DIR:-$root/.build-release/bench-transport}
mkdir -p "$build" "$root/bench/results"
# Every compiler run of the project goes through one lock (2-core machine: one compiler at a time).
lock=${BREAKGLASS_BUILD_LOCK:-/tmp/breakglass-build.lock}

echo "== building (release)" >&2
cc -O2 -o "$build/bench_c" "$root/bench/transport/bench_c.c" $(pkg-config --cflags --libs librabbitmq)
checkouts=""
for candidate in "$root/.build-release/checkouts" "$root/.build/checkouts"; do
    [ -d "$candidate/swift-log/Sources/Logging" ] && { checkouts=$candidate; break; }
done
if [ -z "$checkouts" ]; then echo "bench transport: swift-log checkout missing (run the release build once)" >&2; exit 1; fi
log_sources=$(find "$checkouts/swift-log/Sources/Logging" -name '*.swift')
# The transport layer alone: files that need BreakGlassCore (the signed-request wire form) are not part of it.
amqp_sources=()
for file in "$root"/Sources/BreakGlassAMQP/*.swift; do
    grep -q "import BreakGlassCore" "$file" || amqp_sources+=("$file")
done
flock "$lock" swiftc -O -wmo -parse-as-library -package-name swift_log -module-name Logging -emit-module -emit-module-path "$build/Logging.swiftmodule" \
    -emit-library -static -o "$build/libLogging.a" $log_sources >&2
flock "$lock" swiftc -O -wmo -parse-as-library -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -enable-upcoming-feature InternalImportsByDefault -module-name BreakGlassAMQP -I "$build" -I "$root/Sources/CRabbitMQ" \
    -emit-module -emit-module-path "$build/BreakGlassAMQP.swiftmodule" -emit-library -static -o "$build/libBreakGlassAMQP.a" \
    "${amqp_sources[@]}" >&2
flock "$lock" swiftc -O -wmo -parse-as-library -swift-version 6 -module-name BenchTransport -I "$build" -I "$root/Sources/CRabbitMQ" \
    -L "$build" -lBreakGlassAMQP -lLogging -lswiftSynchronization -lrabbitmq -o "$build/bench-transport" "$root/bench/transport/BenchTransport.swift" >&2
# Debian's python3-pika lives in the system interpreter (a pyenv python3 on PATH does not see it).
python=""
for candidate in "${PYTHON:-}" /usr/bin/python3 python3; do
    if [ -n "$candidate" ] && "$candidate" -c "import pika" 2>/dev/null; then python=$candidate; break; fi
done
[ -n "$python" ] || { echo "bench transport: python3-pika missing (apt-get install -y python3-pika)" >&2; exit 1; }

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
port=""
for _ in $(seq 1 100); do
    candidate=$((30000 + RANDOM % 10000))
    if port_free "$candidate" && port_free $((candidate + 20000)); then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "bench transport: no free port" >&2; exit 1; }
node_dir=$(mktemp -d /tmp/bench-transport-broker.XXXXXX)
echo "== starting a private broker on 127.0.0.1:$port ($node_dir)" >&2
"$root/scripts/rabbitmq-node" start "$node_dir" "$port" </dev/null >/dev/null
loads=$(mktemp -d /tmp/bench-transport-load.XXXXXX)
cleanup() { "$root/scripts/rabbitmq-node" stop "$node_dir" >/dev/null 2>&1 || true; rm -rf "$node_dir" "$loads"; }
trap cleanup EXIT
# The broker daemonizes out of this script's process tree: named, so that its CPU counts as the bench's.
broker_pid=$("$root/scripts/rabbitmq-node" pid "$node_dir" || true)
measure() {
    local out=$1; shift
    python3 "$root/bench/machine_load.py" measure --out "$out" ${broker_pid:+--extra-pid "$broker_pid"} -- "$@"
}

results=$(mktemp)
for round in $(seq 1 "$rounds"); do
    for client in $clients; do
        queue="bench.transport.$client.$round.$$"
        echo "== round $round: $client ($messages x $size B, prefetch $prefetch)" >&2
        load="$loads/$client.$round.json"
        case "$client" in
        c) measure "$load" "$build/bench_c" 127.0.0.1 "$port" "$queue" "$messages" "$size" "$prefetch" "$window" >>"$results" ;;
        breakglass) measure "$load" "$build/bench-transport" "amqp://guest:guest@127.0.0.1:$port/" "$queue" "$messages" "$size" "$prefetch" "$window" >>"$results" ;;
        pika) measure "$load" "$python" "$root/bench/transport/bench_pika.py" 127.0.0.1 "$port" "$queue" "$messages" "$size" "$prefetch" >>"$results" ;;
        esac
        tail -n 1 "$results" >&2
        echo "   other processes used $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["foreign_cores"])' "$load") cores meanwhile" >&2
    done
done

python3 - "$results" "$root/bench/results/transport.json" "$messages" "$size" "$prefetch" "$window" "$rounds" "$loads" "$root" <<'PY'
import json, statistics, sys, datetime, os, subprocess
path, out, messages, size, prefetch, window, rounds = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:8])
loads_dir, root = sys.argv[8], sys.argv[9]
sys.path.insert(0, os.path.join(root, "bench"))
import machine_load
runs = [json.loads(line) for line in open(path) if line.strip()]
# The machine's load during each client run (bench/machine_load.py), per client over the rounds: the worst round is
# what bench/summary.py judges a ratio by.
load_rounds = {}
for client in ("breakglass", "c", "pika"):
    for round_number in range(1, rounds + 1):
        load_path = os.path.join(loads_dir, f"{client}.{round_number}.json")
        if os.path.exists(load_path):
            load_rounds.setdefault(client, []).append(json.load(open(load_path)))
def median(client, key):
    values = [r[key] for r in runs if r["client"] == client]
    return round(statistics.median(values), 1) if values else float("nan")
consume = {c: median(c, "consume_msgs_per_s") for c in ("breakglass", "c", "pika")}
publish = {c: median(c, "publish_msgs_per_s") for c in ("breakglass", "c", "pika")}
result = {
    "benchmark": "transport",
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "command": "scripts/bench transport --messages %d --size %d --prefetch %d --window %d --rounds %d" % (messages, size, prefetch, window, rounds),
    "messages": messages, "body_bytes": size, "prefetch": prefetch, "publish_window": window, "rounds": rounds,
    "cpus": os.cpu_count(),
    "consume_ack_msgs_per_s": consume,
    "publish_confirmed_msgs_per_s": publish,
    "ratios": {
        "consume_vs_c": round(consume["breakglass"] / consume["c"], 3),
        "consume_vs_pika": round(consume["breakglass"] / consume["pika"], 3),
        "publish_vs_c": round(publish["breakglass"] / publish["c"], 3),
        "publish_vs_pika": round(publish["breakglass"] / publish["pika"], 3),
    },
    "load": {client: machine_load.combine(loads) for client, loads in load_rounds.items()},
    "load_rounds": load_rounds,
    "notes": "medians over rounds; same private RabbitMQ node, persistent messages, durable classic queue; "
             "pika publishes through BlockingChannel.confirm_delivery (one confirm wait per publish); "
             "C and BreakGlassAMQP pipeline up to publish_window unconfirmed publishes; load: CPU used by other "
             "processes than the client and the broker during each client run (bench/machine_load.py)",
    "runs": runs,
}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps({"consume_ack_msgs_per_s": consume, "publish_confirmed_msgs_per_s": publish, "ratios": result["ratios"]}, indent=2))
PY
rm -f "$results"
