#!/usr/bin/env bash
# What an idle mnagent costs (issue 14, P5), with the release binaries, real redis-server and
# real podman: one deployment of COUNT busybox httpd instances with an HTTP health check every
# 2 s, running and settled; then, over SECONDS seconds, the agent's resident memory, its CPU
# time as a share of one core, and the Redis commands the store served (by command, from
# INFO commandstats; the agent is the only client, it leads, so the controller's are in).
# Prints figures; asserts nothing. Usage: Benchmarks/idle.sh [SECONDS [COUNT]]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_swift
seconds="${1:-60}"
count="${2:-1}"

mnctl="$(build_release mnctl)"
mnagent="$(build_release mnagent)"
export MN_STATE_DIR="$(mktemp -d)"
export MN_NODE_ID="idle-bench-$$"
"$mnagent" --log-level warning >"$MN_STATE_DIR/agent.log" 2>&1 &
agent=$!
cleanup() {
    kill -TERM "$agent" 2>/dev/null || true
    wait "$agent" 2>/dev/null || true
    ids="$(podman ps -aq --filter "label=mn.node=$MN_NODE_ID")"
    [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1 || true
    redis-cli -s "$MN_STATE_DIR/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$MN_STATE_DIR"
}
trap cleanup EXIT
for _ in $(seq 1 300); do [ -S "$MN_STATE_DIR/redis.sock" ] && [ -S "$MN_STATE_DIR/podman.sock" ] && break; sleep 0.1; done

cat >"$MN_STATE_DIR/idle.json" <<JSON
{"deployment":{"key":"idle"},"agents":[{"id":"web","image":"localhost/mn-busybox:1","count":$count,
 "args":["httpd","-f","-p","8080","-h","/www"],"ports":[{"name":"http","container_port":8080}],
 "health_checks":[{"kind":"http","port":8080,"path":"/","interval_ms":2000}],"lifecycle":{"grace_period_ms":500}}]}
JSON
"$mnctl" apply "$MN_STATE_DIR/idle.json" >/dev/null
timeout 60 "$mnctl" deployment status idle --watch >/dev/null
sleep 5  # settled: the passes the rollout's last events caused are over

redis() { redis-cli -s "$MN_STATE_DIR/redis.sock" "$@"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
redis CONFIG RESETSTAT >/dev/null
ticks_before=$(cpu_ticks)
sleep "$seconds"
ticks_after=$(cpu_ticks)
stats="$(redis INFO commandstats)"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
hz=$(getconf CLK_TCK)

echo "# idle mnagent, $count instance(s) with an HTTP check every 2 s, over $seconds s; mn $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
anon_kb=$(awk '/^Anonymous:/ {print $2}' "/proc/$agent/smaps_rollup")
echo "RSS: $((rss_kb / 1024)) MiB ($rss_kb kB), of which anonymous (heap, stacks) $((anon_kb / 1024)) MiB; the rest is file pages (the binary's, reclaimable)"
python3 - "$ticks_before" "$ticks_after" "$hz" "$seconds" <<'PY'
import sys
before, after, hz, seconds = map(float, sys.argv[1:])
print("CPU: %.3f %% of one core" % ((after - before) / hz / seconds * 100))
PY
# The stats command itself (INFO) is not the agent's.
printf '%s\n' "$stats" | python3 -c '
import sys
seconds = float(sys.argv[1])
calls = {}
for line in sys.stdin:
    line = line.strip()
    if line.startswith("cmdstat_"):
        name, rest = line[len("cmdstat_"):].split(":", 1)
        if name in ("info", "config|resetstat"):
            continue
        calls[name] = int(rest.split(",")[0].split("=")[1])
total = sum(calls.values())
print("Redis commands: %.0f a minute (%s)" % (total * 60 / seconds, ", ".join("%s %d" % (k, v) for k, v in sorted(calls.items(), key=lambda kv: -kv[1]))))
' "$seconds"
