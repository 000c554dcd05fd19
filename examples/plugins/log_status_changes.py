#!/usr/bin/env python3
"""An exec plugin: logs every status change, speaking the worker protocol v1 directly.

sgeventd starts this program (see log_status_changes.plugin beside it) and talks to it with
one JSON object per line on stdin/stdout (docs/plugin-protocol.md). Anything an exec plugin
prints must be a protocol message; use stderr or "log" messages for text. Standard library
only, so it runs on any Python 3.
"""
import json
import sys
import time

PLUGIN = "log_status_changes"


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(level, message):
    send({"type": "log", "plugin": PLUGIN, "logger": "plugin.%s.on_status_change" % PLUGIN,
          "level": level, "message": message, "time": time.time()})


def on_status_change(event):
    """The callback: what a shotgunEvents plugin would do in its callback function."""
    entity = event.get("entity") or {}
    meta = event.get("meta") or {}
    log(20, "%s %s status: %s -> %s (event %s)" % (
        entity.get("type", "?"), entity.get("id", "?"),
        meta.get("old_value"), meta.get("new_value"), event.get("id")))


def handle(message):
    global PLUGIN
    kind = message.get("type")
    if kind == "hello":
        if message.get("protocol", 0) < 1:
            send({"type": "error", "message": "this plugin speaks protocol 1"})
            sys.exit(3)
        send({"type": "hello", "protocol": 1, "worker": PLUGIN + " 1.0",
              "runtime": "CPython %d.%d.%d" % sys.version_info[:3]})
    elif kind == "load":
        PLUGIN = message["plugin"]["name"]  # the manifest's name, as the daemon knows it
        send({"type": "loaded", "plugin": PLUGIN, "emails": True, "callbacks": [
            {"index": 0, "name": "on_status_change", "stop_on_error": False,
             "script_name": "", "match_events": {"*": ["sg_status_list"]}}]})
    elif kind == "event":
        results = []
        for callback in message["callbacks"]:
            start = time.monotonic()
            entry = {"plugin": callback["plugin"], "index": callback["index"], "ok": True}
            try:
                on_status_change(message["event"])
            except Exception as error:  # a failing callback is a result, not a crash
                entry.update(ok=False, error="%s: %s" % (type(error).__name__, error))
            entry["duration_ms"] = (time.monotonic() - start) * 1000.0
            results.append(entry)
        send({"type": "result", "seq": message["seq"], "results": results})
    elif kind == "ping":
        send({"type": "pong", "seq": message["seq"]})
    elif kind == "shutdown":
        send({"type": "bye"})
        sys.exit(0)
    else:
        send({"type": "error", "message": "unknown message type %r" % kind})


def main():
    # Read bytes, decode each line as UTF-8: independent of the locale the daemon runs in.
    for line in sys.stdin.buffer:
        try:
            message = json.loads(line.decode("utf-8"))
        except ValueError as error:
            send({"type": "error", "message": "not JSON: %s" % error})
            continue
        if not isinstance(message, dict):
            send({"type": "error", "message": "not a JSON object"})
            continue
        handle(message)
    # End of input: the daemon is gone.


if __name__ == "__main__":
    main()
