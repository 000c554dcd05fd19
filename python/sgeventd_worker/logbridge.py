"""Plugin logging and print() output, sent to the daemon as ``log`` messages.

In shotgunEvents a plugin's records go through ``logging`` to the daemon's files and email.
Here one handler on the root logger turns every record that reaches it into a protocol ``log``
message with its level and time intact; the daemon owns the sinks (files, per-plugin files,
email). Levels still filter in the plugin process, so ``reg.logger.setLevel(...)`` works as
before. Records of other loggers (a plugin's ``logging.getLogger(__name__)``, libraries) are
sent too when their level lets them through, attributed to the plugin that is running.

``print()`` inside plugins becomes INFO records of ``plugin.<name>`` (each line one message).
"""

import io
import json
import logging
import sys
from time import time as _now

_dumps = json.dumps


class Attribution(object):
    """Which plugin a record or a printed line belongs to.

    A logger named ``plugin.<name>...`` belongs to plugin <name>; anything else belongs to the
    plugin whose code is running (or was loaded last), which is exact with one plugin per worker
    and right for the running plugin with ``worker_per = path``.
    """

    def __init__(self, default_name):
        self.current = default_name
        self.event_id = None  # the event whose callbacks are running, if any
        self._names = ()
        self._by_logger = {}

    def set_plugins(self, names):
        # Longest names first, so "a.b" wins over "a" for logger "plugin.a.b.cb".
        self._names = tuple(sorted(names, key=len, reverse=True))
        self._by_logger = {}

    def plugin_for(self, logger_name):
        found = self._by_logger.get(logger_name)
        if found is not None:
            return found
        found = None
        if logger_name.startswith("plugin."):
            rest = logger_name[7:]
            for name in self._names:
                if rest == name or rest.startswith(name + "."):
                    found = name
                    break
        if found is None:
            return self.current
        if len(self._by_logger) < 10000:
            self._by_logger[logger_name] = found
        return found


def log_message(plugin, logger, level, message, created, event_id):
    """One ``log`` message of the protocol, as a line; ``event_id`` None when no event's
    callback logged it."""
    return '{"type":"log","plugin":%s,"logger":%s,"level":%d,"message":%s,"time":%r%s}\n' % (
        _dumps(plugin),
        _dumps(logger),
        level,
        _dumps(message),
        created,
        "" if event_id is None else ',"event_id":%d' % event_id,
    )


class ProtocolHandler(logging.Handler):
    """Sends each record to the daemon as a ``log`` message."""

    def __init__(self, writer, attribution):
        logging.Handler.__init__(self, logging.NOTSET)
        self._writer = writer
        self._attribution = attribution
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        try:
            message = self.format(record)
            line = log_message(
                self._attribution.plugin_for(record.name),
                record.name,
                record.levelno,
                message,
                record.created,
                self._attribution.event_id,
            )
            if self._writer.closed:
                sys.stderr.write("%s %s\n" % (record.name, message))
            else:
                self._writer.send(line)
        except Exception:
            self.handleError(record)


def install_handler(writer, attribution):
    """Attach the protocol handler to the root logger (the root's level is left as it is)."""
    handler = ProtocolHandler(writer, attribution)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    return handler


class PrintRedirect(io.TextIOBase):
    """``sys.stdout`` for plugins: complete lines become INFO records of ``plugin.<name>``.

    A line is sent when its newline is written; a partial line is sent by ``flush()``, which
    the worker calls after each callback. Printing bypasses logger levels (it is not logging),
    but keeps the plugin's logger name so the daemon routes it to that plugin's log.
    """

    def __init__(self, writer, attribution):
        io.TextIOBase.__init__(self)
        self._writer = writer
        self._attribution = attribution
        self.partial = []  # pieces of a line not ended yet (public: the worker checks it)

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        # Descriptor 1 now points at stderr (see channel.take_standard_streams), so code that
        # writes to the "stdout" descriptor directly still ends up in the daemon's log.
        return 1

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if "\n" not in text:
            if text:
                self.partial.append(text)
            return len(text)
        lines = text.split("\n")
        if self.partial:
            self.partial.append(lines[0])
            lines[0] = "".join(self.partial)
            self.partial = []
        tail = lines.pop()
        if tail:
            self.partial.append(tail)
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self):
        if self.partial:
            line = "".join(self.partial)
            self.partial = []
            self._emit(line)

    def _emit(self, line):
        plugin = self._attribution.current
        logger = "plugin." + plugin if plugin else "plugin"
        if self._writer.closed:
            sys.stderr.write(line + "\n")
            return
        self._writer.send(log_message(plugin, logger, 20, line, _now(), self._attribution.event_id))
