#!/usr/bin/env bash
# `make run`. Until the daemon lands (issue 4), this shows the pieces that exist working
# together: the sandbox site starts on a free port, some pipeline activity is generated through
# the api3 client (`sgeventd api`), and the EventLogEntry stream the site writes for it is
# printed as a daemon would read it. Ctrl-C stops; DEMO_SECONDS=N stops after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin="$build/bin/sgeventd"
seconds=${DEMO_SECONDS:-0}

log=$(mktemp)
"$bin" sandbox --port 0 >"$log" 2>&1 &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null; wait $sandbox_pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  url=$(sed -n 's/^listening //p' "$log" | head -1)
  [[ -n "$url" ]] && break
  kill -0 $sandbox_pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[[ -n "${url:-}" ]] || { echo "the sandbox did not start"; cat "$log"; exit 1; }
echo "sandbox site at $url (script sandbox / sandbox-key)"

export SGEVENTD_SERVER="$url" SGEVENTD_SCRIPT_NAME=sandbox SGEVENTD_SCRIPT_KEY=sandbox-key
api() { "$bin" api --compact "$@"; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

project=$(api create Project '{"name":"Demo"}' | field id)
shots=()
for code in sh010 sh020 sh030; do
  shots+=("$(api create Shot "{\"code\":\"$code\",\"project\":{\"type\":\"Project\",\"id\":$project}}" | field id)")
done

last=0
show_new_events() {
  api find EventLogEntry "[[\"id\",\"greater_than\",$last]]" \
      --fields id,event_type,attribute_name,entity --order '[{"field_name":"id","direction":"asc"}]' |
    python3 -c '
import json, sys
for e in json.load(sys.stdin):
    entity = e.get("entity") or {}
    print("  event %6d  %-26s %-16s %s %s" % (e["id"], e["event_type"], e.get("attribute_name") or "",
          entity.get("type", ""), entity.get("name", "")))
    last = e["id"]
print("LAST", last if "last" in dir() else 0)' > "$log.events"
  grep -v '^LAST' "$log.events" || true
  local newest
  newest=$(sed -n 's/^LAST //p' "$log.events")
  [[ "$newest" != "0" ]] && last=$newest
  rm -f "$log.events"
}

echo "events the site wrote (a daemon reads exactly these):"
show_new_events
statuses=(wtg rdy ip rev fin)
start=$(date +%s)
i=0
while :; do
  shot=${shots[$((i % ${#shots[@]}))]}
  status=${statuses[$((i % ${#statuses[@]}))]}
  api update Shot "$shot" "{\"sg_status_list\":\"$status\"}" >/dev/null
  show_new_events
  i=$((i + 1))
  if [[ "$seconds" -gt 0 && $(( $(date +%s) - start )) -ge "$seconds" ]]; then break; fi
  sleep 1
done
