#!/usr/bin/env bash
# mn's benchmarks, in one place (issue 14). Each builds what it measures in release and prints
# figures; none asserts anything. docs/benchmarks.md records their results with the commands.
#
#   scripts/bench.sh            every benchmark below, in order (about 25 minutes on 2 cores)
#   scripts/bench.sh p1 p5      only those
#
#   p1  pure planning cost: RolloutPlanner.plan and NodeReconciler.reconcile at N = 100 … 100k
#       (Benchmarks/planning.sh), and the cluster reconciler at 100 nodes × 100 instances
#       (Benchmarks/cluster.sh 100 100 100; 1,000 × 100: Benchmarks/cluster.sh 1000 100 1000)
#   p2  a rolling update of 10 containers, mn against a podman CLI script (Benchmarks/rolling-update.sh)
#   p3  mnctl apply → the agent's first podman call, and mnctl's own time (Benchmarks/apply-latency.sh)
#   p5  an idle mnagent over 60 s: RSS, CPU, Redis commands a minute (Benchmarks/idle.sh)
#   p6  discovery: resolve and watch with 1,000 instances, canary rollback → discovery (Benchmarks/discovery.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

run() { echo "== $*" >&2; "$@"; }
benchmark() {
    case "$1" in
    p1)
        run Benchmarks/planning.sh
        run Benchmarks/cluster.sh 100 100 100
        ;;
    p2) run Benchmarks/rolling-update.sh 3 ;;
    p3) run Benchmarks/apply-latency.sh 200 ;;
    p5) run Benchmarks/idle.sh 60 1 ;;
    p6) run Benchmarks/discovery.sh 100 ;;
    *)
        echo "scripts/bench.sh: unknown benchmark '$1'; one of p1 p2 p3 p5 p6 (see the top of this file)" >&2
        exit 2
        ;;
    esac
}

[ $# -gt 0 ] || set -- p1 p2 p3 p5 p6
for name in "$@"; do
    case "$name" in p1 | p2 | p3 | p5 | p6) ;; *) benchmark "$name" ;; esac  # refuse a typo before anything runs
done
for name in "$@"; do benchmark "$name"; done
