#!/usr/bin/env bash
# Measures, on this machine, with the real binaries, real redis-server and real podman, a
# rolling update of ONE agent with `count: 10` busybox instances from version 1 (fully
# running) to version 2 (a changed env var), done two ways:
#   - mn: from starting `mnctl apply v2.json` until the agent's podman service shows exactly
#     the 10 containers of the key, all running, all labelled mn.deployment.version=2 (so none
#     of version 1 is left, in any state), seen by Benchmarks/settled.py asking the service's
#     REST API every 10 ms: the container work, as the CLI script's time is; and until
#     `mnctl deployment status KEY --output json` also says the rollout is done (status
#     Running, latest_version 2, stable_version 2, no rollout in progress), polled;
#     policies.update: rolling, min_healthy_ms 0, health_check agent_states, with
#     max_parallel 1 and 10;
#   - a plain podman CLI script doing the same work: for max_parallel 1, per instance
#     `podman run -d` the new one, then `podman stop -t 1` + `podman rm` the old one
#     (start-before-stop, like mn's rolling update); for max_parallel 10, the 10 `podman run -d`
#     at once, then the 10 stop+rm at once.
# Each sample gets a fresh agent (own state directory, redis-server and podman service) and
# starts from an idle agent; the podman CLI samples run while no agent runs.
# Prints figures (each sample, then medians); asserts nothing about them.
# Usage: Benchmarks/rolling-update.sh [RUNS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_swift
runs="${1:-3}"
count=10
parallels=(1 10)
image="localhost/mn-busybox:1"
poll_timeout_s=120

# Release builds: what users run, and what the figures are about.
build_release mnctl >/dev/null
bin="$(dirname "$(build_release mnagent)")"
mnctl() { "$bin/mnctl" "$@"; }

# Everything this run creates carries this tag: the agent's node id (label mn.node) for mn's
# containers, and label mnbench.run plus a name prefix for the podman CLI's.
tag="rollbench-$(date +%s)-$$"
export MN_NODE_ID="$tag"
work="$(mktemp -d)"
agent=""
state=""
logs="${MN_BENCH_LOGS:-}"  # a directory to keep each sample's agent log in, if set
[ -z "$logs" ] || mkdir -p "$logs"

# Starts a fresh mnagent with its own state directory (so it starts its own redis-server and
# podman service) and waits for both sockets.
start_agent() {
    state="$(mktemp -d)"
    export MN_STATE_DIR="$state"
    "$bin/mnagent" --resync-interval 60 --log-level info >"$state/agent.log" 2>&1 &
    agent=$!
    for _ in $(seq 1 300); do [ -S "$state/redis.sock" ] && [ -S "$state/podman.sock" ] && return 0; sleep 0.1; done
    echo "mnagent did not bring up redis and podman in 30 s; see $state/agent.log" >&2
    return 1
}

# Stops the agent and its redis-server, removes the sample's containers and state directory
# (keeping the agent log as $1 in MN_BENCH_LOGS, if set).
stop_agent() {
    if [ -n "$agent" ]; then
        kill -TERM "$agent" 2>/dev/null || true
        wait "$agent" 2>/dev/null || true
        agent=""
    fi
    remove_containers
    if [ -n "$state" ]; then
        [ -z "$logs" ] || [ -z "${1:-}" ] || cp "$state/agent.log" "$logs/$1" 2>/dev/null || true
        redis-cli -s "$state/redis.sock" shutdown nosave >/dev/null 2>&1 || true
        rm -rf "$state"
        state=""
    fi
}

remove_containers() {
    local ids
    ids="$(podman ps -aq --filter "label=mn.node=$tag" 2>/dev/null; podman ps -aq --filter "label=mnbench.run=$tag" 2>/dev/null)" || true
    [ -z "$ids" ] || podman rm -f -t 0 $ids >/dev/null 2>&1 || true
}

cleanup() {
    local status=$?
    if [ "$status" -ne 0 ] && [ -n "$state" ] && [ -f "$state/agent.log" ]; then
        cp "$state/agent.log" "/tmp/$tag-agent.log" 2>/dev/null && echo "failed; the agent log is in /tmp/$tag-agent.log" >&2
    fi
    stop_agent
    remove_containers
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }

# Polls "$@" every 50 ms until it succeeds; fails at once if it exits 2 (hopeless), and
# after poll_timeout_s.
wait_until() {
    local what="$1" deadline=$(($(date +%s) + poll_timeout_s)) rc
    shift
    while :; do
        rc=0
        "$@" || rc=$?
        [ "$rc" -eq 0 ] && return 0
        [ "$rc" -eq 2 ] && { echo "gave up waiting for $what" >&2; return 1; }
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "timed out after ${poll_timeout_s} s waiting for $what" >&2
            return 1
        fi
        sleep 0.05
    done
}

