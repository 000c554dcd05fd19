"""A plugin that talks to the site through the sg its callbacks receive."""

import shotgun_api3


def registerCallbacks(reg):
    reg.registerCallback("uses_sg_script", "uses_sg_key", touchEntity)
    reg.registerCallback("other_script", "other_key", touchEntity)


def touchEntity(sg, logger, event, args):
    assert isinstance(sg, shotgun_api3.Shotgun)
    entity = event["entity"]
    sg.update(entity["type"], entity["id"], {"description": "touched by %d" % event["id"]})
    logger.info("%s", sg.describe())
