"""Logs at every level, prints, and chooses its own email recipients."""


def registerCallbacks(reg):
    reg.setEmails("td@studio.example", "ops@studio.example")
    reg.logger.info("chatty registers as %s", reg.logger.name)
    reg.registerCallback("sandbox", "sandbox-key", talk, {"Shotgun_Shot_Change": ["description"]})


def talk(sg, logger, event, args):
    n = event["id"]
    logger.debug("debug-%d", n)
    logger.info("info-%d", n)
    logger.warning("warning-%d", n)
    logger.error("error-%d", n)
    logger.critical("critical-%d", n)
    print("printed-%d" % n)
