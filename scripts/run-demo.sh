#!/usr/bin/env bash
# `make run`: sgeventd in the foreground against its embedded sandbox site (examples/demo.conf)
# with the example plugins (examples/plugins: a shotgunEvents-style Python plugin and an exec
# plugin) and generated activity, so events flow through the plugins within seconds. Logs go to
# the terminal and to a scratch folder. Ctrl-C stops; DEMO_SECONDS=N stops after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin="$build/bin/sgeventd"
export SGEVENTD_DEMO_DIR=${SGEVENTD_DEMO_DIR:-$(mktemp -d /tmp/sgeventd-demo.XXXXXX)}
echo "sgeventd demo: logs and state in $SGEVENTD_DEMO_DIR (Ctrl-C stops)"
if [[ "${DEMO_SECONDS:-0}" != 0 ]]; then
  status=0
  timeout --signal=TERM "$DEMO_SECONDS" "$bin" foreground -c examples/demo.conf || status=$?
  [[ $status == 0 || $status == 124 ]] && exit 0 || exit $status
fi
exec "$bin" foreground -c examples/demo.conf
