"""Callbacks that fail when told to by the event, with and without stopOnError."""


def registerCallbacks(reg):
    reg.registerCallback("errors", "key", failsHard)  # stopOnError=True (default)
    reg.registerCallback("errors", "key", failsSoft, stopOnError=False)
    reg.registerCallback("errors", "key", afterwards, stopOnError=False)


def failsHard(sg, logger, event, args):
    shot_name = "sh010"
    if event["meta"].get("fail") == "hard":
        raise RuntimeError("hard failure on %d" % event["id"])


def failsSoft(sg, logger, event, args):
    if event["meta"].get("fail") == "soft":
        return event["meta"]["missing_key"]


def afterwards(sg, logger, event, args):
    logger.info("afterwards ran on %d", event["id"])
