"""Writes to the site through sg on a "ping" description, and records the event its own write
caused (with the session_uuid the daemon gave its connection)."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "echo_writer.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", onPing, {"Shotgun_Shot_Change": ["description"]})
    reg.registerCallback("sandbox", "sandbox-key", onEcho, {"Shotgun_Shot_Change": ["sg_status_list"]})


def _record(**data):
    with open(RECORDS, "a") as f:
        f.write(json.dumps(data) + "\n")


def onPing(sg, logger, event, args):
    if not event["meta"]["new_value"].startswith("ping"):
        return
    sg.update("Shot", event["entity"]["id"], {"sg_status_list": "ip"})
    _record(kind="ping", id=event["id"], session_uuid=event["session_uuid"])


def onEcho(sg, logger, event, args):
    _record(kind="echo", id=event["id"], session_uuid=event["session_uuid"],
            user=event["user"], new_value=event["meta"].get("new_value"))
