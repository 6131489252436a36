#!/usr/bin/env bash
# compat.sh — the seed's walk-through (spec seed §"Walk-through", 2+2+2 system) driven over the
# reference patching REST API with curl alone, printing every request and answer.
#
#   tools/compat/compat.sh            # starts its own controller + 6 agents (needs rpmbuild, rpm)
#   COMPAT_API=http://127.0.0.1:5487 tools/compat/compat.sh --external
#                                     # only the curl walk against a running controller whose
#                                     # hosts are already up (local trust, or COMPAT_TOKEN set)
#
# Environment: COMPAT_API_PORT (default 5487; 0 is not supported), COMPAT_TOKEN (sent as
# X-Auth-Token; default none: the controller runs with --patch-api-local-trust), COMPAT_KEEP=1
# keeps the work dir of a passing run (a failed run always keeps it, with its logs). The controller is started as
#   sw-patch-controller --listen 127.0.0.1:0 --patch-api-listen 127.0.0.1:$PORT --patch-api-local-trust.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORT=${COMPAT_API_PORT:-5487}
API=${COMPAT_API:-http://127.0.0.1:$PORT}
EXTERNAL=0
[[ "${1:-}" == "--external" ]] && EXTERNAL=1
HOSTS=(controller-0 controller-1 storage-0 storage-1 compute-0 compute-1)
declare -A PERSONALITY=([controller-0]=controller [controller-1]=controller [storage-0]=storage [storage-1]=storage [compute-0]=worker [compute-1]=worker)
declare -A MGMT_IP=([controller-0]=192.178.204.2 [controller-1]=192.178.204.3 [compute-0]=192.178.204.7 [compute-1]=192.178.204.8 [storage-0]=192.178.204.9 [storage-1]=192.178.204.10)
PIDS=()
WORK=""

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]:-}"; do [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true; done
  # A failed run keeps its work dir (controller and agent logs); a passing one removes it unless COMPAT_KEEP=1.
  if [[ -n "$WORK" && $rc -eq 0 && "${COMPAT_KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; fi
  if [[ $rc -eq 0 ]]; then echo "compat: OK"; else echo "compat: FAILED (rc $rc)${WORK:+, logs kept in $WORK}" >&2; fi
}
trap cleanup EXIT

fail() { echo "compat: $*" >&2; exit 1; }

BODY=""
# req METHOD PATH [curl args...]: prints the request and the answer; the body lands in $BODY.
req() {
  local method=$1 path=$2; shift 2
  local auth=()
  [[ -n "${COMPAT_TOKEN:-}" ]] && auth=(-H "X-Auth-Token: $COMPAT_TOKEN")
  echo ">>> $method $API$path"
  local out
  out=$(curl -sS -X "$method" "${auth[@]}" -w $'\n%{http_code}' "$@" "$API$path")
  BODY=${out%$'\n'*}
  CODE=${out##*$'\n'}
  echo "<<< HTTP $CODE $BODY"
  [[ "$CODE" == 200 ]] || fail "expected HTTP 200 for $method $path, got $CODE"
}
# expect TEXT: the last body contains TEXT (JSON-escaped, e.g. '001 is now available\n').
expect() { [[ "$BODY" == *"$1"* ]] || fail "expected the answer to contain: $1"; }
# json EXPR: evaluates EXPR over the last body as `b` with node, prints the result.
json() { node -e "const b=JSON.parse(process.argv[1]); process.stdout.write(String($1))" "$BODY"; }

wait_hosts() { # wait_hosts EXPR_OVER_DATA DESCRIPTION
  local tries=0
  while :; do
    local out auth=()
    [[ -n "${COMPAT_TOKEN:-}" ]] && auth=(-H "X-Auth-Token: $COMPAT_TOKEN")
    out=$(curl -sS "${auth[@]}" "$API/patch/query_hosts")
    if [[ $(node -e "const d=JSON.parse(process.argv[1]).data; process.stdout.write(String($1))" "$out") == true ]]; then return 0; fi
    tries=$((tries + 1))
    [[ $tries -gt 600 ]] && fail "timed out waiting for: $2 (last: $out)"
    sleep 0.2
  done
}

patchstate() { req GET "/patch/query"; json "b.pd['001'] && b.pd['001'].patchstate"; echo; }

start_system() {
  command -v curl >/dev/null || fail "curl is required"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/swpatch-compat-XXXXXX")
  echo "== building the base feed and 001.patch in $WORK"
  (cd "$ROOT" && npx --no-install tsx tools/compat/make-fixtures.ts "$WORK") || fail "fixture build failed (rpmbuild installed? npm run build done?)"
  local args=(--data-dir "$WORK/data" --listen 127.0.0.1:0 --release 19.09 --log-level warn
    --trust "$ROOT/test/fixtures/starlingx/dev-certificate.pem:dev" --trust "$ROOT/test/fixtures/starlingx/formal-certificate.pem:formal"
    --base-feed "$WORK/feed" --patch-api-listen "127.0.0.1:$PORT" --patch-api-local-trust)
  echo "== starting bin/sw-patch-controller ${args[*]}"
  node "$ROOT/bin/sw-patch-controller" "${args[@]}" >"$WORK/controller.out" 2>"$WORK/controller.err" &
  PIDS+=($!)
  local grpc="" i
  for i in $(seq 1 300); do
    grpc=$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$WORK/controller.out" | head -1)
    [[ -n "$grpc" ]] && grep -q "127.0.0.1:$PORT" "$WORK/controller.out" 2>/dev/null && break
    kill -0 "${PIDS[0]}" 2>/dev/null || fail "controller exited: $(cat "$WORK/controller.err")"
    sleep 0.1
  done
  grep -q "127.0.0.1:$PORT" "$WORK/controller.out" || fail "patch API did not come up on 127.0.0.1:$PORT: $(cat "$WORK/controller.err")"
  echo "== controller gRPC on $grpc, patch API on $API; starting ${#HOSTS[@]} agents"
  for h in "${HOSTS[@]}"; do
    node "$ROOT/bin/sw-patch-agent" --controller "$grpc" --hostname "$h" --personality "${PERSONALITY[$h]}" --mgmt-ip "${MGMT_IP[$h]}" \
      --root "$WORK/roots/$h" --provision --reboot-delay-ms 100 --log-level warn --token-file "$WORK/data/admin.token" 2>"$WORK/agent-$h.err" &
    PIDS+=($!)
  done
  wait_hosts "d.length === ${#HOSTS[@]} && d.every(h => h.state === 'idle' && h.patch_current)" "every host provisioned and idle"
}

install_everywhere() { # host-install as `sw-patch host-install` does: async request, then poll
  for h in "${HOSTS[@]}"; do
    req POST "/patch/host_install_async/$h"
    expect "Patch installation request sent to $h."
    wait_hosts "(x => x && x.state === 'idle' && x.patch_current && !x.interim_state)(d.find(h => h.hostname === '$h'))" "$h installed"
    echo "    $h: Installation was successful."
  done
}

[[ $EXTERNAL == 1 ]] || start_system

echo "== / and the API versions"
req GET "/"
expect "Titanium Cloud Patching API, Available versions: /v1"

if [[ $EXTERNAL == 0 ]]; then
  echo "== sw-patch upload 001.patch"
  req POST "/patch/upload" -F "file=@$WORK/001.patch"
  expect '001 is now available\n'
fi

echo "== sw-patch query"
req GET "/patch/query?show=all"
[[ $(json "b.pd['001'].patchstate") == Available ]] || fail "001 should be Available"
[[ $(json "b.pd['001'].reboot_required") == N ]] || fail "001 should be RR=N"

echo "== sw-patch query-hosts"
req GET "/patch/query_hosts"
[[ $(json "b.data.every(h => h.patch_current && h.sw_version === '19.09' && h.state === 'idle')") == true ]] || fail "every host should be current and idle"

echo "== sw-patch apply 001"
req POST "/patch/apply/001"
expect '001 is now in the repo\n'
patchstate
[[ $(json "b.pd['001'].patchstate") == Partial-Apply ]] || fail "001 should be Partial-Apply"
wait_hosts "d.every(h => !h.patch_current)" "every host Patch Current = No"
req GET "/patch/query_hosts"

echo "== sw-patch host-install <host>, every host"
install_everywhere
patchstate
[[ $(json "b.pd['001'].patchstate") == Applied ]] || fail "001 should be Applied"
req POST "/patch/is_applied/001"
[[ "$BODY" == true ]] || fail "is_applied should be true"

echo "== sw-patch remove 001, then host-install on every host"
req POST "/patch/remove/001"
expect '001 has been removed from the repo\n'
patchstate
[[ $(json "b.pd['001'].patchstate") == Partial-Remove ]] || fail "001 should be Partial-Remove"
install_everywhere
patchstate
[[ $(json "b.pd['001'].patchstate") == Available ]] || fail "001 should be Available again"
req POST "/patch/is_available/001"
[[ "$BODY" == true ]] || fail "is_available should be true"

echo "== sw-patch delete 001"
req POST "/patch/delete/001"
expect '001 has been deleted\n'
req GET "/patch/query"
[[ "$BODY" == '{"pd":{}}' ]] || fail "no patch should remain"
