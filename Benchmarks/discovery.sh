#!/usr/bin/env bash
# Discovery, measured with the release binaries (Benchmarks/discovery.py says what and how):
# resolve and watch with 1,000 registered instances (a fresh redis-server of its own), then the
# rollback of a canary until discovery serves the old primaries again (a real mnagent, podman,
# under a node id of its own; its containers are removed at the end). Prints figures.
# Usage: Benchmarks/discovery.sh [RUNS]   (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
runs="${1:-100}"
mnctl="$(build_release mnctl)"
mnagent="$(build_release mnagent)"
ensure_busybox_image >/dev/null
dir="$(mktemp -d)"
node="bench-rbd-$$"
cleanup() {
    [ -z "${agent:-}" ] || { kill -TERM "$agent"; wait "$agent" || true; }
    ids="$(podman ps -aq --filter "label=mn.node=$node")"
    [ -z "$ids" ] || podman rm -f $ids >/dev/null
    redis-cli -s "$dir/bench.sock" shutdown nosave >/dev/null 2>&1 || true
    redis-cli -s "$dir/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
echo "# $(git rev-parse --short HEAD), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $runs runs"
redis-server --port 0 --unixsocket "$dir/bench.sock" --save '' --appendonly no --daemonize yes --dir "$dir" >/dev/null
for _ in $(seq 1 50); do [ -S "$dir/bench.sock" ] && break; sleep 0.1; done
[ "${MN_BENCH_SKIP_RESOLVE:-}" ] || python3 Benchmarks/discovery.py resolve "$mnctl" "$dir/bench.sock" "$runs"
export MN_STATE_DIR="$dir" MN_NODE_ID="$node"
"$mnagent" --resync-interval 2 --log-level warning >"$dir/agent.log" 2>&1 &
agent=$!
python3 Benchmarks/discovery.py rollback "$mnctl" "$runs"
