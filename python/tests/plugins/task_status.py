"""Logs Task status changes: plain function callbacks with matchEvents and args.

Written the way shotgunEvents plugins are (a registerCallbacks entry point, script name and key
given to registerCallback, the callback logger used for output).
"""

import os

SCRIPT_NAME = os.environ.get("TASK_STATUS_SCRIPT", "task_status_script")
SCRIPT_KEY = os.environ.get("TASK_STATUS_KEY", "0123456789abcdef")


def registerCallbacks(reg):
    matchEvents = {"Shotgun_Task_Change": ["sg_status_list"]}
    counts = {"seen": 0}
    reg.registerCallback(SCRIPT_NAME, SCRIPT_KEY, logStatusChange, matchEvents, counts)
    reg.registerCallback(SCRIPT_NAME, SCRIPT_KEY, countEvents, None, counts, stopOnError=False)
    reg.logger.debug("Registered %d callbacks.", 2)


def logStatusChange(sg, logger, event, args):
    meta = event["meta"]
    logger.info(
        "Task %d: %s -> %s", event["entity"]["id"], meta["old_value"], meta["new_value"]
    )


def countEvents(sg, logger, event, args):
    args["seen"] += 1
    created = event["created_at"]
    logger.info(
        "seen %d, created %s, aware %s",
        args["seen"],
        created.strftime("%Y-%m-%d %H:%M:%S"),
        created.tzinfo is not None and created.utcoffset() is not None,
    )
