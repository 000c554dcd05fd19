#!/usr/bin/env bash
# Builds the libFuzzer target with clang and fuzzes the response decoder for a bounded time.
# Usage: scripts/run-fuzz.sh BUILD_DIR SECONDS. New inputs go to BUILD_DIR/corpus, not the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
if ! command -v clang++ >/dev/null; then
  echo "run-fuzz: clang++ not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSGEVENTD_FUZZ=ON -DSGEVENTD_TESTS=OFF \
  -DSGEVENTD_BENCH=OFF -DSGEVENTD_WERROR=OFF >/dev/null
cmake --build "$build" --target fuzz_response_decoder
mkdir -p "$build/corpus"
cp -n fuzz/corpus/* "$build/corpus/" 2>/dev/null || true
"$build/bin/fuzz_response_decoder" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 "$build/corpus"
