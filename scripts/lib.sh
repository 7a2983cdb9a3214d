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

# Builds mnctl (debug, sharing the test build) and prints its path.
build_mnctl() {
    swift build --product mnctl >&2
    echo "$(swift build --show-bin-path)/mnctl"
}
