"""Records every event with its worker's pid: the bystander of the failure tests."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "steady.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle)


def handle(sg, logger, event, args):
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "pid": os.getpid()}) + "\n")
