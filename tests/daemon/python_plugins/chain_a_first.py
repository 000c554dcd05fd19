"""worker_per = path: one of three plugins of a folder, run in file-name order in one worker."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "chain.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle)


def handle(sg, logger, event, args):
    # One event dict goes through the folder's plugins, as in shotgunEvents.
    seen = list(event.setdefault("chain_seen", []))
    event["chain_seen"].append("a_first")
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"plugin": "a_first", "id": event["id"], "pid": os.getpid(),
                            "seen_before": seen}) + "\n")
