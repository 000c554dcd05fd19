"""A trigger as a studio writes one: when a Task starts (its status becomes "ip"), put its
Shot in progress too. docs/testing-plugins.md dry-runs it with `sgeventd try` and tests it.

The script name and key come from the [shot_ip_on_task_start] section of the daemon's config
when there is one, else the sandbox's defaults.
"""

SECTION = "shot_ip_on_task_start"


def registerCallbacks(reg):
    script, key = "sandbox", "sandbox-key"
    config = getattr(reg.logger, "config", None)
    if config is not None and config.has_section(SECTION):
        script = config.get(SECTION, "script_name")
        key = config.get(SECTION, "script_key")
    reg.registerCallback(script, key, shot_in_progress,
                         {"Shotgun_Task_Change": ["sg_status_list"]}, None)


def shot_in_progress(sg, logger, event, args):
    if (event.get("meta") or {}).get("new_value") != "ip":
        return
    task = event.get("entity")
    if not task:
        return
    task = sg.find_one("Task", [["id", "is", task["id"]]], ["entity"])
    shot = task and task.get("entity")
    if not shot or shot["type"] != "Shot":
        logger.debug("Task %s is not on a Shot", event["entity"]["id"])
        return
    shot = sg.find_one("Shot", [["id", "is", shot["id"]]], ["code", "sg_status_list"])
    if shot["sg_status_list"] == "ip":
        return
    logger.info("Task %s started: Shot %s to ip", event["entity"]["name"], shot["code"])
    sg.update("Shot", shot["id"], {"sg_status_list": "ip"})
