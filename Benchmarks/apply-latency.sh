#!/usr/bin/env bash
# Measures, on this machine, with the real binaries, real redis-server and real podman:
#   - apply latency: from starting `mnctl apply` of a new deployment to podman's "create"
#     event for its container (agent wake-up, Redis reads, podman list, reconcile, create);
#   - how long `mnctl apply` itself takes (process start, validation, Redis transaction);
#   - the idle agent's resident memory after the runs.
# Prints figures; asserts nothing. Usage: Benchmarks/apply-latency.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_swift
runs="${1:-20}"

# Release builds: what users run, and what the figures are about.
build_release mnctl >/dev/null
bin="$(dirname "$(build_release mnagent)")"
export MN_STATE_DIR="$(mktemp -d)"
export MN_NODE_ID="bench-node"
"$bin/mnagent" --resync-interval 60 --log-level warning >"$MN_STATE_DIR/agent.log" 2>&1 &
agent=$!
cleanup() {
    kill -TERM "$agent" 2>/dev/null || true
    wait "$agent" 2>/dev/null || true
    podman rm -f $(podman ps -aq --filter label=mn.node=bench-node) >/dev/null 2>&1 || true
    redis-cli -s "$MN_STATE_DIR/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$MN_STATE_DIR"
}
trap cleanup EXIT
for _ in $(seq 1 300); do [ -S "$MN_STATE_DIR/redis.sock" ] && [ -S "$MN_STATE_DIR/podman.sock" ] && break; sleep 0.1; done
sleep 1  # let the agent finish its first (empty) pass

run="$(date +%s)"  # keys unique to this run, so no earlier run's events are counted
latencies=()
apply_times=()
for i in $(seq 1 "$runs"); do
    manifest="$MN_STATE_DIR/bench-$i.json"
    cat >"$manifest" <<JSON
{"deployment":{"key":"bench-$run-$i"},"agents":[{"id":"app","image":"localhost/mn-busybox:1","args":["sleep","600"],
 "lifecycle":{"grace_period_ms":1000}}]}
JSON
    sleep 0.5  # let the agent finish the passes the previous sample's events caused: measure an idle agent
    start=$(date +%s%N)
    "$bin/mnctl" apply "$manifest" >/dev/null
    applied=$(date +%s%N)
    created=""
    for _ in $(seq 1 200); do
        created=$(podman events --stream=false --since 1m --filter event=create --filter "label=mn.deployment.key=bench-$run-$i" \
            --format json 2>/dev/null | python3 -c '
import sys, json, datetime
for line in sys.stdin:
    t = json.loads(line)["Time"]
    whole, frac = t.rstrip("Z").split(".")
    base = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    print(int(base.timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9]))
    break')
        [ -n "$created" ] && break
        sleep 0.05
    done
    [ -n "$created" ] || { echo "no create event for bench-$run-$i; see $MN_STATE_DIR/agent.log" >&2; exit 1; }
    latencies+=($(((created - start) / 1000000)))
    apply_times+=($(((applied - start) / 1000000)))
done

sleep 5
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %d ms, p90 %d ms, min %d ms, max %d ms (n=%d)", a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[1], a[NR], NR}'; }
echo "apply -> podman create event: $(stats "${latencies[@]}")"
echo "mnctl apply (process start to exit): $(stats "${apply_times[@]}")"
echo "idle mnagent RSS after $runs deployments: $((rss_kb / 1024)) MiB ($rss_kb kB)"
echo "build: $(basename "$(dirname "$bin")")/$(basename "$bin") (debug unless built with -c release)"
