#!/usr/bin/env bash
# The mn demo, as far as mn goes today: builds mnctl, validates the example manifests,
# and shows what a node would do to deploy v1, update it to v2 and roll back to v1.
# Nothing on this machine is changed; the agent that executes plans is the next milestone.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_swift

mnctl_bin="$(build_mnctl)"
mnctl() { "$mnctl_bin" "$@"; }
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

step mnctl validate Examples/web-v1.json Examples/web-v2.json Examples/web-v3.json Examples/agent-api.yaml
step mnctl plan Examples/web-v1.json
step mnctl plan Examples/web-v2.json --from Examples/web-v1.json
step mnctl plan Examples/web-v1.json --from Examples/web-v2.json
step mnctl plan Examples/web-v2.json --from Examples/web-v2.json
printf '\n%s$ mnctl validate Examples/broken.json%s   (deliberately broken: every problem, exit 1)\n' "$bold" "$plain"
mnctl validate Examples/broken.json || echo "(exit $?)"
