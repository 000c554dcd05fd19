"""Lowers its own logger to DEBUG (as shotgunEvents' logArgs example does)."""
import logging


def registerCallbacks(reg):
    reg.logger.setLevel(logging.DEBUG)
    reg.registerCallback("sandbox", "sandbox-key", talk, {"Shotgun_Shot_Change": ["description"]})


def talk(sg, logger, event, args):
    logger.debug("debug-%d", event["id"])
