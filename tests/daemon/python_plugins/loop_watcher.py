"""Loop prevention: acts as the daemon's script (sandbox) and records every event it is given,
the next link of a chain that starts with loop_writer."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "loop_watcher.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle)


def handle(sg, logger, event, args):
    user = event.get("user") or {}
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "attribute": event.get("attribute_name"),
                            "by": user.get("name")}) + "\n")
