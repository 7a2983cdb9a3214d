#!/usr/bin/env bash
# The planners' cost at fleet sizes, in release: RolloutPlanner.plan and NodeReconciler.reconcile
# for one agent of count N (default N = 100, 1k, 10k, 100k). Prints a table of the median wall
# time of one call, its allocations (counted by ordo-one's malloc-interposer, preloaded) and
# the time's growth per 10× N. Asserts nothing. Usage: Benchmarks/planning.sh [N ...]
set -euo pipefail
cd "$(dirname "$0")"
. ../scripts/lib.sh
ensure_swift
swift build -c release --product planning >&2
bin="$(swift build -c release --show-bin-path)"
echo "# $(swift --version 2>/dev/null | head -n 1); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); mn $(git -C .. rev-parse --short HEAD)"
LD_PRELOAD="$bin/libMallocInterposerSwift.so" "$bin/planning" "$@"
