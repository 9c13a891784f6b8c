#!/usr/bin/env bash
# The restoration status API of a running worker against its OpenAPI document (docs/api/status.openapi.yaml), with
# schemathesis: every operation, generated and example inputs, every check (status codes, content types, response
# schemas, no 5xx), with the token; and a handful of requests without it (401 on every path).
# usage: status_api_check.sh SCHEMATHESIS_BINARY BASE_URL TOKEN_FILE
# Prints `status-api: 1 passed, 0 failed` (exit 0) or `status-api: 0 passed, 1 failed` (exit 1).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
st=$1 base=$2 token_file=$3
out=$(mktemp -d /tmp/breakglass-status-api.XXXXXX)
trap 'rm -rf "$out"' EXIT
ok=1
# The token is the demo run's own throwaway one; it reaches schemathesis by -H (so its command line shows it) and
# is masked in anything printed here.
# Run from the temp folder: schemathesis keeps a cache folder (.schemathesis) in its working folder.
if ! (cd "$out" && "$st" run "$root/docs/api/status.openapi.yaml" --url "$base" -H "Authorization: Bearer $(cat "$token_file")" \
        --checks all --max-examples 40 --seed 20261202 --generation-deterministic --phases examples,coverage,fuzzing --exclude-checks positive_data_acceptance \
        --suppress-health-check all --no-color >"$out/schemathesis.log" 2>&1); then
    ok=0
    tail -n 60 "$out/schemathesis.log" | sed "s/$(cat "$token_file")/***/g"
fi
grep -E "passed|failed|Tested operations|Test cases" "$out/schemathesis.log" | tail -n 4 | sed 's/^/  /'
for path in /v1/restorations/CASE-88121/tnt-4f9a2c /v1/takeovers /v1/evidence/x; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base$path")
    if [ "$code" != 401 ]; then echo "  $path without a token answered $code, not 401"; ok=0; fi
done
if [ "$ok" = 1 ]; then echo "status-api: 1 passed, 0 failed"; exit 0; fi
echo "status-api: 0 passed, 1 failed"
exit 1
