# Shared shell helpers for scripts/test, scripts/demo, scripts/bench and scripts/chaos. Source it.

# The Debian packages the project needs at build and run time.
BREAKGLASS_APT_PACKAGES=(librabbitmq-dev libsqlite3-dev libssl-dev rabbitmq-server chromium chromium-driver python3-pika python3-jsonschema python3-yaml python3-cryptography python3-venv prometheus tini openssl curl sqlite3 nftables postgresql-15 postgresql-client-15 python3-psycopg2 iproute2)

# Installs whatever of BREAKGLASS_APT_PACKAGES is missing (as root, or through sudo).
ensure_packages() {
    local missing=()
    for p in "${BREAKGLASS_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    local t=$SECONDS
    echo "[setup] installing: ${missing[*]}"
    # postgresql-15's postinst would create and start a system cluster on 5432; the scripts start private servers
    # (scripts/postgres-node) and need only the binaries.
    if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
        $sudo mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    $sudo apt-get update -qq
    # rabbitmq-server's postinst would try to start a system node; without systemd that fails harmlessly.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The prometheus package (installed for promtool) may start a server on :9090 where an init system runs; the
    # scripts need only promtool.
    if [ -f /run/prometheus/prometheus.pid ]; then kill "$(cat /run/prometheus/prometheus.pid)" 2>/dev/null || true; fi
    pkill -x prometheus 2>/dev/null || true
    echo "[setup] installed in $((SECONDS - t)) s"
    command -v swift >/dev/null || { echo "swift is not on PATH (expected at /opt/swift/usr/bin)" >&2; return 1; }
}

# Prints a free TCP port on 127.0.0.1.
# Chosen below the kernel's ephemeral range (ip_local_port_range), at random: a port the kernel hands out (port 0)
# can be taken by any outgoing connection or by RabbitMQ's distribution listener before our process binds it (the
# examples' simulator once met "Address already in use" that way).
free_port() {
    python3 - <<'PY'
import random, socket
low = 32768
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError):
    pass
for _ in range(200):
    port = random.randint(max(1025, low - 12000), low - 1)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
PY
}

# wait_http URL SECONDS: waits until URL answers 2xx.
wait_http() {
    local url=$1 deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}

# Prints the closing lines of swift test runs so the totals are easy to find.
summarise_tests() {
    local files=("$@")
    echo
    echo "== test summary =="
    grep -hE '^(✔|✘|􁁛|􀢄)? ?Test run with [0-9]+ tests?.*(passed|failed)|Executed [0-9]+ tests' "${files[@]}" 2>/dev/null || true
    grep -hE '✘|􀢄' "${files[@]}" 2>/dev/null | grep -E 'recorded an issue|failed' | head -40 || true
}

# The Debian interpreter, where apt's python3-pika lives (a pyenv python3 earlier on PATH does not have it).
# ensure_test_venv DIR: a virtualenv in DIR with the PyPI tools the checks use (pinned: schemathesis for the status
# API, openapi-spec-validator for the contract documents); prints DIR.
ensure_test_venv() {
    local dir=$1 schemathesis=4.32.5 validator=0.9.0
    if [ ! -x "$dir/bin/schemathesis" ] || ! "$dir/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis" \
        || ! "$dir/bin/python" -c "import openapi_spec_validator" 2>/dev/null; then
        rm -rf "$dir"
        "$(system_python)" -m venv "$dir" >&2 || return 1
        local attempt
        for attempt in 1 2 3; do
            "$dir/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis" \
                "openapi-spec-validator==$validator" >&2 && break
            [ "$attempt" = 3 ] && { echo "schemathesis / openapi-spec-validator could not be installed from PyPI" >&2; return 1; }
            echo "[setup] pip install failed (attempt $attempt); trying again" >&2
        done
    fi
    echo "$dir"
}

system_python() {
    if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

# Deletes the nftables tables `breakglass_webdriver_<port>` (the worker's chromedriver port guard, see
# docs/SECURITY.md) whose port nothing listens on any more: a worker killed with SIGKILL cannot remove its own.
reap_port_guards() {
    command -v nft >/dev/null 2>&1 || return 0
    [ "$(id -u)" -eq 0 ] || return 0
    local table port
    for table in $(nft list tables 2>/dev/null | awk '$2 == "inet" && $3 ~ /^breakglass_webdriver_[0-9]+$/ {print $3}'); do
        port=${table##*_}
        if ! ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
            nft delete table inet "$table" 2>/dev/null || true
        fi
    done
}
