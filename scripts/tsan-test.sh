#!/usr/bin/env bash
# The unit tests under ThreadSanitizer: every unit-labelled gtest binary, built alone (not the
# daemon, the benchmarks or the integration tests, to keep CI inside its time) and run with
# halt_on_error, so any data race fails the run. The integration tests run real processes
# under ASan instead (make asan-test).
set -euo pipefail
dir=${1:-build-tsan}
jobs=${2:-$(nproc)}
tests=(value_test config_test sg_unit_test log_test source_test state_test state_property_test
       dispatch_test ledger_test dispatcher_unit_test workers_unit_test daemon_test
       sandbox_unit_test sgeventd_base_test)
# And the threaded parts of other binaries: the sandbox's webhook sender (its thread, a
# receiver that hangs, a stop mid-request), the leader lease's renewing thread.
filtered=("sandbox_integration_test:WebhookSender.*:SandboxWebhooks.*"
          "engine_unit_test:LeaseKeeper*")
# state_test's PostgreSQL tests start the tests' server in the build folder (pg_server.sh);
# it goes with the run.
trap 'tests/support/pg_server.sh destroy "$dir/test-pg" >/dev/null 2>&1 || true' EXIT
# -O1 -g1: line numbers in the reports, and a build a third quicker than -O2 -g; a unity build
# (Makefile, asan-test) for the same reason.
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
  -DSGEVENTD_TSAN=ON -DSGEVENTD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build "$dir" -j "$jobs" --target "${tests[@]}" "${filtered[@]%%:*}"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
failed=()
for t in "${tests[@]}"; do
  echo "== $t (TSan)"
  if ! (cd "$dir" && "bin/$t" --gtest_brief=1); then failed+=("$t"); fi
done
for entry in "${filtered[@]}"; do
  t=${entry%%:*}
  echo "== $t ${entry#*:} (TSan)"
  if ! (cd "$dir" && "bin/$t" --gtest_brief=1 --gtest_filter="${entry#*:}"); then failed+=("$t"); fi
done
if ((${#failed[@]})); then
  echo "ThreadSanitizer: failed: ${failed[*]}" >&2
  exit 1
fi
echo "ThreadSanitizer: ${#tests[@]} unit test binaries and ${#filtered[@]} filtered ones clean"
