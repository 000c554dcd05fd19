"""Records which version of its file handled each event (the test edits VERSION)."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "versioned.jsonl")
VERSION = 1


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle)


def handle(sg, logger, event, args):
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "version": VERSION}) + "\n")
