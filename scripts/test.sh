#!/usr/bin/env bash
# Runs every test: the Swift suites (unit, scenario tables, property tests, runtime
# contract; debug), then the shipped binaries built in release, as users run them: the release
# checks, mnctl on the shipped examples, seed 000's command lines against a running mnagent,
# three mnagents in three network namespaces, and the README demo end to end.
# Idempotent: installs nothing it does not need, safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_swift

log="$(mktemp)"
state="$(mktemp -d)"
cleanup() {
    # A crashed test run can leave its fixtures behind: stop them by their temporary paths.
    pkill -f "${TMPDIR:-/tmp}/mn-redis-[0-9A-F]{8}/redis.sock" 2>/dev/null || true
    pkill -f "${TMPDIR:-/tmp}/mn-podman-[0-9A-F]{8}/podman.sock" 2>/dev/null || true
    [ -z "${agent:-}" ] || { kill -TERM "$agent" 2>/dev/null; wait "$agent" 2>/dev/null || true; }
    for node in it-node contract seed-node acl-node "${demo_node:-}"; do
        [ -n "$node" ] || continue
        ids="$(podman ps -aq --filter "label=mn.node=$node" 2>/dev/null || true)"
        [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1 || true
    done
    redis-cli -s "$state/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    redis-cli -s "$state/demo/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    redis-cli -s "$state/ghost/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    redis-cli -s "$state/race/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    redis-cli -s "$state/races/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    redis-cli -s "$state/bad-input/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    pkill -f "$state/acl/redis.sock" 2>/dev/null || true
    redis-cli -s "$state/leftover/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    pkill -f "system service --time=0 unix://$state/leftover/podman.sock" 2>/dev/null || true
    rm -rf "$log" "$state"
}
trap cleanup EXIT

swift build --build-tests
swift test 2>&1 | tee "$log"
swift_tests=$(sed -n 's/.*Test run with \([0-9][0-9]*\) tests.* passed.*/\1/p' "$log" | tail -n 1)
if [ -z "$swift_tests" ] || [ "$swift_tests" -eq 0 ]; then
    echo "error: swift test ran no tests" >&2
    exit 1
fi

# From here on, release builds (`swift build -c release --static-swift-stdlib`, see build_release in lib.sh):
# the binaries as users run them (a release-only crash once went unseen by a debug-only suite).
release_started=$SECONDS
mnctl="$(build_release mnctl)"
mnagent="$(build_release mnagent)"
release_checks="$(build_release mn-release-checks)"
echo "release build: $((SECONDS - release_started)) s"
export MN_STATE_DIR="$state"
passed=0
failed=0
check() { # check NAME COMMAND... : the command must succeed
    local name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok: $name"
    else
        failed=$((failed + 1))
        echo "FAILED: $name"
    fi
}
validates_ok() { [ "$("$mnctl" validate "$1" | head -n 1)" = "OK" ]; }
broken_is_rejected() {
    local out status=0
    out="$("$mnctl" validate Examples/broken.json)" || status=$?
    [ "$status" -eq 2 ] &&
        grep -qxF '  policies.update.max_parallel: must be at least 1, got 0' <<<"$out" &&
        grep -qF "policies.update.strategy: unknown value 'big-bang'; must be one of 'rolling', 'canary', 'blue-green'" <<<"$out"
}
json_is_parseable() {
    local out status=0
    out="$("$mnctl" validate --output json Examples/broken.json)" || status=$?
    [ "$status" -eq 2 ] &&
        python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["valid"] is False and len(d["problems"]) == 8 else 1)' <<<"$out"
}
stdin_works() { [ "$("$mnctl" validate - <Examples/web-v1.json | head -n 1)" = "OK" ]; }
seed_defaults() {
    # Seed 000's defaults table, as validate --output json reports the policy of a manifest that sets none.
    echo '{"deployment":{"key":"d"},"agents":[{"id":"a","image":"i"}]}' | "$mnctl" validate - --output json | python3 -c '
import json, sys
fields = {f["name"]: (f["value"], f["source"]) for f in json.load(sys.stdin)["update_policy"]["fields"]}
expected = {"strategy": "rolling", "max_parallel": 1, "canary": 0, "min_healthy_ms": 10000, "healthy_deadline_ms": 300000,
            "progress_deadline_ms": 600000, "health_check": "checks", "auto_promote": False, "auto_revert": False}
assert fields == {k: (v, "default") for k, v in expected.items()}, fields'
}
update_plan_replaces() { "$mnctl" plan Examples/web-v2.json --from Examples/web-v1.json | grep -q '^  replace  web/httpd/0  stop mn-web-httpd-0-'; }
secrets_not_printed() { ! "$mnctl" plan --output json Examples/web-v1.json | grep -q 'hello from v1'; }
rejected_apply_writes_nothing() {
    local status=0
    "$mnctl" apply Examples/broken.json >/dev/null 2>&1 || status=$?
    [ "$status" -eq 2 ] && [ "$("$mnctl" deployment list)" = "No deployments yet. Create one with: mnctl apply MANIFEST" ]
}
# Every key of the local Redis in $1 with a digest of its value, sorted.
store_snapshot() {
    redis-cli -s "$1/redis.sock" --scan | sort | while read -r k; do printf '%s %s\n' "$k" "$(redis-cli -s "$1/redis.sock" --no-raw DUMP "$k" | sha256sum | cut -c1-16)"; done
}
bad_input_is_refused() {
    # Against a store that holds a deployment: hostile documents (10 MB with 10,000 agents and
    # one bad field, nesting 100,000 deep in JSON and YAML, bytes that are not UTF-8, duplicate
    # keys, binary noise, empty) are each refused with exit 2 and a message that says where,
    # and not one key of the store changes. The valid 10,000-agent manifest is accepted.
    local dir="$state/bad-input" file status before
    mkdir -p "$dir/docs"
    MN_STATE_DIR="$dir" "$mnctl" apply Examples/web-v1.json >/dev/null || return 1
    python3 - "$dir/docs" <<'PY'
import json, os, sys
d = sys.argv[1]
def write(name, data):
    open(os.path.join(d, name), "wb").write(data if isinstance(data, bytes) else data.encode())
agents = [{"id": "a%d" % i, "image": "localhost/mn-busybox:1", "env": {"PAD": "x" * 900}} for i in range(10_000)]
good = {"deployment": {"key": "huge"}, "agents": agents}
write("huge-valid.json", json.dumps(good))
agents[9_999]["count"] = 0
write("huge.json", json.dumps(good))
write("deep.json", "[" * 100_000 + "]" * 100_000)
write("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000)
write("deep-map.yaml", "".join("%sk:\n" % ("  " * i) for i in range(2_000)))
write("not-utf8.json", b'{"deployment":{"key":"web"},"agents":[{"id":"web","image":"\xc3\x28\xff"}]}')
write("not-utf8.yaml", b'deployment: {key: web}\nagents: [{id: web, image: "\xfe\xff"}]\n')
write("duplicate.json", '{"deployment":{"key":"web"},"agents":[{"id":"web","id":"api","image":"i"}]}')
write("duplicate.yaml", 'deployment: {key: web}\nagents:\n  - id: web\n    image: i\n    image: j\n')
write("noise.bin", bytes((i * 7919) % 256 for i in range(4096)))
write("empty.json", "")
PY
    before="$(store_snapshot "$dir")"
    for file in "$dir"/docs/*; do
        [ "${file##*/}" = huge-valid.json ] && continue
        status=0
        MN_STATE_DIR="$dir" timeout 60 "$mnctl" apply "$file" >/dev/null 2>"$dir/err" || status=$?
        [ "$status" = 2 ] || { echo "${file##*/}: exit $status, not 2: $(head -c 300 "$dir/err")"; return 1; }
        grep -qE '^  ([a-z_]+[][0-9a-z_.]*|\(document\)): ' "$dir/err" && grep -q '^nothing was written' "$dir/err" ||
            { echo "${file##*/}: the refusal does not say where: $(head -c 300 "$dir/err")"; return 1; }
    done
    [ "$(store_snapshot "$dir")" = "$before" ] || { echo "a refused apply changed the store"; return 1; }
    MN_STATE_DIR="$dir" timeout 60 "$mnctl" apply "$dir/docs/huge-valid.json" --output json 2>/dev/null | grep -q '"version" *: *1'
}
same_apply_is_unchanged() {
    "$mnctl" apply Examples/web-v1.json | grep -q '^web: version 1 created' &&
        "$mnctl" apply Examples/web-v1.json | grep -q '^web: unchanged; version 1 is current' &&
        [ "$("$mnctl" deployment status web --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["versions"]))')" = 1 ]
}

