"""A shotgunEvents-style Python plugin: it runs unchanged under shotgunEvents and sgeventd.

It logs every change to a Shot, and warns when a Shot is put on hold, the kind of trigger a
pipeline uses to tell the artists concerned. The script name and key come from the daemon's
config file (the [shot_activity] section), so no secret is written in the plugin.
"""


def registerCallbacks(reg):
    config = reg.logger.config if hasattr(reg.logger, "config") else None
    script = "sandbox"
    key = "sandbox-key"
    if config is not None and config.has_section("shot_activity"):
        script = config.get("shot_activity", "script_name")
        key = config.get("shot_activity", "script_key")
    reg.registerCallback(script, key, on_shot_change, {"Shotgun_Shot_Change": None}, None)


def on_shot_change(sg, logger, event, args):
    entity = event.get("entity") or {}
    meta = event.get("meta") or {}
    if event.get("attribute_name") == "sg_status_list" and meta.get("new_value") == "hld":
        logger.warning("Shot %s is on hold (event %d)", entity.get("name"), event["id"])
    else:
        logger.info("Shot %s: %s changed (event %d)", entity.get("name"),
                    event.get("attribute_name"), event["id"])
