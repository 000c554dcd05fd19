"""Errors mailed to the config's recipients (no setEmails call)."""


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", complain, {"Shotgun_Shot_Change": ["description"]})


def complain(sg, logger, event, args):
    logger.error("mail_default-error-%d", event["id"])
