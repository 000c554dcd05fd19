"""Callbacks of one plugin sharing state through module globals and through one args object."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "shared_state.jsonl")
calls = 0  # a module global, changed by one callback and read by the other


def registerCallbacks(reg):
    shared = {"seen": []}
    reg.registerCallback("sandbox", "sandbox-key", count, None, shared)
    reg.registerCallback("sandbox", "sandbox-key", report, None, shared)


def count(sg, logger, event, args):
    global calls
    calls += 1
    args["seen"].append(event["id"])


def report(sg, logger, event, args):
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "calls": calls, "seen": len(args["seen"]),
                            "last_seen": args["seen"][-1]}) + "\n")
