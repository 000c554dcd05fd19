#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and fuzzes each for a bounded time: the response
# decoder, the shotgunEvents pickle reader, the INI reader and the worker protocol parser.
# Usage: scripts/run-fuzz.sh BUILD_DIR SECONDS. SECONDS is the total, split evenly among the
# targets (at least 10 s each). Each target's seed corpus (fuzz/corpus*) is copied to
# BUILD_DIR/corpus*, where new inputs go, not to the repo; crash, leak and timeout inputs go to
# BUILD_DIR/artifacts/. Exits non-zero when any target fails, after running them all.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-60}
if ! command -v clang++ >/dev/null; then
  echo "run-fuzz: clang++ not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

# target:corpus directory (under fuzz/ and under BUILD_DIR):-max_len
targets=(
  fuzz_response_decoder:corpus:65536
  fuzz_pickle_reader:corpus_pickle:16384
  fuzz_ini:corpus_ini:8192
  fuzz_worker_protocol:corpus_protocol:8192
)
each=$((seconds / ${#targets[@]}))
extra=$((seconds % ${#targets[@]}))  # the remainder goes to the first target
if ((each < 10)); then
  each=10
  extra=0
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSGEVENTD_FUZZ=ON -DSGEVENTD_TESTS=OFF \
  -DSGEVENTD_BENCH=OFF -DSGEVENTD_WERROR=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}"); done
cmake --build "$build" --target "${names[@]}"
mkdir -p "$build/artifacts"

failed=()
for t in "${targets[@]}"; do
  IFS=: read -r name corpus max_len <<<"$t"
  time=$((each + extra))
  extra=0
  mkdir -p "$build/$corpus"
  cp -n "fuzz/$corpus"/* "$build/$corpus/" 2>/dev/null || true
  echo "== $name: ${time} s on $build/$corpus"
  if ! "$build/bin/$name" -max_total_time="$time" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" \
    "$build/$corpus"; then
    failed+=("$name")
  fi
done
if ((${#failed[@]})); then
  echo "run-fuzz: failed: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
