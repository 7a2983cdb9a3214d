# Shared by the scripts in this folder. Source it; it defines functions only.

# Puts a Swift 6.1+ toolchain on PATH, or stops with what to do.
ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
            if [ -x "$dir/swift" ]; then
                export PATH="$dir:$PATH"
                break
            fi
        done
    fi
    if ! command -v swift >/dev/null 2>&1; then
        echo "error: no Swift toolchain found; install Swift 6.1 or later and put its bin folder on PATH" >&2
        exit 1
    fi
}

# Builds a product of this package in release, as users run it, and prints the binary's path.
build_release() {
    swift build -c release --static-swift-stdlib --product "$1" >&2
    echo "$(swift build -c release --static-swift-stdlib --show-bin-path)/$1"
}

# Installs the named Debian packages that are not installed yet (apt-get update once, first).
ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "setup: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    # With their recommends, as a user's plain `apt-get install` would (podman needs them).
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The tiny image mn's tests and demo use: busybox in an otherwise empty root, imported
# locally (no registry needed). Prints the image name.
ensure_busybox_image() {
    local image="localhost/mn-busybox:1"
    if ! podman image exists "$image" 2>/dev/null; then
        local root
        root="$(mktemp -d)"
        mkdir -p "$root/bin" "$root/www" "$root/tmp"
        cp "$(command -v busybox)" "$root/bin/busybox"
        for tool in sh httpd sleep echo cat true false wget nc ls env kill; do ln -s busybox "$root/bin/$tool"; done
        echo "hello from mn" >"$root/www/index.html"
        tar -C "$root" -c . | podman import --quiet --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
        rm -rf "$root"
        echo "setup: built $image from busybox-static" >&2
    fi
    echo "$image"
}

# Makes `podman run` work here. On most hosts it already does; on hosts where the OCI
# runtime cannot set podman's default rlimits (or crun cannot run), writes runc and
# explicit ulimits to /etc/containers/containers.conf and says so.
ensure_podman_runs() {
    local image
    image="$(ensure_busybox_image)"
    # What the agent relies on: an init process, and the default (bridge) network.
    if podman run --rm --init "$image" true >/dev/null 2>&1; then
        ensure_agent_rlimits
        return 0
    fi
    local conf=/etc/containers/containers.conf
    echo "setup: 'podman run' fails here; writing runc and explicit ulimits to $conf" >&2
    [ -f "$conf" ] && cp "$conf" "$conf.mn-backup"
    mkdir -p /etc/containers
    cat >"$conf" <<'CONF'
# Written by mn's scripts/setup.sh: podman could not run containers with its defaults here.
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=1000:1000"]

[engine]
runtime = "runc"
CONF
    if ! podman run --rm --init "$image" true; then
        echo "error: podman still cannot run containers; see the error above" >&2
        exit 1
    fi
    ensure_agent_rlimits
}

# podman's REST API ignores containers.conf's default_ulimits, so where this host needs
# explicit ulimits (mn's setup wrote them above), the agent's node config says them too.
ensure_agent_rlimits() {
    local conf=/etc/containers/containers.conf agent=/etc/mn/agent.json
    grep -q "Written by mn's scripts/setup.sh" "$conf" 2>/dev/null || return 0
    [ -f "$agent" ] && return 0
    mkdir -p /etc/mn
    cat >"$agent" <<'JSON'
{
  "network": "bridge",
  "rlimits": [
    { "type": "nofile", "soft": 1024, "hard": 20000 },
    { "type": "nproc", "soft": 1000, "hard": 1000 }
  ]
}
JSON
    echo "setup: wrote $agent (explicit rlimits for containers the agent creates)" >&2
}

# Waits (up to 60 s) until deployment KEY's canaries, or its blue-green version, are healthy
# and wait for promotion, as `mnctl deployment status --output json` says.
# Usage: await_promotion MNCTL KEY
await_promotion() {
    for _ in $(seq 1 600); do
        "$1" deployment status "$2" --output json | python3 -c '
import json, sys
r = json.load(sys.stdin).get("rollout")
sys.exit(0 if r and r["awaiting_promotion"] else 1)' && return 0
        sleep 0.1
    done
    return 1
}

# Seconds since $1 (from date +%s.%N), to a tenth.
elapsed() { python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

# Waits (up to $1 seconds, polling every 0.1 s) until the command after it succeeds.
await() {
    local seconds="$1"
    shift
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
