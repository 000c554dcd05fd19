"""The shotgunEvents plugin API: loading a plugin file, its Registrar and its callbacks.

This mirrors shotgunEvents' behaviour (docs: ../shared/docs/original-daemon.md), so existing
plugins run unchanged:

- the file is executed as a fresh module named after the file (``__name__`` is the plugin
  name, as in the original) and never put in ``sys.modules``, so two plugins with helper names
  in common do not see each other and a reload is a clean re-execution;
- ``registerCallbacks(reg)`` must exist and be callable; the Registrar offers ``logger``,
  ``getLogger()``, ``setEmails(...)`` and ``registerCallback(...)`` and nothing else;
- a callback is named by its ``__name__``, or ``<ClassName>_<hex id>`` for callable objects;
  its logger is ``plugin.<plugin>.<callback>``; it gets its own connection.

What the original did with a failure is shared with the daemon now: this module describes
failures precisely (error line, traceback without the worker's frames, and the plugin frame's
local variables); the worker stops running a plugin whose stopOnError callback raised (as the
original deactivates it) and the daemon logs, retries and restarts.
"""

import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class PluginError(Exception):
    """A plugin could not be loaded; ``error`` and ``traceback`` go to ``load_failed``."""

    def __init__(self, error, tb=""):
        Exception.__init__(self, error)
        self.error = error
        self.traceback = tb


def error_line(exc):
    """``KeyError: 'entity'``: the exception's type and text on one line."""
    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (cls.__module__, name)
    text = str(exc)  # a SyntaxError says "invalid syntax (notify.py, line 3)"
    return "%s: %s" % (name, text) if text else name


def _is_worker_frame(filename):
    return filename.startswith(_HERE) or filename.startswith("<frozen importlib")


def format_traceback(exc, tb):
    """The traceback without the worker's own frames and importlib's (they are noise)."""
    frames = [f for f in traceback.extract_tb(tb) if not _is_worker_frame(f.filename)]
    lines = ["Traceback (most recent call last):\n"]
    lines.extend(traceback.format_list(frames))
    lines.extend(traceback.format_exception_only(type(exc), exc))
    return "".join(lines)


def plugin_frame_locals(tb, limit=65536):
    """The local variables of the outermost frame below the worker (the callback itself),
    pretty-printed, as shotgunEvents puts them in its error log."""
    while tb is not None and _is_worker_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    if tb is None:
        return ""
    import pprint

    try:
        text = pprint.pformat(tb.tb_frame.f_locals)
    except Exception as e:  # a __repr__ that raises must not hide the original error
        text = "<local variables could not be printed: %s>" % error_line(e)
    if len(text) > limit:
        text = text[:limit] + "\n... (%d more characters)" % (len(text) - limit)
    return text


def _jsonable(value):
    """matchEvents as JSON: tuples, sets and other iterables become lists."""
    if isinstance(value, dict):
        return dict((str(k) if k is not None else k, _jsonable(v)) for k, v in value.items())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:
        return [_jsonable(v) for v in value]
    except TypeError:
        return str(value)


class Callback(object):
    """One registered callback and everything needed to call it quickly."""

    __slots__ = (
        "plugin",
        "index",
        "name",
        "fn",
        "sg",
        "sg_is_real",
        "logger",
        "args",
        "match_events",
        "stop_on_error",
        "script_name",
        "ok_prefix",
        "entry_prefix",
        "skipped_entry",
    )

    def to_json(self):
        return {
            "index": self.index,
            "name": self.name,
            "match_events": _jsonable(self.match_events),
            "stop_on_error": self.stop_on_error,
            "script_name": self.script_name,
        }


def callback_name(callback):
    """The name shotgunEvents gives a callback (and so its logger)."""
    if hasattr(callback, "__name__"):
        return callback.__name__
    if hasattr(callback, "__class__") and hasattr(callback, "__call__"):
        return "%s_%s" % (callback.__class__.__name__, hex(id(callback)))
    raise ValueError(
        "registerCallback needs a function or a callable object as its callback argument"
    )


