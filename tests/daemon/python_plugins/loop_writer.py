"""Loop prevention: acts as its own script (writer_script). On a "ping" description it sets the
Shot's status (an event made by writer_script), and it records every event it is given."""
import json
import os

RECORDS = os.path.join(os.environ["RECORD_DIR"], "loop_writer.jsonl")


def registerCallbacks(reg):
    reg.registerCallback("writer_script", "writer-key", handle)


def handle(sg, logger, event, args):
    user = event.get("user") or {}
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "attribute": event.get("attribute_name"),
                            "by": user.get("name")}) + "\n")
    meta = event.get("meta") or {}
    if event.get("attribute_name") == "description" and \
            str(meta.get("new_value") or "").startswith("ping"):
        sg.update("Shot", event["entity"]["id"], {"sg_status_list": "ip"})
