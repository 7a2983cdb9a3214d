#!/usr/bin/env bash
# A rollout that outlives its Redis primary. A real primary, one replica and three sentinels
# on loopback (fresh ports, quorum 2, a master counts as down after 1 s); a release mnagent
# (node agent and cluster controller) and mnctl that reach Redis only through
# redis+sentinel://; real podman. Checks:
#   - a count-3 deployment runs; a rolling update to v2 starts (max_parallel 1, 3 s healthy);
#   - with the first v2 container running, the primary is killed (SIGKILL): the sentinels
#     promote the replica, the agent and mnctl follow it, the rollout finishes there with
#     exactly three v2 containers (the first one kept: nothing restarted), versions [1, 2];
#   - the controller lease's fencing epoch on the new master is not below the one before.
# Creates and deletes its own servers, directory and containers (labelled with its node id).
# Usage: scripts/sentinel-check.sh MNCTL MNAGENT   (prints what it measured, exit 1 on failure)
set -euo pipefail
mnctl="$1"
mnagent="$2"
. "$(dirname "$0")/lib.sh"

dir="$(mktemp -d)"
node="sentinel-$$"
key="failover-$$"
pids=()

cleanup() {
    [ -z "${agent:-}" ] || { kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null; } || true
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    ids="$(podman ps -aq --filter "label=mn.node=$node" 2>/dev/null || true)"
    [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1 || true
    { wait; } 2>/dev/null || true
    rm -rf "$dir"
}
trap 'cleanup 2>/dev/null' EXIT
fail() { echo "sentinel check failed: $*" >&2; tail -n 8 "$dir/agent.log" >&2 2>/dev/null || true; exit 1; }

read -r primary replica s1 s2 s3 <<<"$(python3 -c '
import socket
held = [socket.socket() for _ in range(5)]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))')"
for port in "$primary" "$replica"; do
    mkdir -p "$dir/$port"
    extra=()
    [ "$port" = "$primary" ] || extra=(--replicaof 127.0.0.1 "$primary")
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --repl-diskless-sync-delay 0 --dir "$dir/$port" "${extra[@]}" \
        </dev/null >"$dir/$port/redis.log" 2>&1 &
    pids+=($!)
    [ "$port" = "$primary" ] && primary_pid=$!
done
for port in "$s1" "$s2" "$s3"; do
    # A sentinel rewrites its configuration file, so each has one of its own.
    printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor mnmaster 127.0.0.1 %s 2\n%s\n%s\n' "$port" "$dir" "$primary" \
        'sentinel down-after-milliseconds mnmaster 1000' 'sentinel failover-timeout mnmaster 10000' >"$dir/sentinel-$port.conf"
    redis-server "$dir/sentinel-$port.conf" --sentinel </dev/null >"$dir/sentinel-$port.log" 2>&1 &
    pids+=($!)
done
knows_all() { # the replica has its first copy; every sentinel sees it and the two others (so can authorise a failover)
    local port
    redis-cli -p "$replica" INFO replication 2>/dev/null | grep -q '^master_link_status:up' || return 1
    for port in "$s1" "$s2" "$s3"; do
        redis-cli -p "$port" SENTINEL CKQUORUM mnmaster 2>/dev/null | grep -q '3 usable' &&
            [ "$(redis-cli -p "$port" SENTINEL REPLICAS mnmaster 2>/dev/null | grep -c '^name$')" = 1 ] || return 1
    done
}
await 30 knows_all || fail "the sentinels did not see the primary, the replica and each other within 30 s"

export MN_REDIS_URL="redis+sentinel://127.0.0.1:$s1,127.0.0.1:$s2,127.0.0.1:$s3/mnmaster"
MN_STATE_DIR="$dir" "$mnagent" --node-id "$node" --log-level info --resync-interval 2 >"$dir/agent.log" 2>&1 &
agent=$!
manifest() { # manifest FILE GREETING
    cat >"$1" <<JSON
{"deployment":{"key":"$key"},"agents":[{"id":"w","image":"localhost/mn-busybox:1","count":3,"args":["sleep","600"],
 "env":{"G":"$2"},"lifecycle":{"grace_period_ms":500}}],
 "policies":{"update":{"max_parallel":1,"min_healthy_ms":3000,"healthy_deadline_ms":60000,"progress_deadline_ms":180000}}}
JSON
}
ids() { podman ps -q --no-trunc --filter "label=mn.node=$node" --filter "label=mn.deployment.key=$key" ${1:+--filter "label=mn.deployment.version=$1"} | sort | tr '\n' ' '; }
count() { ids "${1:-}" | wc -w; }
manifest "$dir/v1.json" v1
manifest "$dir/v2.json" v2
leads() { [ -n "$(redis-cli -p "$primary" GET mn:leader)" ]; }
await 30 leads || fail "mnagent did not take the controller lease"
timeout 120 "$mnctl" deployment deploy "$dir/v1.json" --wait >/dev/null || fail "v1 did not reach Running"
"$mnctl" deployment deploy "$dir/v2.json" >/dev/null || fail "v2 was not applied"
epoch_before="$(redis-cli -p "$primary" GET mn:leader:epoch)"
four() { [ "$(count)" = 4 ]; }
await 60 four || fail "the rolling update did not start its first v2 container"
first_v2="$(ids 2)"
# An operator watches the rollout across the failover.
timeout 180 "$mnctl" deployment status "$key" --watch >"$dir/watch.out" 2>"$dir/watch.err" &
watch=$!

{ kill -KILL "$primary_pid" && wait "$primary_pid"; } 2>/dev/null || true # (no "Killed" job notice)
killed=$(date +%s.%N)
switched() { redis-cli -p "$s1" SENTINEL get-master-addr-by-name mnmaster 2>/dev/null | grep -qx "$replica"; }
await 60 switched || fail "the sentinels did not promote the replica within 60 s"
echo "the sentinels named the replica master $(elapsed "$killed") s after the primary was killed"
wait "$watch" || fail "the rollout did not finish after the failover (status --watch: $(tail -n 2 "$dir/watch.err"))"
echo "rollout finished $(elapsed "$killed") s after the primary was killed; status --watch followed: $(grep -c 'lost Redis' "$dir/watch.err") outage note"
[ "$(count 2)" = 3 ] && [ "$(count)" = 3 ] || fail "expected exactly three v2 containers, found: $(ids)"
grep -q "$first_v2" <<<"$(ids 2)" || fail "the v2 container started before the failover was replaced"
versions="$("$mnctl" deployment status "$key" --output json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["latest_version"], d["status"].lower())')"
[ "$versions" = "2 running" ] || fail "latest version and status after the failover: $versions"
epoch_after="$(redis-cli -p "$replica" GET mn:leader:epoch)"
[ -n "$epoch_after" ] && [ "$epoch_after" -ge "$epoch_before" ] || fail "the lease epoch went from $epoch_before to $epoch_after"
kill -0 "$agent" || fail "mnagent died"
echo "three v2 containers on the promoted replica's record; lease epoch $epoch_before before, $epoch_after after"
