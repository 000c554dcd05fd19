"""The plugin the fork server runs before its first fork (warmup.py): it does what a typical
callback does (reads the event, logs below the log level), so that code is warm and shared
when the workers start. It is never loaded in a worker."""


def registerCallbacks(reg):
    reg.registerCallback(
        "sgeventd-warm-up", "not-a-key", on_event, {"Shotgun_Shot_Change": ["sg_status_list"]}
    )


def on_event(sg, logger, event, args):
    meta = event.get("meta") or {}
    entity = event.get("entity") or {}
    logger.debug(
        "%s %s %s: %r -> %r",
        event["event_type"],
        entity.get("type"),
        entity.get("id"),
        meta.get("old_value"),
        meta.get("new_value"),
    )