# Executor, health monitor and the planners' corpus digest, compiled with the optimiser.
release_checks_pass() {
    local out
    out="$("$release_checks" 2>&1)" || { echo "$out"; return 1; }
}
check "release checks (plan executor outcomes, health monitor, plans identical to the recorded corpus)" release_checks_pass
# Shipped as built: the Swift runtime and Foundation linked in (build_release), only Debian's libraries loaded.
needs_no_swift_runtime() {
    local libraries
    libraries="$(ldd "$mnctl" "$mnagent")" && grep -q 'libhiredis' <<<"$libraries" &&
        ! grep -E 'libswift|libFoundation|libdispatch|/opt/swift|not found' <<<"$libraries"
}
check "mnctl and mnagent load no Swift runtime library (they run on a host without a toolchain)" needs_no_swift_runtime

for example in Examples/web-v1.json Examples/web-v2.json Examples/web-v3.json Examples/agent-api.yaml; do
    check "mnctl validate $example prints OK" validates_ok "$example"
done
check "mnctl validate rejects Examples/broken.json with every problem and exit 2" broken_is_rejected
exit_codes() {
    local status=0
    "$mnctl" servce resolve --help >/dev/null 2>"$state/usage-err" || status=$?
    [ "$status" -eq 2 ] && grep -q "unknown command 'servce'; did you mean 'service'?" "$state/usage-err" || return 1
    status=0
    "$mnctl" deployment frob web >/dev/null 2>&1 || status=$?
    [ "$status" -eq 2 ] || return 1
    status=0
    "$mnctl" deployment deploy Examples/web-v1.json --max-parallel 0 >/dev/null 2>"$state/usage-err" || status=$?
    [ "$status" -eq 2 ] && grep -q -- "--max-parallel: must be at least 1" "$state/usage-err" || return 1
    status=0
    "$mnctl" deployment list --redis redis://127.0.0.1:1 >/dev/null 2>"$state/usage-err" || status=$?
    [ "$status" -eq 3 ] && grep -q "cannot reach Redis" "$state/usage-err" || return 1
    local help
    help="$("$mnctl" --help)" && grep -q "Exit codes: 0 done; 1 failed" <<<"$help" &&
        help="$("$mnctl" help deployment)" && grep -q 'promote' <<<"$help"
}
check "exit codes: 2 for an unknown command (even beside --help) or a bad flag value, 3 when Redis is unreachable; --help documents them" exit_codes
completions_and_man_pages() {
    local script
    for shell in bash zsh fish; do
        script="$("$mnctl" --generate-completion-script "$shell")" && grep -q 'deployment' <<<"$script" || return 1
    done
    scripts/man-pages.sh "$state/man" >/dev/null 2>&1 && grep -q 'dry' "$state/man/mnctl.deployment.deploy.1" &&
        [ -f "$state/man/mnagent.1" ]
}
check "shell completions (bash, zsh, fish) and man pages (scripts/man-pages.sh) are generated from the commands" completions_and_man_pages
check "mnctl validate --output json is parseable" json_is_parseable
check "mnctl validate - reads standard input" stdin_works
check "mnctl validate --output json reports seed 000's update policy defaults, each from the default" seed_defaults
check "mnctl plan v2 --from v1 replaces the old container by id" update_plan_replaces
check "mnctl plan never prints env values" secrets_not_printed
check "mnctl apply of an invalid manifest writes nothing (local redis-server started in the state dir)" rejected_apply_writes_nothing
check "mnctl apply of the same manifest twice creates one version" same_apply_is_unchanged
check "bad input: a 10 MB manifest with one bad field, 100,000-deep nesting (JSON, YAML), non-UTF-8 bytes, duplicate keys, noise and an empty file are each refused (exit 2, saying where) and the store is unchanged; 10,000 valid agents are accepted" bad_input_is_refused
concurrent_writers() {
    # 50 mnctl processes apply 50 different manifests to one key, and 50 more the same manifest
    # to another, all at once, against a local Redis of their own (nothing places them).
    local dir="$state/race" i pids=()
    mkdir -p "$dir"
    for i in $(seq 1 50); do
        printf '{"deployment":{"key":"race"},"agents":[{"id":"a","image":"localhost/mn-busybox:1","env":{"N":"%s"}}]}' "$i" >"$dir/m$i.json"
    done
    printf '{"deployment":{"key":"same"},"agents":[{"id":"a","image":"localhost/mn-busybox:1"}]}' >"$dir/same.json"
    MN_STATE_DIR="$dir" "$mnctl" deployment list >/dev/null || return 1
    for i in $(seq 1 50); do
        MN_STATE_DIR="$dir" "$mnctl" apply "$dir/m$i.json" --output json >"$dir/race$i.out" 2>"$dir/race$i.err" &
        pids+=($!)
        MN_STATE_DIR="$dir" "$mnctl" apply "$dir/same.json" --output json >"$dir/same$i.out" 2>"$dir/same$i.err" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || { cat "$dir"/*.err | grep -v '^note:' | sort | uniq -c; return 1; }; done
    MN_STATE_DIR="$dir" "$mnctl" deployment status race --output json >"$dir/race.json" &&
        MN_STATE_DIR="$dir" "$mnctl" deployment status same --output json >"$dir/same.json.status" &&
        python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
race = [json.load(open(f"{d}/race{i}.out")) for i in range(1, 51)]
same = [json.load(open(f"{d}/same{i}.out")) for i in range(1, 51)]
assert all(r["created"] for r in race), "every different manifest creates a version"
assert sorted(r["version"] for r in race) == list(range(1, 51)), sorted(r["version"] for r in race)
assert [s["version"] for s in same] == [1] * 50 and sum(s["created"] for s in same) == 1, same
assert [v["number"] for v in json.load(open(f"{d}/race.json"))["versions"]] == list(range(1, 51))
assert [v["number"] for v in json.load(open(f"{d}/same.json.status"))["versions"]] == [1]
PY
}
check "concurrent writers: 50 mnctl apply of different manifests to one key get versions 1-50, each once; 50 of one manifest all get version 1, created once" concurrent_writers
operator_races() {
    # 40 operator commands on one deployment at once (deploys of new manifests, rollbacks,
    # pause, resume, fail), against a local Redis of their own: each is applied whole or refused
    # with a message; the versions stay dense, one per command that said it created one.
    local dir="$state/races" i pids=() n=0
    mkdir -p "$dir"
    for i in $(seq 1 12); do
        printf '{"deployment":{"key":"races"},"agents":[{"id":"a","image":"localhost/mn-busybox:1","env":{"N":"%s"}}]}' "$i" >"$dir/m$i.json"
    done
    MN_STATE_DIR="$dir" "$mnctl" apply "$dir/m1.json" >/dev/null 2>&1 && MN_STATE_DIR="$dir" "$mnctl" apply "$dir/m2.json" >/dev/null 2>&1 || return 1
    race() { # race NAME COMMAND...: runs in the background, output to $dir/NAME.out/.err/.rc
        local name="$1"
        shift
        { MN_STATE_DIR="$dir" "$mnctl" "$@" >"$dir/$name.out" 2>"$dir/$name.err"; echo $? >"$dir/$name.rc"; } &
        pids+=($!)
    }
    for i in $(seq 3 12); do race "deploy$i" deployment deploy "$dir/m$i.json"; done
    for i in $(seq 1 10); do race "rollback$i" deployment rollback races --version $(( i % 2 + 1 )) --reason "race $i" --yes; done
    for i in $(seq 1 7); do
        race "pause$i" deployment pause races --reason "race $i"
        race "resume$i" deployment resume races --reason "race $i"
        race "fail$i" deployment fail races --reason "race $i"
    done
    for i in "${pids[@]}"; do wait "$i"; done
    MN_STATE_DIR="$dir" "$mnctl" deployment status races --output json >"$dir/status.json" || return 1
    python3 - "$dir" <<'PY'
import glob, json, os, re, sys
d = sys.argv[1]
created, refused = [], 0
for rc_file in glob.glob(f"{d}/*.rc"):
    name = os.path.basename(rc_file)[:-3]
    rc = int(open(rc_file).read())
    out, err = open(f"{d}/{name}.out").read(), open(f"{d}/{name}.err").read()
    assert rc in (0, 1), (name, rc, err)
    if rc == 1:
        refused += 1
        assert re.search(r"^error: .+", err, re.M), (name, err)
    created += [int(v) for v in re.findall(r"version (\d+) created", out)]
status = json.load(open(f"{d}/status.json"))
numbers = [v["number"] for v in status["versions"]]
assert numbers == list(range(1, len(numbers) + 1)), numbers
assert sorted(created) == list(range(3, len(numbers) + 1)), (sorted(created), numbers)
print(f"    {len(glob.glob(d + '/*.rc'))} commands: {len(created)} versions created, {refused} refused with a message; history 1-{numbers[-1]}, status {status['status']}")
PY
}
check "operator races: 41 deploy, rollback, pause, resume and fail commands on one deployment at once: each applied or refused with a message (exit 1), the versions dense, one per command that said it created one" operator_races
absent_node_is_noted() {
    # In a state directory of its own: the deployment it makes must not show in later checks' lists.
    local out
    out="$(MN_STATE_DIR="$state/ghost" "$mnctl" deployment deploy Examples/web-v1.json --key ghost-check --node ghost-node \
        --output json 2>"$state/ghost-err")" &&
        python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["node"] == "ghost-node" else 1)' <<<"$out" &&
        grep -q "note: no mnagent has registered node ghost-node yet; the change waits until one does" "$state/ghost-err"
}
check "mnctl says on stderr when no agent has registered the node a change is for (stdout stays JSON)" absent_node_is_noted
deploy_and_rollback() {
    "$mnctl" deployment deploy Examples/web-v2.json --key web --strategy rolling --max-parallel 1 | grep -q '^web: version 2 created' &&
        "$mnctl" deployment rollback web --version 1 --reason "restore stable worker" | grep -q '^web: version 3 created from version 1' &&
        [ "$("$mnctl" deployment status web --output json | python3 -c 'import json,sys; d=json.load(sys.stdin); print([v["source"] for v in d["versions"]][-1])')" \
            = "{'rollback': {'from': 1, 'reason': 'restore stable worker'}}" ]
}
check "mnctl deployment deploy and rollback --version 1 (a new version, history kept)" deploy_and_rollback
pause_resume_fail() {
    # No agent runs yet: version 3 was never checked, so resuming it checks it first (Validating).
    # The README's lines give no reason: it is optional.
    [ "$("$mnctl" deployment pause web)" = "web: paused" ] &&
        "$mnctl" deployment status web | grep -q 'status Paused' &&
        "$mnctl" deployment show web --output json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["events"][-1]["message"] == "paused: none given", d["events"][-1]' &&
        ! "$mnctl" deployment pause web --reason again 2>/dev/null &&
        ! "$mnctl" deployment promote web 2>"$state/promote-err" && grep -q "is paused: nothing of it changes until it is resumed" "$state/promote-err" &&
        [ "$("$mnctl" deployment resume web)" = "web: validating" ] &&
        "$mnctl" deployment pause web --reason "investigating health" >/dev/null &&
        [ "$("$mnctl" deployment resume web --reason "continue rollout")" = "web: validating" ] &&
        [ "$("$mnctl" deployment fail web --reason "candidate failed health checks" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = "failed" ]
}
check "mnctl deployment pause, resume (with or without --reason) and fail change the status; a second pause and a promote while paused are refused; show is status" pause_resume_fail
promote_without_canary_is_refused() {
    local out status=0
    out="$("$mnctl" deployment promote web 2>&1)" || status=$?
    [ "$status" -eq 1 ] && grep -q "has no canary or blue-green update in progress; nothing to promote" <<<"$out"
}
check "mnctl deployment promote refuses when no canary waits, saying why" promote_without_canary_is_refused

# Seed 000's command lines, verbatim but for `mnctl`, against a running mnagent and real podman.
bundles="$state/bundles"
make_bundle() { # make_bundle DIR GREETING
    mkdir -p "$1"
    cat >"$1/manifest.json" <<JSON
{"deployment":{"key":"placeholder"},"agents":[{"id":"worker","image":"localhost/mn-busybox:1","count":2,
 "args":["httpd","-f","-p","8080","-h","/www"],"env":{"GREETING":"$2"},"ports":[{"name":"http","container_port":8080}],
 "health_checks":[{"kind":"http","port":8080,"path":"/","interval_ms":300,"timeout_ms":200}],"lifecycle":{"grace_period_ms":1000},
 "services":[{"name":"agent-api","port":"http","tags":["seed"]}]}],
 "policies":{"update":{"min_healthy_ms":300,"healthy_deadline_ms":20000,"progress_deadline_ms":60000}}}
JSON
}
make_bundle "$bundles/bundle" v1
make_bundle "$bundles/bundle-v2" v2
MN_NODE_ID=seed-node "$mnagent" --resync-interval 2 --log-level warning >"$state/agent.log" 2>&1 &
agent=$!
settled() { timeout 60 "$mnctl" deployment status agent-api --watch --output json >/dev/null; }
# discovered SERVICE [--all-roles] "VERSION:ROLE …": what `service resolve` returns, sorted.
discovered() {
    local found
    found="$("$mnctl" service resolve "$1" ${2:+"$2"} --tag seed --output json | python3 -c '
import json, sys
print(" ".join(sorted("%s:%s" % (i["deployment_version"], i["deployment_role"]) for i in json.load(sys.stdin)["instances"])))')" && [ "$found" = "$3" ]
}
# Waits until exactly N containers of agent-api run on seed-node (retired ones drain first: 1 s
# out of discovery, then stopped). A rollback to v1's manifest may take back v1's draining
# containers (identity is the spec, not the version label), so versions are not counted.
await_agent_api_containers() {
    for _ in $(seq 1 100); do
        [ "$(podman ps -q --filter label=mn.node=seed-node --filter label=mn.deployment.key=agent-api | wc -l)" = "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
await_discovered() { for _ in $(seq 1 100); do discovered "$1" "" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
seed_lines() {
    export MN_NODE_ID=seed-node
    "$mnctl" deployment deploy "$bundles/bundle" --key agent-api --strategy rolling --max-parallel 1 | grep -q 'version 1 created' && settled &&
        "$mnctl" deployment list | grep -q '^agent-api  v1  *Running  2/2 running' &&
        "$mnctl" deployment status agent-api | grep -q 'status Running   version 1' &&
        "$mnctl" deployment deploy "$bundles/bundle-v2" --key agent-api --strategy canary --canary 1 | grep -q 'version 2 created' &&
        await_promotion "$mnctl" agent-api &&
        "$mnctl" deployment status agent-api | grep -q 'waiting for promotion of 1 healthy canary' &&
        discovered agent-api "" "1:primary 1:primary" && discovered agent-api --all-roles "1:primary 1:primary 2:canary" &&
        [ "$(podman ps -q --filter label=mn.node=seed-node --filter label=mn.role=canary | wc -l)" = 1 ] &&
        "$mnctl" deployment promote agent-api | grep -q 'promoted' && settled && await_discovered agent-api "2:primary 2:primary" &&
        [ "$(podman ps -q --filter label=mn.node=seed-node --filter label=mn.deployment.version=2 | wc -l)" = 2 ] &&
        "$mnctl" deployment rollback agent-api --version 1 --reason "restore stable worker" | grep -q 'version 3 created from version 1' && settled &&
        "$mnctl" deployment status agent-api | grep -q 'status Running   version 3' && await_agent_api_containers 2 &&
        "$mnctl" deployment pause agent-api --reason "investigating health" | grep -q 'paused' &&
        "$mnctl" deployment resume agent-api --reason "continue rollout" | grep -q 'deploying' &&
        "$mnctl" deployment fail agent-api --reason "candidate failed health checks" | grep -q 'failed' &&
        "$mnctl" deployment status agent-api | grep -q 'candidate failed health checks'
}
version_count() { "$mnctl" deployment status agent-api --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["latest_version"])'; }
containers_of() { podman ps -q --filter label=mn.node=seed-node --filter label=mn.deployment.key=agent-api --filter "label=mn.deployment.version=$1" | wc -l; }
operator_lines() {
    export MN_NODE_ID=seed-node
    make_bundle "$bundles/bundle-v3" v3
    local out
    # Version 3 (a copy of v1) runs; v2 ran before it: that is where a rollback returns to.
    "$mnctl" deployment status agent-api | grep -q 'rollback would restore v2' &&
        out="$("$mnctl" deployment rollback agent-api --version 2 --reason "try v2 again" --dry-run)" &&
        grep -q 'version 2 would be copied as version 4, replacing version 3' <<<"$out" && [ "$(version_count)" = 3 ] &&
        out="$("$mnctl" deployment deploy "$bundles/bundle-v3" --key agent-api --auto-revert --min-healthy 0s --dry-run)" &&
        grep -Eq '^  auto_revert +true +flag$' <<<"$out" && grep -Eq '^  max_parallel +1 +default$' <<<"$out" &&
        grep -Eq '^  min_healthy_ms +0 +flag$' <<<"$out" && [ "$(version_count)" = 3 ] &&
        timeout 90 "$mnctl" deployment deploy "$bundles/bundle-v3" --key agent-api --wait >/dev/null && [ "$(containers_of 4)" = 2 ] &&
        "$mnctl" deployment pause agent-api >/dev/null &&
        "$mnctl" deployment deploy "$bundles/bundle-v2" --key agent-api | grep -q 'version 5 created' &&
        "$mnctl" deployment status agent-api | grep -q 'paused: version 5 waits for resume' &&
        [ "$(containers_of 4)" = 2 ] && [ "$(containers_of 5)" = 0 ] &&
        [ "$("$mnctl" deployment resume agent-api)" = "agent-api: validating" ] && settled && [ "$(containers_of 5)" = 2 ] &&
        "$mnctl" deployment fail agent-api --reason "candidate failed health checks" | grep -q 'failed'
}
check "seed 000's command lines work verbatim against a running mnagent (rolling, canary + promote, rollback, pause, resume, fail); discovery returns primaries, canaries only with --all-roles, the new primaries after promote" seed_lines
bundle_payloads() {
    export MN_NODE_ID=seed-node
    local b="$bundles/payload-bundle" id
    mkdir -p "$b/payloads/conf"
    cat >"$b/manifest.json" <<JSON
{"deployment":{"key":"payload-check"},"agents":[{"id":"reader","image":"localhost/mn-busybox:1","args":["sleep","3600"],
 "lifecycle":{"grace_period_ms":500}}],"policies":{"update":{"min_healthy_ms":0,"health_check":"agent_states"}}}
JSON
    echo one >"$b/payloads/conf/greeting.txt"
    payload_reads() { id="$(podman ps -q --filter label=mn.deployment.key=payload-check)" && [ "$(podman exec "$id" cat /mn/payloads/conf/greeting.txt 2>/dev/null)" = "$1" ]; }
    timeout 90 "$mnctl" deployment deploy "$b" --wait >/dev/null && payload_reads one &&
        ! podman exec "$id" sh -c 'echo x >/mn/payloads/conf/greeting.txt' 2>/dev/null &&
        "$mnctl" deployment status payload-check | grep -q "applied from $b (1 payload file)" &&
        echo two >"$b/payloads/conf/greeting.txt" &&
        "$mnctl" deployment deploy "$b" | grep -q 'version 2 created' &&
        timeout 60 "$mnctl" deployment status payload-check --watch >/dev/null && payload_reads two &&
        ln -s /etc/passwd "$b/payloads/passwd" && ! "$mnctl" deployment deploy "$b" 2>"$state/bundle-err" &&
        grep -q "payloads/passwd is a symlink to /etc/passwd, outside the bundle" "$state/bundle-err" && rm "$b/payloads/passwd"
}
check "a bundle's payloads reach the containers read-only at /mn/payloads; a payload change alone makes a new version and replaces the container; a symlink leaving the bundle is refused" bundle_payloads
check "operator lines: status says what a rollback restores; rollback --dry-run and deploy --dry-run (the policy with each value's source) write nothing; deploy --wait returns at Running; a version deployed while paused waits for resume" operator_lines
node_registered() {
    "$mnctl" node list | grep -q '^seed-node  ready, leader  ' &&
        "$mnctl" node list --output json | python3 -c '
import json, sys
nodes = {n["id"]: n for n in json.load(sys.stdin)}
n = nodes["seed-node"]
assert n["status"] == "ready" and n["leader"] and n["capacity"]["cpu_millis"] >= 1000 and n["capacity"]["memory_mb"] > 0, n
assert n["instances"] == {"agent-api": 2, "payload-check": 1}, n["instances"]' &&
        "$mnctl" node status seed-node | grep -q '^State:      ready, leader' &&
        ! "$mnctl" node status no-such-node 2>"$state/node-err" && grep -q "no node 'no-such-node' is registered" "$state/node-err"
}
check "mnctl node list and node status show the running agent registered, ready and the controller" node_registered
node_administration() {
    local out
    out="$("$mnctl" node drain seed-node --reason "driver update" --deadline 30m --dry-run)" &&
        grep -q 'stops at the deadline: no node fits agent "worker": seed-node: draining' <<<"$out" &&
        grep -q 'nothing was written' <<<"$out" && "$mnctl" node list | grep -q '^seed-node  ready, leader  ' &&
        ! "$mnctl" node drain no-such-node --reason x 2>"$state/admin-err" && grep -q "no node 'no-such-node' is registered" "$state/admin-err" &&
        ! "$mnctl" node undrain seed-node --reason x 2>"$state/admin-err" && grep -q "is not draining; nothing to undrain" "$state/admin-err" &&
        ! "$mnctl" node drain seed-node --deadline 3x 2>/dev/null &&
        "$mnctl" node eligibility seed-node --disable --reason "flaky disk" | grep -q "ineligible (flaky disk)" &&
        "$mnctl" node list | grep -q '^seed-node  ready, leader, ineligible' &&
        "$mnctl" node eligibility seed-node --enable | grep -qx "seed-node: eligible" &&
        ! "$mnctl" node drain seed-node --reason "disk swap" --deadline 2s --wait 2>"$state/drain-wait" &&
        grep -q "the deadline stopped 3 instances that had not moved or finished: agent-api/worker/0, agent-api/worker/1, payload-check/reader/0" "$state/drain-wait" &&
        [ "$(podman ps -q --filter label=mn.node=seed-node --filter label=mn.deployment.key=agent-api | wc -l)" = 0 ] &&
        "$mnctl" node undrain seed-node --mark-eligible --reason "disk swapped" >/dev/null
}
check "mnctl node drain --dry-run shows what would happen and writes nothing; eligibility toggles; an unknown node, an undrain of a node not draining and a bad deadline are refused; drain --wait names what its deadline stopped and exits 1" node_administration

# Traffic-safe stops: a load generator (scripts/loadgen.py) follows `service watch` with a
# client's lag of 300 ms and sends HTTP requests to busybox httpd through discovery while the
# service updates. Instances leave discovery 1 s (shutdown_delay_ms) before they are stopped.
tss_manifest() { # tss_manifest FILE GREETING SHUTDOWN_DELAY_MS [UPDATE-POLICY-JSON]
    local policy="${4:-}"
    [ -n "$policy" ] || policy='{"min_healthy_ms":300,"healthy_deadline_ms":20000,"progress_deadline_ms":60000}'
    cat >"$1" <<JSON
{"deployment":{"key":"tss"},"agents":[{"id":"web","image":"localhost/mn-busybox:1","count":2,
 "args":["httpd","-f","-p","8080","-h","/www"],"env":{"GREETING":"$2"},"ports":[{"name":"http","container_port":8080}],
 "health_checks":[{"kind":"http","port":8080,"path":"/","interval_ms":200,"timeout_ms":200}],
 "lifecycle":{"grace_period_ms":1000,"shutdown_delay_ms":$3},"services":[{"name":"tss","port":"http","tags":["web"]}]}],
 "policies":{"update":$policy}}
JSON
}
# under_load NAME MIN-REQUESTS COMMAND...: runs COMMAND while the load generator sends at least
# MIN-REQUESTS requests; its summary (JSON) goes to $state/load-NAME.json.
under_load() {
    local name="$1" min="$2" pid ok=0
    shift 2
    rm -f "$state/load-stop" "$state/load-ready"
    python3 scripts/loadgen.py --mnctl "$mnctl" --service tss --stop-file "$state/load-stop" --ready-file "$state/load-ready" \
        --min-requests "$min" --lag-ms 300 >"$state/load-$name.json" 2>"$state/load-$name.err" &
    pid=$!
    for _ in $(seq 1 300); do [ -f "$state/load-ready" ] && break; sleep 0.1; done
    [ -f "$state/load-ready" ] && "$@" || ok=1
    touch "$state/load-stop"
    wait "$pid" || ok=1
    echo "    load during $name: $(cat "$state/load-$name.json")"
    return $ok
}
load_failed() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$state/load-$1.json"; }
load_requests() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$state/load-$1.json"; }
tss_containers() { podman ps -q --filter label=mn.node=seed-node --filter label=mn.deployment.key=tss | wc -l; }
await_tss_containers() { for _ in $(seq 1 100); do [ "$(tss_containers)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
tss_rolling() { timeout 90 "$mnctl" deployment deploy "$1" --strategy rolling --max-parallel 1 --wait >/dev/null && await_tss_containers 2; }
tss_blue_green() {
    timeout 90 "$mnctl" deployment deploy "$1" --strategy blue-green >/dev/null && await_promotion "$mnctl" tss &&
        [ "$("$mnctl" service resolve tss --all-roles --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["instances"]))')" = 4 ] &&
        "$mnctl" deployment promote tss >/dev/null && timeout 60 "$mnctl" deployment status tss --watch >/dev/null && await_tss_containers 2
}
traffic_safe_stops() {
    export MN_NODE_ID=seed-node
    tss_manifest "$state/tss-v1.json" v1 1000 && tss_manifest "$state/tss-v2.json" v2 1000 && tss_manifest "$state/tss-v3.json" v3 1000 &&
        tss_manifest "$state/tss-v4.json" v4 0 && tss_manifest "$state/tss-v5.json" v5 0 &&
        timeout 90 "$mnctl" deployment deploy "$state/tss-v1.json" --wait >/dev/null &&
        under_load rolling 10000 tss_rolling "$state/tss-v2.json" && [ "$(load_failed rolling)" = 0 ] && [ "$(load_requests rolling)" -ge 10000 ] &&
        under_load blue-green 10000 tss_blue_green "$state/tss-v3.json" && [ "$(load_failed blue-green)" = 0 ] &&
        [ "$(load_requests blue-green)" -ge 10000 ] &&
        # The control: with no shutdown delay, the same client sees failures (it learns 300 ms late).
        tss_rolling "$state/tss-v4.json" && under_load no-delay 3000 tss_rolling "$state/tss-v5.json" && [ "$(load_failed no-delay)" -gt 0 ]
}
check "traffic-safe stops: at least 10,000 requests through discovery during a rolling and a blue-green update (with promote) of busybox httpd, 0 failed; with shutdown_delay_ms 0 the same load fails" traffic_safe_stops

# resolved_instances [--all-roles]: "vVERSION:ROLE …" of what `service resolve tss` returns, sorted.
resolved_instances() { "$mnctl" service resolve tss ${1:+"$1"} --output json | python3 -c '
import json, sys
print(" ".join(sorted("v%s:%s" % (i["deployment_version"], i["deployment_role"]) for i in json.load(sys.stdin)["instances"])))'; }
tss_ids() { podman ps -q --no-trunc --filter label=mn.node=seed-node --filter label=mn.deployment.key=tss | sort | tr '\n' ' '; }
canary_rollback_flips_roles() {
    export MN_NODE_ID=seed-node
    local before
    before="$(tss_ids)" &&
        tss_manifest "$state/tss-v6.json" v6 1000 '{"strategy":"canary","canary":1,"min_healthy_ms":300}' &&
        "$mnctl" deployment deploy "$state/tss-v6.json" >/dev/null && await_promotion "$mnctl" tss &&
        [ "$(resolved_instances)" = "v5:primary v5:primary" ] && [ "$(resolved_instances --all-roles)" = "v5:primary v5:primary v6:canary" ] &&
        "$mnctl" deployment rollback tss --version 5 --reason "canary looks wrong" >/dev/null &&
        for _ in $(seq 1 50); do [ "$(resolved_instances --all-roles)" = "v7:primary v7:primary" ] && break; sleep 0.1; done &&
        [ "$(resolved_instances --all-roles)" = "v7:primary v7:primary" ] && timeout 30 "$mnctl" deployment status tss --watch >/dev/null &&
        await_tss_containers 2 && [ "$(tss_ids)" = "$before" ]
}
check "a canary rolled back: discovery serves the old primaries (as the new version) and drops the canary at once; they keep their containers (a role flip, not a restart)" canary_rollback_flips_roles
discovery_outputs() {
    export MN_NODE_ID=seed-node
    local index pid started out
    "$mnctl" service render tss --template haproxy | grep -Eq '^    server seed-node-web-0 [0-9.]+:[0-9]+ check$' &&
        "$mnctl" service render tss --template nginx | grep -Eq '^upstream tss \{$' &&
        "$mnctl" service render tss --template json --out "$state/tss-render.json" &&
        [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["instances"]))' "$state/tss-render.json")" = 2 ] &&
        index="$("$mnctl" service resolve tss --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["index"])')" &&
        # Unchanged: the blocking query returns the same index once its wait is over.
        [ "$("$mnctl" service resolve tss --index "$index" --wait 1s --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["index"])')" = "$index" ] &&
        { "$mnctl" service resolve tss --index "$index" --wait 60s --output json >"$state/blocked.json" & pid=$!; } &&
        started=$SECONDS && tss_manifest "$state/tss-v8.json" v8 1000 && tss_rolling "$state/tss-v8.json" && wait "$pid" &&
        [ $((SECONDS - started)) -lt 60 ] &&
        [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["index"])' "$state/blocked.json")" != "$index" ] &&
        out="$("$mnctl" service watch tss --count 1 --output json)" && grep -q '"deployment_version":8' <<<"$out"
}
check "discovery for software that cannot call mn: render haproxy, nginx and json (atomically to --out); resolve --index blocks until the answer changes (or --wait passes); service watch" discovery_outputs
required_services() {
    export MN_NODE_ID=seed-node
    cat >"$state/needs.json" <<'JSON'
{"deployment":{"key":"needs-db"},"agents":[{"id":"app","image":"localhost/mn-busybox:1","args":["sleep","600"],
 "requires_services":[{"name":"tss-db","tags":["main"]},{"name":"metrics","required":false}]}]}
JSON
    cat >"$state/db.json" <<'JSON'
{"deployment":{"key":"tss-db"},"agents":[{"id":"db","image":"localhost/mn-busybox:1","args":["httpd","-f","-p","8080","-h","/www"],
 "ports":[{"name":"http","container_port":8080}],"health_checks":[{"kind":"http","port":8080,"path":"/","interval_ms":200,"timeout_ms":200}],
 "services":[{"name":"tss-db","port":"http","tags":["main"]}]}]}
JSON
    "$mnctl" deployment deploy "$state/needs.json" >/dev/null &&
        for _ in $(seq 1 100); do "$mnctl" deployment status needs-db | grep -q 'Waiting: waiting for service tss-db (tags: main): no passing instance' && break; sleep 0.1; done &&
        "$mnctl" deployment status needs-db | grep -q 'Waiting: waiting for service tss-db (tags: main)' &&
        [ "$(podman ps -q --filter label=mn.deployment.key=needs-db | wc -l)" = 0 ] &&
        "$mnctl" deployment deploy "$state/db.json" >/dev/null &&
        timeout 60 "$mnctl" deployment status needs-db --watch >/dev/null &&
        [ "$(podman ps -q --filter label=mn.deployment.key=needs-db | wc -l)" = 1 ] &&
        "$mnctl" deployment status needs-db | grep -q 'started without metrics (not required): no passing instance'
}
check "requires_services: an agent waits (status says for what) while its required service has no passing instance, starts when it passes, and notes an optional one that does not" required_services

# Redis faults under the running agent (seed-node, the local redis-server of $state, append-only).
outage_manifest() { # outage_manifest FILE GREETING
    cat >"$1" <<JSON
{"deployment":{"key":"outage"},"agents":[{"id":"w","image":"localhost/mn-busybox:1","count":3,"args":["sleep","600"],
 "env":{"G":"$2"},"lifecycle":{"grace_period_ms":500}}],
 "policies":{"update":{"max_parallel":1,"min_healthy_ms":3000,"healthy_deadline_ms":60000,"progress_deadline_ms":180000}}}
JSON
}
outage_ids() { podman ps -q --no-trunc --filter label=mn.node=seed-node --filter "label=mn.deployment.key=${1:-outage}" | sort | tr '\n' ' '; }
seed_ids() { podman ps ${1:-} -q --no-trunc --filter label=mn.node=seed-node | sort | tr '\n' ' '; } # [-a]: stopped ones too
redis_outage() {
    export MN_NODE_ID=seed-node
    local before first_v2
    outage_manifest "$state/outage-v1.json" v1 && outage_manifest "$state/outage-v2.json" v2 &&
        timeout 90 "$mnctl" deployment deploy "$state/outage-v1.json" --wait >/dev/null &&
        "$mnctl" deployment deploy "$state/outage-v2.json" >/dev/null || return 1
    # Mid-rollout: the first v2 container runs beside the three of v1 (min_healthy_ms holds the next step).
    for _ in $(seq 1 100); do [ "$(outage_ids | wc -w)" = 4 ] && break; sleep 0.1; done
    [ "$(outage_ids | wc -w)" = 4 ] || return 1
    before="$(outage_ids)" && first_v2="$(podman ps -q --no-trunc --filter label=mn.node=seed-node --filter label=mn.deployment.key=outage --filter label=mn.deployment.version=2)"
    redis-cli -s "$state/redis.sock" shutdown >/dev/null 2>&1 || true
    ! redis-cli -s "$state/redis.sock" ping >/dev/null 2>&1 || return 1
    sleep 30 # the outage itself (nothing to wait for: the point is that nothing happens)
    [ "$(outage_ids)" = "$before" ] && kill -0 "$agent" || { echo "    containers changed or mnagent died during the outage"; return 1; }
    # Back with its append-only file (any mnctl command starts the local server again).
    "$mnctl" deployment list >/dev/null &&
        timeout 120 "$mnctl" deployment status outage --watch >/dev/null &&
        [ "$(podman ps -q --filter label=mn.node=seed-node --filter label=mn.deployment.key=outage --filter label=mn.deployment.version=2 | wc -l)" = 3 ] &&
        [ "$(outage_ids | wc -w)" = 3 ] && grep -q "$first_v2" <<<"$(outage_ids)"
}
check "Redis stopped for 30 s mid-rollout and restarted with its append-only file: no container started or stopped meanwhile, mnagent reconnects and the rollout finishes" redis_outage
kept_containers() { "$mnctl" node status seed-node --output json 2>/dev/null | python3 -c '
import json, sys
print(" ".join(sorted(k["container"] for k in json.load(sys.stdin).get("kept", []))))' 2>/dev/null; }
# includes SET SUBSET: every id of SUBSET is in SET (space-separated)
includes() { python3 -c 'import sys; sys.exit(0 if set(sys.argv[2].split()) <= set(sys.argv[1].split()) else 1)' "$1" "$2"; }
redis_emptied() {
    export MN_NODE_ID=seed-node
    local before outage others
    before="$(seed_ids)" && outage="$(outage_ids)" && [ -n "$outage" ] || return 1
    others="$(python3 -c 'import sys; print(" ".join(sorted(set(sys.argv[1].split()) - set(sys.argv[2].split()))))' "$before" "$outage")"
    redis-cli -s "$state/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$state/appendonlydir" "$state"/mn.aof* &&
        "$mnctl" deployment list | grep -q '^No deployments yet' || return 1
    # Every running container of seed-node is reported kept and none stopped; once outage's
    # manifest is applied again (as version 1: its containers came from version 2, whose number
    # the agent read before the loss), the agent adopts its three containers, the others stay kept.
    for _ in $(seq 1 100); do includes "$(kept_containers)" "$before" && break; sleep 0.1; done
    includes "$(kept_containers)" "$before" && [ "$(seed_ids)" = "$before" ] ||
        { echo "    kept: $(kept_containers); running: $(seed_ids) (before: $before)"; return 1; }
    "$mnctl" node status seed-node | grep -q '^Kept: .*(was Redis emptied?)' &&
        "$mnctl" apply "$state/outage-v2.json" >/dev/null && timeout 60 "$mnctl" deployment status outage --watch >/dev/null || return 1
    for _ in $(seq 1 100); do ! includes "$(kept_containers)" "$(cut -d' ' -f1 <<<"$outage")" && break; sleep 0.1; done
    local kept
    kept="$(kept_containers)"
    includes "$kept" "$others" && python3 -c 'import sys; sys.exit(0 if not set(sys.argv[1].split()) & set(sys.argv[2].split()) else 1)' "$kept" "$outage" &&
        [ "$(outage_ids)" = "$outage" ] && [ "$(seed_ids)" = "$before" ] ||
        { echo "    after apply: kept: $kept; outage: $(outage_ids) (before: $outage); running: $(seed_ids)"; return 1; }
}
check "Redis restarted empty: mnagent stops nothing, node status lists every container as kept; a manifest applied again adopts its containers (same ids), the others stay kept" redis_emptied

podman_outage() {
    # The podman service mnagent started is killed (SIGKILL) mid-rollout: the containers keep
    # running and none is started or stopped meanwhile, mnagent starts the service again within
    # seconds, and the rollout finishes with the container it had started.
    export MN_NODE_ID=seed-node
    local v1="$state/pdown-v1.json" v2="$state/pdown-v2.json" before first_v2 service
    outage_manifest "$v1" v1 && outage_manifest "$v2" v2 &&
        sed -i 's/"key":"outage"/"key":"pdown"/; s/"min_healthy_ms":3000/"min_healthy_ms":8000/' "$v1" "$v2" &&
        timeout 90 "$mnctl" deployment deploy "$v1" --wait >/dev/null && "$mnctl" deployment deploy "$v2" >/dev/null || return 1
    for _ in $(seq 1 100); do [ "$(outage_ids pdown | wc -w)" = 4 ] && break; sleep 0.1; done
    [ "$(outage_ids pdown | wc -w)" = 4 ] || return 1
    before="$(outage_ids pdown)"
    first_v2="$(podman ps -q --no-trunc --filter label=mn.node=seed-node --filter label=mn.deployment.key=pdown --filter label=mn.deployment.version=2)"
    service="$(pgrep -f "system service --time=0 unix://$state/podman.sock")"
    [ -n "$service" ] && kill -KILL $service || { echo "    no podman service of mnagent's found"; return 1; }
    for _ in $(seq 1 100); do
        [ -n "$(pgrep -f "system service --time=0 unix://$state/podman.sock")" ] && grep -q 'ended; starting it again' "$state/agent.log" && break
        sleep 0.1
    done
    grep -q 'ended; starting it again' "$state/agent.log" && [ -n "$(pgrep -f "system service --time=0 unix://$state/podman.sock")" ] ||
        { echo "    mnagent did not start its podman service again"; return 1; }
    [ "$(outage_ids pdown)" = "$before" ] && kill -0 "$agent" || { echo "    containers changed during the podman outage"; return 1; }
    timeout 120 "$mnctl" deployment status pdown --watch >/dev/null &&
        [ "$(podman ps -q --filter label=mn.node=seed-node --filter label=mn.deployment.key=pdown --filter label=mn.deployment.version=2 | wc -l)" = 3 ] &&
        [ "$(outage_ids pdown | wc -w)" = 3 ] && grep -q "$first_v2" <<<"$(outage_ids pdown)"
}
check "podman's service killed mid-rollout: no container started or stopped meanwhile, mnagent starts the service again and the rollout finishes" podman_outage
failing_start() {
    # A new version whose containers cannot run, against real podman: a command that does not
    # exist (the container exits at once) and a memory limit the runtime refuses (podman's start
    # fails). Each is restarted as the restart policy says (2 attempts, 1 s then 2 s), then
    # Failed with the reason, and the rollout fails at once (not at the 60 s healthy deadline),
    # saying why; the v1 containers are never touched.
    export MN_NODE_ID=seed-node
    local dir="$state/fstart" v1_ids status reason
    mkdir -p "$dir"
    cat >"$dir/v1.json" <<JSON
{"deployment":{"key":"fstart"},"agents":[{"id":"w","image":"localhost/mn-busybox:1","count":2,"args":["sleep","600"],
 "lifecycle":{"grace_period_ms":500}}],
 "policies":{"update":{"max_parallel":1,"min_healthy_ms":1000,"healthy_deadline_ms":60000,"progress_deadline_ms":120000},
 "restart":{"attempts":2,"interval_ms":60000,"delay_ms":1000,"delay_function":"exponential","max_delay_ms":10000,"mode":"fail"}}}
JSON
    sed 's|"args":\["sleep","600"\]|"args":["/no/such/command"]|' "$dir/v1.json" >"$dir/v2.json"
    sed 's|"args":\["sleep","600"\]|"args":["sleep","601"],"resources":{"memory_mb":1}|' "$dir/v1.json" >"$dir/v3.json"
    timeout 90 "$mnctl" deployment deploy "$dir/v1.json" --wait >/dev/null || return 1
    v1_ids="$(outage_ids fstart)"
    for version in 2 3; do
        local started=$SECONDS expected="exited with code"
        [ "$version" = 2 ] || expected="start [0-9a-f]*: "
        status=0
        timeout 50 "$mnctl" deployment deploy "$dir/v$version.json" --wait >"$dir/v$version.out" 2>&1 || status=$?
        reason="$("$mnctl" deployment status fstart --output json | python3 -c 'import json,sys; print((json.load(sys.stdin).get("failure") or {}).get("reason", ""))')"
        [ "$status" = 1 ] && grep -q "^w/0 failed: $expected" <<<"$reason" &&
            grep -q "restarted 2 times within 60000 ms (attempts 2, mode fail)" <<<"$reason" ||
            { echo "    v$version: exit $status after $((SECONDS - started)) s, failure: '$reason'"; return 1; }
        echo "    v$version failed after $((SECONDS - started)) s: $reason" | cut -c1-200
    done
    [ "$(podman ps -q --no-trunc --filter label=mn.node=seed-node --filter label=mn.deployment.key=fstart --filter label=mn.deployment.version=1 | sort | tr '\n' ' ')" = "$v1_ids" ] ||
        { echo "    the v1 containers changed: $(outage_ids fstart) (before: $v1_ids)"; return 1; }
}
check "a new version whose containers cannot run (a missing command; a memory limit the runtime refuses): restarted as the restart policy says, then Failed with the reason, the rollout failed at once saying why, v1 untouched" failing_start
podman_service_taken_over() {
    # kill -9 of an mnagent leaves the podman service it started (a process group of its own):
    # the next agent of that state directory takes it over instead of starting a second one,
    # and stops it when it stops.
    local dir="$state/leftover" first second
    mkdir -p "$dir"
    services() { pgrep -f "system service --time=0 unix://$dir/podman.sock" | wc -l; }
    MN_STATE_DIR="$dir" MN_NODE_ID=leftover-node "$mnagent" --log-level info >"$dir/first.log" 2>&1 &
    first=$!
    for _ in $(seq 1 300); do grep -q 'mnagent watching' "$dir/first.log" && break; sleep 0.1; done
    grep -q 'started podman system service' "$dir/first.log" && kill -KILL "$first" || return 1
    wait "$first" 2>/dev/null
    [ "$(services)" = 1 ] || { echo "    no podman service left running after kill -9"; return 1; }
    MN_STATE_DIR="$dir" MN_NODE_ID=leftover-node "$mnagent" --log-level info >"$dir/second.log" 2>&1 &
    second=$!
    for _ in $(seq 1 300); do grep -q 'mnagent watching' "$dir/second.log" && break; sleep 0.1; done
    grep -q 'took over the podman system service a previous mnagent started' "$dir/second.log" && [ "$(services)" = 1 ] ||
        { kill -TERM "$second"; wait "$second"; echo "    services: $(services)"; return 1; }
    kill -TERM "$second"
    wait "$second" 2>/dev/null
    for _ in $(seq 1 100); do [ "$(services)" = 0 ] && break; sleep 0.1; done
    [ "$(services)" = 0 ]
}
check "kill -9 of mnagent leaves its podman service running; the next mnagent takes it over (one service, not two) and stops it on SIGTERM" podman_service_taken_over

secured() {
    # Security spot checks against a redis-server that only an ACL user limited to mn's keys and
    # channels may use (its password on the command line), a real mnagent and real podman:
    # a deployment runs, is resolved and rolled back through that user; the password is in no
    # /proc/PID/cmdline, log, output or --help; manifest values meant for a shell
    # ($(…), `…`, ;) reach none; a manifest asking for privileges mn never grants is refused.
    local dir="$state/acl" admin="admin-$RANDOM$RANDOM" secret="acl-$RANDOM$RANDOM$RANDOM" url pids=() pid out field name status ids
    mkdir -p "$dir"
    redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save '' --appendonly no --requirepass "$admin" \
        --dir "$dir" >"$dir/redis.log" 2>&1 &
    for _ in $(seq 1 100); do redis-cli -s "$dir/redis.sock" -a "$admin" --no-auth-warning ping >/dev/null 2>&1 && break; sleep 0.1; done
    # The ACL the README gives: mn's keys and channels only, no admin or dangerous command.
    redis-cli -s "$dir/redis.sock" -a "$admin" --no-auth-warning ACL SETUSER mn on ">$secret" resetkeys '~mn:*' resetchannels '&mn:*' \
        +@all -@admin -@dangerous >/dev/null || return 1
    url="unix://mn:$secret@$dir/redis.sock"
    MN_STATE_DIR="$dir" "$mnagent" --node-id acl-node --redis "$url" --log-level debug --resync-interval 2 >"$dir/agent.log" 2>&1 &
    pid=$!
    cat >"$dir/v1.json" <<JSON
{"deployment":{"key":"acl"},"agents":[{"id":"web","image":"localhost/mn-busybox:1","count":1,
 "args":["httpd","-f","-p","8080","-h","/www"],"env":{"A":"\$(touch $dir/pwned-env)","B":"\`touch $dir/pwned-tick\`;touch $dir/pwned-semi"},
 "ports":[{"name":"http","container_port":8080}],"services":[{"name":"acl","port":"http","tags":["x;touch $dir/pwned-tag"]}],
 "health_checks":[{"kind":"http","port":8080,"path":"/"}],"lifecycle":{"grace_period_ms":500,"shutdown_delay_ms":100}}]}
JSON
    sed 's/"count":1/"count":2/' "$dir/v1.json" >"$dir/v2.json"
    out="$dir/mnctl.out"
    {
        timeout 90 "$mnctl" deployment deploy "$dir/v1.json" --wait --redis "$url" &&
            timeout 90 "$mnctl" deployment deploy "$dir/v2.json" --wait --redis "$url" &&
            timeout 30 "$mnctl" deployment rollback acl --version 1 --reason "security check" --redis "$url" &&
            "$mnctl" service resolve acl --redis "$url" --output json &&
            "$mnctl" node list --redis "$url" &&
            "$mnctl" deployment status acl --redis "$url"
    } >"$out" 2>&1 || { kill -TERM "$pid"; wait "$pid"; echo "    through the ACL user: $(tail -n 3 "$out")"; return 1; }
    # A long-running mnctl, seen by ps while it runs.
    "$mnctl" service watch acl --redis "$url" >"$dir/watch.out" 2>&1 &
    pids=($!)
    for _ in $(seq 1 50); do [ -s "$dir/watch.out" ] && break; sleep 0.1; done # its first answer: it runs
    local leaks="" p
    for p in "$pid" "${pids[@]}"; do
        [ -r "/proc/$p/cmdline" ] || { echo "    process $p ended before ps was read"; kill -TERM "$pid"; return 1; }
        tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "$secret" && leaks+=" cmdline of $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-40)"
        tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- 'mn:\*\*\**@' || leaks+=" (no hidden password in $p's cmdline)"
    done
    kill -TERM "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
    grep -q 'password in --redis is now hidden' "$dir/agent.log" || leaks+=" (no note about the password on the command line)"
    MN_REDIS_URL="$url" "$mnctl" --help >"$dir/help" 2>&1; MN_REDIS_URL="$url" "$mnagent" --help >>"$dir/help" 2>&1
    MN_REDIS_URL="$url" "$mnctl" deployment status --help >>"$dir/help" 2>&1
    for f in "$dir/agent.log" "$out" "$dir/help"; do grep -q -- "$secret" "$f" && leaks+=" ${f##*/}"; done
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null
    [ -z "$leaks" ] || { echo "    the password leaked:$leaks"; return 1; }
    ls "$dir"/pwned-* >/dev/null 2>&1 && { echo "    a manifest value reached a shell: $(ls "$dir"/pwned-*)"; return 1; }
    # Privileges a manifest cannot ask for: each refused, naming the field.
    for field in '"privileged":true' '"mounts":[{"source":"/","target":"/host"}]' '"volumes":["/:/host"]' '"network":"host"' \
        '"cap_add":["SYS_ADMIN"]' '"devices":["/dev/mem"]' '"security_opt":["seccomp=unconfined"]'; do
        printf '{"deployment":{"key":"acl"},"agents":[{"id":"web","image":"localhost/mn-busybox:1",%s}]}' "$field" >"$dir/bad.json"
        status=0
        "$mnctl" validate "$dir/bad.json" >"$dir/bad.out" 2>&1 || status=$?
        name="${field#\"}"
        [ "$status" = 2 ] && grep -q "^  agents\[0\]\.${name%%\"*}: " "$dir/bad.out" ||
            { echo "    $field: $(cat "$dir/bad.out")"; return 1; }
    done
    ids="$(podman ps -aq --filter label=mn.node=acl-node)"
    [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1
    redis-cli -s "$dir/redis.sock" -a "$admin" --no-auth-warning shutdown nosave >/dev/null 2>&1 || true
}
check "security: an ACL user limited to mn's keys and channels deploys, rolls back and resolves; its password is in no cmdline, log, output or --help; manifest values meant for a shell reach none; privileges mn never grants are refused by field" secured

# Redis under Sentinel (a real primary, replica and three sentinels on loopback): the primary
# killed mid-rollout, the rollout finishes on the promoted replica.
sentinel_passes() {
    out="$(scripts/sentinel-check.sh "$mnctl" "$mnagent" 2>&1)" || { echo "$out"; return 1; }
    echo "$out" | sed 's/^/    /'
}
check "Redis Sentinel: mnagent and mnctl reach Redis through redis+sentinel://; the primary killed (SIGKILL) mid-rollout, the sentinels promote the replica and the rollout finishes there (three v2 containers, the first kept), the lease epoch not lower than before" sentinel_passes

# Three hosts on this machine (network namespaces on a bridge, Redis on the bridge, real podman):
# registry, placement 2/2/2, a rolling update across the hosts surviving kill -9 of the
# controller, and a partition, with real mnagent processes.
cluster_passes() {
    out="$(scripts/cluster-check.sh "$mnctl" "$mnagent" 2>&1)" || { echo "$out"; return 1; }
    echo "$out" | sed 's/^/    /'
}
check "three mnagents in three network namespaces: all register, one leads, a count-6 service spreads 2/2/2, a rolling update completes across kill -9 of the leader, a drain moves a node's two instances with never fewer than six running, a lost node's instances are rescheduled and stopped when it is back, a system job reaches a fourth agent" cluster_passes
kill -TERM "$agent" 2>/dev/null
wait "$agent" 2>/dev/null || true
agent=""

# The README's "Use" lines, verbatim, against an mnagent of their own.
readme_lines() {
    local out
    out="$(scripts/readme-check.sh "$(dirname "$mnctl")" 2>&1)" || { echo "$out" | tail -n 30; return 1; }
    tail -n 1 <<<"$out" | sed 's/^/    /'
}
check "the command lines of the README's Use section run verbatim against a running release mnagent" readme_lines

# The README demo, end to end with the release binaries, in a state directory of its own and
# under a node id of its own (its containers are removed by that label when the tests end).
demo_node="demo-check-$$"
demo_passes() {
    local out
    out="$(MN_STATE_DIR="$state/demo" MN_NODE_ID="$demo_node" bash scripts/demo.sh 2>&1)" || { echo "$out" | tail -n 30; return 1; }
    grep -q '^hello from mn' <<<"$out" &&
        grep -q 'status RolledBack' <<<"$out" &&
        grep -q '^web  v6  *Running' <<<"$out"
}
check "the README demo runs end to end on the release mnagent (v1, rolling v2, canary v3 + promote, v4 auto-reverted, rollback to v1)" demo_passes

echo "$((swift_tests + passed)) passed, $failed failed"
[ "$failed" -eq 0 ]
