#!/usr/bin/env bash
# `make run`: the daemon on the embedded sandbox with example plugins. Until the daemon lands
# (issue 4) this shows what exists: the sandbox site when built, else the CLI's help.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin="$build/bin/sgeventd"
if "$bin" sandbox --help >/dev/null 2>&1; then
  echo "sgeventd: the daemon is not built yet; starting the sandbox site (Ctrl-C stops it)."
  exec "$bin" sandbox --port 0
fi
"$bin" --help
