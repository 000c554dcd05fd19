"""Builds its own shotgun_api3.Shotgun at registration, as most official examples do."""
import json
import os

import shotgun_api3

RECORDS = os.path.join(os.environ["RECORD_DIR"], "own_connection.jsonl")


def registerCallbacks(reg):
    own = shotgun_api3.Shotgun(os.environ["SG_SERVER"], script_name="sandbox",
                               api_key="sandbox-key")
    reg.registerCallback("sandbox", "sandbox-key", lookUp, {"Shotgun_Shot_New": None}, own)


def lookUp(sg, logger, event, args):
    shot = args.find_one("Shot", [["id", "is", event["entity"]["id"]]], ["code", "created_at"])
    with open(RECORDS, "a") as f:
        f.write(json.dumps({
            "id": event["id"],
            "code": shot["code"],
            "created_at_aware": shot["created_at"].tzinfo is not None,
            "event_created_at_aware": event["created_at"].tzinfo is not None,
            "standin": getattr(shotgun_api3, "SGEVENTD_STANDIN", False),
            "sg_class": "%s.%s" % (type(sg).__module__, type(sg).__name__),
            "same_class": isinstance(sg, shotgun_api3.Shotgun),
        }) + "\n")
