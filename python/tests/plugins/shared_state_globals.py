"""Three callbacks sharing module globals: each sees what the one before it changed."""

import logging

_counter = 0
_lastEventId = None


def registerCallbacks(reg):
    reg.registerCallback("shared_globals", "key", firstCallback)
    reg.registerCallback("shared_globals", "key", secondCallback)
    reg.registerCallback("shared_globals", "key", thirdCallback)


def firstCallback(sg, logger, event, args):
    global _counter, _lastEventId
    _counter += 1
    _lastEventId = event["id"]


def secondCallback(sg, logger, event, args):
    logger.info("counter=%d last=%d", _counter, _lastEventId)


def thirdCallback(sg, logger, event, args):
    global _counter
    _counter += 10
    logger.info("counter=%d", _counter)
