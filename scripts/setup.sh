#!/usr/bin/env bash
# Installs what mn needs on this machine, idempotently: Debian packages that are missing,
# and, only where a smoke test shows podman cannot run containers as configured, the
# podman settings that fix it (saying what it changed). Run by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# catatonit: the init process mn's containers run under; iptables: podman's bridge network.
packages=(redis-server libhiredis-dev libsystemd-dev podman runc catatonit iptables busybox-static iproute2)
ensure_packages "${packages[@]}"
ensure_swift
ensure_podman_runs
