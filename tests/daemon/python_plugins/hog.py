"""stopOnError=False: asks for 1 GiB the first time it sees a description starting "hog" (a
callback past worker_memory_limit), and records everything else with its worker's pid."""
import json
import os

RECORD_DIR = os.environ["RECORD_DIR"]
RECORDS = os.path.join(RECORD_DIR, "hog.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle,
                         {"Shotgun_Shot_Change": ["description"]}, stopOnError=False)


def handle(sg, logger, event, args):
    if event["meta"]["new_value"].startswith("hog"):
        marker = os.path.join(RECORD_DIR, "hogged.%d" % event["id"])
        if not os.path.exists(marker):
            open(marker, "w").close()
            hoard = bytearray(1 << 30)
            del hoard
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "pid": os.getpid()}) + "\n")
