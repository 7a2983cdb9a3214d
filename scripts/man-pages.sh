#!/usr/bin/env bash
# Writes the man pages of mnctl and mnagent (one page per subcommand, generated from their
# --help by swift-argument-parser's generate-manual plugin) to DIR. The plugin builds them in
# debug: the pages are the same, and the release build (statically linked, see build_release in
# lib.sh) is not rebuilt with the plugin's flags.
# Usage: scripts/man-pages.sh [DIR]   (default /usr/local/share/man/man1; then: man mnctl.deployment.deploy)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_swift
out="${1:-/usr/local/share/man/man1}"
swift package plugin generate-manual --multi-page --configuration debug >&2
mkdir -p "$out"
cp .build/plugins/GenerateManual/outputs/mnctl/*.1 .build/plugins/GenerateManual/outputs/mnagent/*.1 "$out/"
echo "$(ls .build/plugins/GenerateManual/outputs/mnctl/*.1 .build/plugins/GenerateManual/outputs/mnagent/*.1 | wc -l) man pages in $out"
