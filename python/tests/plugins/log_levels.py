"""Logging at every level with the plugin's level raised to WARNING, plus print()."""

import logging


def registerCallbacks(reg):
    reg.logger.setLevel(logging.WARNING)
    reg.logger.info("not sent: below the plugin's level")
    reg.logger.warning("registering")
    reg.registerCallback("levels", "key", logEverything)


def logEverything(sg, logger, event, args):
    logger.debug("debug %d", event["id"])
    logger.info("info %d", event["id"])
    logger.warning("warning %d", event["id"])
    logger.error("error %d", event["id"])
    logger.critical("critical %d", event["id"])
    logging.getLogger("studio.tools").error("library error %d", event["id"])
    try:
        raise ValueError("handled")
    except ValueError:
        logger.exception("exception %d", event["id"])
    print("printed", event["id"])
    print("two\nlines", end="")
