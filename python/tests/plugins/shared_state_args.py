"""Callbacks sharing one args object: mutations persist between calls and across callbacks."""


def registerCallbacks(reg):
    state = {"calls": 0, "ids": []}
    reg.registerCallback("shared_args", "key", recordId, args=state)
    reg.registerCallback("shared_args", "key", reportState, args=state)


def recordId(sg, logger, event, args):
    args["calls"] += 1
    args["ids"].append(event["id"])


def reportState(sg, logger, event, args):
    logger.info("calls=%d ids=%s", args["calls"], ",".join(str(i) for i in args["ids"]))
