"""stopOnError=True (the default): fails on a description of FAIL_ON."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "fragile.jsonl")
FAIL_ON = "boom"


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle, {"Shotgun_Shot_Change": ["description"]})


def handle(sg, logger, event, args):
    value = event["meta"]["new_value"]
    if value == FAIL_ON:
        raise RuntimeError("fragile refuses %r" % value)
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "value": value, "fail_on": FAIL_ON,
                            "replay": event.get("sgeventd_replay")}) + "\n")