# Whether podman shows exactly $count containers for the filter, every one running and
# labelled with version $2 (so none of any other version, in any state).
podman_settled() {
    local filter="$1" version="$2"
    podman ps -a --filter "$filter" --format json | python3 -c '
import json, sys
containers, count, version = json.load(sys.stdin), int(sys.argv[1]), sys.argv[2]
ok = len(containers) == count and all(
    c["State"] == "running" and (c.get("Labels") or {}).get("mn.deployment.version") == version for c in containers)
sys.exit(0 if ok else 1)' "$count" "$version"
}

# Whether mn's record says version $2 of $1 is rolled out: status Running, it is the latest
# version and the stable version (the last version that reached Running), no rollout in
# progress. (Right after `mnctl apply`, status is still "Running" for the old version:
# stable_version is what tells that the new one got there.)
mn_rolled_out() {
    local key="$1" version="$2"
    mnctl deployment status "$key" --output json | python3 -c '
import json, sys
view, version = json.load(sys.stdin), int(sys.argv[1])
if view["status"] == "Failed":
    print("deployment failed: " + json.dumps(view["events"][-3:]), file=sys.stderr)
    sys.exit(2)
sys.exit(0 if view["status"] == "Running" and view["latest_version"] == version
         and view.get("stable_version") == version and view.get("rollout") is None else 1)' "$version"
}

mn_done() { mn_rolled_out "$1" "$2" && podman_settled "label=mn.deployment.key=$1" "$2"; }

manifest() {  # key version max_parallel
    cat <<JSON
{"deployment":{"key":"$1"},"agents":[{"id":"app","image":"$image","args":["sleep","600"],"env":{"ROLL":"$2"},"count":$count,
 "lifecycle":{"stop_signal":"SIGTERM","grace_period_ms":1000}}],
 "policies":{"update":{"strategy":"rolling","max_parallel":$3,"min_healthy_ms":0,"health_check":"agent_states"}}}
JSON
}

# Milliseconds from $2 (ns) to podman's last "remove" event of a version-1 container of key $1:
# when the rollout's container work ended, without the polling lag.
last_old_removed_ms() {
    podman events --stream=false --since 10m --filter event=remove --filter "label=mn.deployment.key=$1" --format json |
        python3 -c '
import sys, json, datetime
last = None
for line in sys.stdin:
    event = json.loads(line)
    if (event.get("Attributes") or {}).get("mn.deployment.version") != "1":
        continue
    whole, frac = event["Time"].rstrip("Z").split(".")
    base = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    ns = int(base.timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9])
    last = ns if last is None else max(last, ns)
print(-1 if last is None else (last - int(sys.argv[1])) // 1000000)' "$2"
}

# One mn sample; sets settled_ms (to the containers' end state, seen within ~10-20 ms), wall_ms
# (to the polled done: containers and record) and removed_ms (to podman's last removal of a
# version-1 container, from its events, -1 when it logs none).
# No subshells here or below, so the EXIT trap always knows the agent and a failure stops the run.
mn_sample() {
    local parallel="$1" sample="$2" key="$tag-p$1-$2"
    manifest "$key" 1 "$parallel" >"$work/$key-v1.json"
    manifest "$key" 2 "$parallel" >"$work/$key-v2.json"
    start_agent
    mnctl apply "$work/$key-v1.json" >/dev/null
    wait_until "$key version 1 to run" mn_done "$key" 1
    sleep 1  # settle, not synchronisation (v1 is verified done): let the agent finish the passes v1's events cause
    local start settled end
    start=$(now_ns)
    mnctl apply "$work/$key-v2.json" >/dev/null
    settled=$(python3 Benchmarks/settled.py "$state/podman.sock" "$key" 2 "$count" "$poll_timeout_s")
    wait_until "$key version 2 to roll out" mn_done "$key" 2
    end=$(now_ns)
    settled_ms=$(((settled - start) / 1000000))
    wall_ms=$(((end - start) / 1000000))
    removed_ms=$(last_old_removed_ms "$key" "$start")
    stop_agent "agent-p$parallel-run$sample.log"
}

