#!/usr/bin/env bash
# Runs the command lines of README.md's "Use" section verbatim, in order, with the release
# binaries first on PATH, against the `mnagent &` the section starts (node and state of their
# own), waiting only where a line's comment says "once …". Fails at the first line that fails.
# Creates and removes its own state directory, agent and containers.
# Usage: scripts/readme-check.sh BIN_DIR   (the folder of the release mnctl and mnagent)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bin="$(cd "$1" && pwd)"
export PATH="$bin:$PATH"
export MN_STATE_DIR="$(mktemp -d)"
export MN_NODE_ID="readme-$$"

cleanup() {
    [ -z "${agent:-}" ] || { kill -TERM "$agent" 2>/dev/null; wait "$agent" 2>/dev/null || true; }
    ids="$(podman ps -aq --filter "label=mn.node=$MN_NODE_ID" 2>/dev/null || true)"
    [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1 || true
    redis-cli -s "$MN_STATE_DIR/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$MN_STATE_DIR"
}
trap cleanup EXIT

# The shell blocks of the "Use" section, up to its first subsection (### Nodes and several
# hosts, ### Maintenance: those name hosts of their own; scripts/cluster-check.sh runs the same
# commands with its own).
lines="$(awk '/^## Use/{use=1; next} /^##/{use=0} use && /^```sh/{block=1; next} /^```/{block=0} use && block' README.md)"
[ "$(grep -c . <<<"$lines")" -ge 10 ] || { echo "README.md has no Use section with command lines" >&2; exit 1; }

# Waits the README's comments ask for: "once status says waiting for promotion" (await_promotion
# in lib.sh), "once the run finished".
run_finished() {
    for _ in $(seq 1 600); do
        mnctl deployment status "$1" --output json | python3 -c '
import json, sys
runs = json.load(sys.stdin)["runs"]
sys.exit(0 if runs and runs[-1].get("finished_at") else 1)' && return 0
        sleep 0.1
    done
    return 1
}

count=0
while IFS= read -r line; do
    [ -n "$line" ] || continue
    case "$line" in
    "mnagent &"*)
        mnagent --resync-interval 2 >>"$MN_STATE_DIR/agent.log" 2>&1 &
        agent=$!
        count=$((count + 1))
        continue
        ;;
    *"--generate-completion-script"* | scripts/man-pages.sh*) continue ;; # write to system folders; checked apart
    *"deployment promote "*) await_promotion mnctl "$(awk '{print $4}' <<<"$line")" || { echo "never waited for promotion: $line" >&2; exit 1; } ;;
    *"deployment rerun "*) run_finished "$(awk '{print $4}' <<<"$line")" || { echo "the run never finished: $line" >&2; exit 1; } ;;
    esac
    echo "\$ $line" >&2
    if ! timeout 120 bash -c "$line" >"$MN_STATE_DIR/out" 2>&1; then
        echo "README line failed: $line" >&2
        tail -n 20 "$MN_STATE_DIR/out" >&2
        tail -n 20 "$MN_STATE_DIR/agent.log" >&2
        exit 1
    fi
    count=$((count + 1))
done <<<"$lines"
echo "$count README lines ran verbatim"
