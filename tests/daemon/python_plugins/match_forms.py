"""Every form matchEvents takes in shotgunEvents plugins, one callback each."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "match_forms.jsonl")


def _record(callback, event):
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"cb": callback, "id": event["id"]}) + "\n")


def registerCallbacks(reg):
    name, key = "sandbox", "sandbox-key"
    reg.registerCallback(name, key, starAny, {"*": None})
    reg.registerCallback(name, key, starStatus, {"*": ["sg_status_list"]})
    reg.registerCallback(name, key, listed, {"Shotgun_Shot_Change": ["sg_status_list", "code"]})
    # A plain string: shotgunEvents tests `attribute_name in value`, a substring test.
    reg.registerCallback(name, key, plainString, {"Shotgun_Shot_Change": "code,description"})
    reg.registerCallback(name, key, byType, {"Shotgun_Shot_New": None, "Shotgun_Asset_Change": ["*"]})
    # Registered last: once it has an event, every callback before it has run on it.
    reg.registerCallback(name, key, everything)


def starAny(sg, logger, event, args):
    _record("starAny", event)


def starStatus(sg, logger, event, args):
    _record("starStatus", event)


def listed(sg, logger, event, args):
    _record("listed", event)


def plainString(sg, logger, event, args):
    _record("plainString", event)


def byType(sg, logger, event, args):
    _record("byType", event)


def everything(sg, logger, event, args):
    _record("everything", event)