# The options PodmanRuntime gives every container, from the same node config: an init, the
# stop signal and grace baked in, the network, and the rlimits this host needs (the runtime,
# runc here, comes from containers.conf for the CLI and the REST service alike).
cli_options=(--init --stop-signal SIGTERM --stop-timeout 1 --label "mnbench.run=$tag")
node_config=/etc/mn/agent.json
if [ -f "$node_config" ]; then
    while read -r option; do cli_options+=("$option"); done < <(python3 -c '
import json, sys
config = json.load(open(sys.argv[1]))
print("--network=" + config.get("network", "bridge"))
for limit in config.get("rlimits", []):
    print("--ulimit=%s=%d:%d" % (limit["type"], limit["soft"], limit["hard"]))' "$node_config")
else
    cli_options+=(--network=bridge)
fi

cli_run() {  # name version
    podman run -d --name "$1" "${cli_options[@]}" --label "mn.deployment.version=$2" -e "ROLL=$2" "$image" sleep 600 >/dev/null
}
cli_replace_old() { podman stop -t 1 "$1" >/dev/null && podman rm "$1" >/dev/null; }

# One podman CLI sample; sets cli_ms.
cli_sample() {
    local parallel="$1" sample="$2" prefix="$tag-cli-p$1-$2" i start end pids=()
    for i in $(seq 0 $((count - 1))); do cli_run "$prefix-$i-v1" 1; done
    podman_settled "label=mnbench.run=$tag" 1 || { echo "the podman CLI's version 1 is not running" >&2; return 1; }
    start=$(now_ns)
    if [ "$parallel" -eq 1 ]; then
        for i in $(seq 0 $((count - 1))); do
            cli_run "$prefix-$i-v2" 2
            cli_replace_old "$prefix-$i-v1"
        done
    else
        for i in $(seq 0 $((count - 1))); do cli_run "$prefix-$i-v2" 2 & pids+=($!); done
        for pid in "${pids[@]}"; do wait "$pid"; done
        pids=()
        for i in $(seq 0 $((count - 1))); do cli_replace_old "$prefix-$i-v1" & pids+=($!); done
        for pid in "${pids[@]}"; do wait "$pid"; done
    fi
    end=$(now_ns)
    podman_settled "label=mnbench.run=$tag" 2 || { echo "the podman CLI's version 2 is not what it should be" >&2; return 1; }
    remove_containers
    cli_ms=$(((end - start) / 1000000))
}

declare -A all_settled all_mn all_removed all_cli
for sample in $(seq 1 "$runs"); do
    for parallel in "${parallels[@]}"; do
        mn_sample "$parallel" "$sample"
        cli_sample "$parallel" "$sample"
        all_settled[$parallel]+="$settled_ms "
        all_mn[$parallel]+="$wall_ms "
        all_removed[$parallel]+="$removed_ms "
        all_cli[$parallel]+="$cli_ms "
        printf 'run %d, max_parallel %2d: mn containers settled %5d ms, done (polled) %5d ms (last old removed at %5d ms), podman CLI %5d ms\n' \
            "$sample" "$parallel" "$settled_ms" "$wall_ms" "$removed_ms" "$cli_ms" >&2
    done
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }
range() { printf '%s\n' "$@" | sort -n | awk 'NR==1 {min=$1} {max=$1} END {printf "%d-%d", min, max}'; }
echo
echo "rolling update of $count instances ($image, sleep 600), v1 running -> v2 rolled out; median of $runs run(s), ms"
{
    echo "max_parallel|mn: apply to containers settled|(min-max)|mn: apply to done (polled)|mn: last old removed|podman CLI|(min-max)|mn / CLI|mn per container|CLI per container"
    for parallel in "${parallels[@]}"; do
        # shellcheck disable=SC2086
        s=$(median ${all_settled[$parallel]}) m=$(median ${all_mn[$parallel]}) e=$(median ${all_removed[$parallel]}) c=$(median ${all_cli[$parallel]})
        # shellcheck disable=SC2086
        echo "$parallel|$s|($(range ${all_settled[$parallel]}))|$m|$e|$c|($(range ${all_cli[$parallel]}))|$(awk -v m="$s" -v c="$c" 'BEGIN {printf "%.2fx", m / c}')|$((s / count))|$((c / count))"
    done
} | column -t -s '|'
echo
echo "mn: apply to containers settled: starting 'mnctl apply v2.json' to Benchmarks/settled.py seeing the 10 v2 containers running"
echo "  and nothing else of the key (the podman service's REST API every 10 ms); mn / CLI compares this with the CLI script."
echo "mn: apply to done (polled): to the first poll (every 50 ms; 'mnctl deployment status' then 'podman ps', ~0.1-0.2 s a poll)"
echo "  that also sees the record done."
echo "mn: apply to last old removed: the same start to podman's last 'remove' event of a version-1 container."
echo "podman CLI: max_parallel 1 = per instance 'podman run -d' new, 'podman stop -t 1' + 'podman rm' old; 10 = all runs at once, then all stop+rm at once."
echo "build: $(basename "$(dirname "$bin")")/$(basename "$bin") (debug unless built with -c release); agent logs: ${logs:-not kept (set MN_BENCH_LOGS=DIR to keep them)}"