class Plugin(object):
    """A plugin file and its callbacks in this worker."""

    def __init__(self, name, path, host):
        self.name = name
        self.path = path
        self.host = host  # the Worker: connections, config, log level
        self.callbacks = []
        self.emails = True
        self.module = None
        # The script keys registerCallback was given: sent in loaded/load_failed "secrets", so
        # the daemon masks them wherever it writes (docs/plugin-protocol.md).
        self.secrets = []
        # Set once a stopOnError callback raised: shotgunEvents deactivates such a plugin at
        # once, so the worker runs none of its callbacks any more (until it is restarted).
        self.stopped = False
        # Its completion file (completions.CompletionLog), when the daemon gave one.
        self.completions = None
        self.logger = logging.getLogger("plugin." + name)
        self.logger.setLevel(host.log_level)
        self.logger.config = host.site_config

    # --- what the Registrar exposes -------------------------------------------------------

    def setEmails(self, *emails):
        """True (the daemon's recipients), False (none), or addresses (one list or several)."""
        if len(emails) == 1 and isinstance(emails[0], bool):
            self.emails = emails[0]
            return
        if len(emails) == 1 and isinstance(emails[0], (list, tuple, set, frozenset)):
            emails = tuple(emails[0])
        if not emails:
            self.emails = False
            return
        for address in emails:
            if not isinstance(address, str):
                raise ValueError(
                    "setEmails takes True, False or email addresses; got %r" % (address,)
                )
        self.emails = list(emails)

    def registerCallback(
        self, sgScriptName, sgScriptKey, callback, matchEvents=None, args=None, stopOnError=True
    ):
        if isinstance(sgScriptKey, str) and sgScriptKey and sgScriptKey not in self.secrets:
            self.secrets.append(sgScriptKey)
        if not callable(callback):
            raise TypeError(
                "The callback must be callable (a function, a method or an object with __call__)"
            )
        name = callback_name(callback)
        cb = Callback()
        cb.plugin = self
        cb.index = len(self.callbacks)
        cb.name = name
        cb.fn = callback
        cb.sg = self.host.connections.connect(sgScriptName, sgScriptKey)
        cb.sg_is_real = hasattr(type(cb.sg), "set_session_uuid")
        if not cb.sg_is_real:
            self.host.warn_no_shotgun(self)
        cb.logger = logging.getLogger(self.logger.name + "." + name)
        cb.logger.config = self.host.site_config
        cb.args = args
        cb.match_events = matchEvents
        cb.stop_on_error = bool(stopOnError)
        cb.script_name = sgScriptName if isinstance(sgScriptName, str) else str(sgScriptName)
        # Precomputed result text: the success path only appends the duration.
        cb.entry_prefix = '{"plugin":%s,"index":%d' % (json.dumps(self.name), cb.index)
        cb.ok_prefix = cb.entry_prefix + ',"ok":true,"duration_ms":'
        # The answer for a callback not run because its plugin stopped (protocol feature
        # "stop_on_error", docs/plugin-protocol.md).
        cb.skipped_entry = cb.entry_prefix + (
            ',"ok":false,"skipped":true,"duration_ms":0,"error":%s}'
            % json.dumps("skipped: plugin %s stopped after an error" % self.name)
        )
        self.callbacks.append(cb)

    # --- loading ------------------------------------------------------------------------

    def load(self):
        """Execute the file and run its registerCallbacks; raises PluginError on failure."""
        try:
            loader = importlib.machinery.SourceFileLoader(self.name, self.path)
            spec = importlib.util.spec_from_file_location(self.name, self.path, loader=loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
        except BaseException as e:
            raise PluginError(
                "Could not load the plugin at %s: %s" % (self.path, error_line(e)),
                format_traceback(e, e.__traceback__),
            )
        self.module = module
        register = getattr(module, "registerCallbacks", None)
        if not callable(register):
            raise PluginError("Did not find a registerCallbacks function in plugin at %s" % self.path)
        try:
            register(Registrar(self))
        except BaseException as e:
            self.callbacks = []
            raise PluginError(
                "Error running registerCallbacks from plugin at %s: %s" % (self.path, error_line(e)),
                format_traceback(e, e.__traceback__),
            )

    def loaded_message(self):
        message = {
            "type": "loaded",
            "plugin": self.name,
            "emails": self.emails,
            "callbacks": [cb.to_json() for cb in self.callbacks],
        }
        if self.secrets:
            message["secrets"] = self.secrets
        return message


class Registrar(object):
    """What ``registerCallbacks(reg)`` receives: the plugin's public face, nothing more."""

    __slots__ = ("_plugin",)

    def __init__(self, plugin):
        self._plugin = plugin

    @property
    def logger(self):
        return self._plugin.logger

    def getLogger(self):
        return self._plugin.logger

    def setEmails(self, *emails):
        self._plugin.setEmails(*emails)

    def registerCallback(
        self, sgScriptName, sgScriptKey, callback, matchEvents=None, args=None, stopOnError=True
    ):
        self._plugin.registerCallback(
            sgScriptName, sgScriptKey, callback, matchEvents, args, stopOnError
        )
