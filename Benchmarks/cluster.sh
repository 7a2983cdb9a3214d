#!/usr/bin/env bash
# The cluster at fleet size, in one process, in release: N simulated nodes (NodeAgent on a fake
# runtime each) and the ClusterController against one real redis-server (started on a unix
# socket of its own). Places a service of NODES × PER-NODE instances, then rolls every instance
# to a new version with max_parallel MAX-PARALLEL. Prints instance transitions per second,
# controller and node pass times (p50/p99) and Redis commands per controller pass and per node
# pass at idle and mid-rollout (INFO commandstats). Asserts nothing.
# Usage: Benchmarks/cluster.sh [NODES [PER-NODE [MAX-PARALLEL]]]   (default 100 100 100)
set -euo pipefail
cd "$(dirname "$0")"
. ../scripts/lib.sh
ensure_swift
swift build -c release --product cluster >&2
bin="$(swift build -c release --show-bin-path)"
echo "# $(swift --version 2>/dev/null | head -n 1); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); mn $(git -C .. rev-parse --short HEAD)"
"$bin/cluster" "$@"
