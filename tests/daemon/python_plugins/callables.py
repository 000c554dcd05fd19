"""Callable objects as callbacks, each keeping its own count between events."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "callables.jsonl")


class Tally(object):
    def __init__(self, label):
        self.label = label
        self.calls = 0

    def __call__(self, sg, logger, event, args):
        self.calls += 1
        with open(RECORDS, "a") as f:
            f.write(json.dumps({"label": self.label, "id": event["id"], "calls": self.calls,
                                "logger": logger.name, "args": args}) + "\n")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", Tally("changes"),
                         {"Shotgun_Shot_Change": None}, {"kind": "change"})
    reg.registerCallback("sandbox", "sandbox-key", Tally("all"))
