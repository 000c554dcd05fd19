"""Kills its own process (os._exit) the first time it sees a description starting "crash"."""
import json
import os

RECORD_DIR = os.environ["RECORD_DIR"]
RECORDS = os.path.join(RECORD_DIR, "crasher.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle, {"Shotgun_Shot_Change": ["description"]})


def handle(sg, logger, event, args):
    if event["meta"]["new_value"].startswith("crash"):
        marker = os.path.join(RECORD_DIR, "crashed.%d" % event["id"])
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(7)
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "pid": os.getpid()}) + "\n")
