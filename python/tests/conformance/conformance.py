"""The plugin the worker conformance suite loads (tests/conformance/, plugin name
"conformance"): a function and a callable object, for every event, logging a little."""


class Stamp(object):
    def __call__(self, sg, logger, event, args):
        args.append(event["id"])
        del args[:-10]


def registerCallbacks(reg):
    reg.registerCallback("conformance", "key", onEvent)
    reg.registerCallback("conformance", "key", Stamp(), None, [], stopOnError=False)


def onEvent(sg, logger, event, args):
    logger.debug("event %d at %s", event["id"], event["created_at"].isoformat())
    if event["id"] % 50 == 0:
        logger.info("event %d: %s", event["id"], event["meta"].get("new_value", "")[:40])
