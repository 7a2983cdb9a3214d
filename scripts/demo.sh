#!/usr/bin/env bash
# The mn demo on this machine: installs what it needs, starts mnagent (which starts a local
# redis-server and podman service in the state directory), then deploys v1 of a small
# busybox httpd service, rolls it to v2, runs v3 as a canary and promotes it, sees v4 fail its
# health check and auto-revert to v3, rolls back to v1's manifest, shows that a broken manifest changes nothing, and stops the agent, leaving
# the service running.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_swift

export MN_STATE_DIR="${MN_STATE_DIR:-$PWD/.mn-demo}"
# Release builds, as users run them.
build_release mnctl >/dev/null
bin="$(dirname "$(build_release mnagent)")"
mnctl() { "$bin/mnctl" "$@"; }
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }
say() { printf '\n%s# %s%s\n' "$bold" "$*" "$plain"; }

# Waits until the latest version is Running (exit 0), or Failed / RolledBack (exit 1), as
# `mnctl deployment status --watch` reports it; gives up after 90 s.
wait_settled() {
    timeout 90 "$bin/mnctl" deployment status web --watch --output json >/dev/null
}
wait_running() {
    wait_settled || { echo "the deployment did not reach Running:" >&2; mnctl deployment status web >&2; return 1; }
}

# A clean slate: the previous demo's service and state go.
if [ -d "$MN_STATE_DIR" ]; then
    redis-cli -s "$MN_STATE_DIR/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    old="$(podman ps -aq --filter label=mn.deployment.key=web 2>/dev/null || true)"
    [ -z "$old" ] || podman rm -f $old >/dev/null
    rm -rf "$MN_STATE_DIR"
fi
# Waits until the canaries are healthy and wait for promotion (or 60 s pass).
wait_canary() { await_promotion "$bin/mnctl" web || { echo "timed out waiting for the canary" >&2; return 1; }; }

mkdir -p "$MN_STATE_DIR"
say "starting mnagent (state in $MN_STATE_DIR, log in $MN_STATE_DIR/agent.log)"
"$bin/mnagent" --resync-interval 2 >>"$MN_STATE_DIR/agent.log" 2>&1 &
agent=$!
trap 'kill -TERM $agent 2>/dev/null; wait $agent 2>/dev/null || true' EXIT

step mnctl validate Examples/web-v1.json Examples/web-v2.json
step mnctl apply Examples/web-v1.json
wait_running
step mnctl deployment status web
say "the service answers on its published port"
step curl -s http://127.0.0.1:18080/

step mnctl plan Examples/web-v2.json --from Examples/web-v1.json
step mnctl apply Examples/web-v2.json
wait_running
step mnctl deployment status web

say "a canary update: v3's canary runs first, and waits for a person to promote it"
step mnctl deployment deploy Examples/web-v3.json --key web --strategy canary --canary 1
wait_canary
step mnctl deployment status web
step mnctl deployment promote web
wait_running
step mnctl deployment status web

say "v4's health check fails: the update fails at healthy_deadline_ms and auto_revert brings back v3's manifest at once"
step mnctl apply Examples/web-v4.json
if wait_settled; then echo "v4 should not have become healthy" >&2; exit 1; fi
step mnctl deployment status web --events 4

say "rolling back: version 1's manifest becomes a new version; history is never rewritten"
step mnctl deployment rollback web --version 1 --reason "restore the v1 greeting"
wait_running
step mnctl deployment status web

say "a broken manifest is refused with every problem, and nothing is written"
mnctl apply Examples/broken.json 2>&1 || echo "(exit $?)"
step mnctl deployment list

say "stopping mnagent: the service keeps running (podman ps), and a new mnagent adopts it"
kill -TERM "$agent"
wait "$agent" || true
trap - EXIT
step podman ps --filter label=mn.deployment.key=web --format '{{.ID}}  {{.Names}}  {{.Status}}'
say "remove it with: podman rm -f \$(podman ps -aq --filter label=mn.deployment.key=web)"
