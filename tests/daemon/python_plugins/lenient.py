"""stopOnError=False: fails on descriptions starting with "bad", and moves on."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "lenient.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle,
                         {"Shotgun_Shot_Change": ["description"]}, stopOnError=False)


def handle(sg, logger, event, args):
    value = event["meta"]["new_value"]
    if value.startswith("bad"):
        raise ValueError("lenient cannot take %r" % value)
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "value": value}) + "\n")
