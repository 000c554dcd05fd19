"""Callable objects and a bound method as callbacks, sharing state through the instances."""


class Counter(object):
    def __init__(self, state, rotate=False):
        self.state = state
        self.rotate = rotate

    def __call__(self, sg, logger, event, args):
        if self.rotate:
            self.state["rotating"] = -1
        self.state["sequential"] += 1
        self.state["rotating"] += 1
        logger.info("sequential=%d rotating=%d", self.state["sequential"], self.state["rotating"])


class Reporter(object):
    def onEvent(self, sg, logger, event, args):
        logger.info("method saw %d", event["id"])


def registerCallbacks(reg):
    state = {"sequential": -1, "rotating": -1}
    reg.registerCallback("callables", "key", Counter(state, rotate=True))
    reg.registerCallback("callables", "key", Counter(state))
    reg.registerCallback("callables", "key", Reporter().onEvent, stopOnError=False)
