#!/usr/bin/env bash
# Writes the man pages of mnctl and mnagent (one page per subcommand, generated from their
# --help by swift-argument-parser's generate-manual plugin, from the release build) to DIR.
# Usage: scripts/man-pages.sh [DIR]   (default /usr/local/share/man/man1; then: man mnctl.deployment.deploy)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_swift
out="${1:-/usr/local/share/man/man1}"
swift package plugin generate-manual --multi-page >&2
mkdir -p "$out"
cp .build/plugins/GenerateManual/outputs/mnctl/*.1 .build/plugins/GenerateManual/outputs/mnagent/*.1 "$out/"
echo "$(ls .build/plugins/GenerateManual/outputs/mnctl/*.1 .build/plugins/GenerateManual/outputs/mnagent/*.1 | wc -l) man pages in $out"
