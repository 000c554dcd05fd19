"""Errors never mailed: setEmails(False)."""


def registerCallbacks(reg):
    reg.setEmails(False)
    reg.registerCallback("sandbox", "sandbox-key", complain, {"Shotgun_Shot_Change": ["description"]})


def complain(sg, logger, event, args):
    logger.error("mail_none-error-%d", event["id"])
