"""The worker's main loop: protocol v1 messages in, plugin calls, answers out.

Messages are handled strictly one at a time in arrival order, so results leave in the order
events came, pings are answered after everything before them, and a ``shutdown`` is only seen
once every earlier event has been answered (docs/plugin-protocol.md).

The event path is the hot one (the daemon may send thousands per second to each worker): input
is read, decoded and split a chunk at a time (channel.LineReader); an event in the daemon's own
layout is parsed in place, its event dict built once by the C JSON scanner and its callbacks
list resolved once per distinct text (Worker.on_daemon_event; anything else takes the general
path); datetimes are converted only where the raw text says there are some (events); the
success entry of a result is a precomputed prefix plus the duration; and while more input is
already read, results of fast callbacks are held and written together with one system call
before the worker would block.

A plugin whose stopOnError callback raised is stopped in this worker for good (protocol
feature "stop_on_error"): its callbacks are answered as skipped, never called, until the
daemon restarts the worker.

Each event whose callbacks of a plugin all succeeded is noted in that plugin's completion file
before the answer leaves (protocol feature "completions", completions.py), so a daemon killed
before it read the answer does not send the event again.
"""

import gc
import json
import logging
import os
import signal
import sys
from time import perf_counter, time

from sgeventd_worker import PROTOCOL_VERSION, WORKER_NAME, __version__
from sgeventd_worker.channel import LineReader, Writer, take_standard_streams
from sgeventd_worker.completions import CompletionLog, note
from sgeventd_worker.connections import STANDIN_DIR_NAME, Connections, install_stand_in
from sgeventd_worker.events import convert_counted, convert_datetimes
from sgeventd_worker.logbridge import Attribution, PrintRedirect, install_handler
from sgeventd_worker.plugins import (
    Plugin,
    PluginError,
    error_line,
    format_traceback,
    plugin_frame_locals,
)

_dumps = json.JSONEncoder(separators=(",", ":")).encode
# The C scanner behind json.loads, called directly: json.loads adds two regex matches and three
# Python-level calls per line, a sixth of the worker's own cost per event.
_scan_once = json.JSONDecoder().scan_once


def _decode_line(text):
    """One JSON value from a whole line (ValueError if it is not exactly that)."""
    try:
        value, end = _scan_once(text, 0)
    except StopIteration as e:
        stripped = text.lstrip()
        if stripped is text or not stripped:
            raise ValueError("Expecting value at column %d" % (e.value + 1))
        return _decode_line(stripped)
    if end != len(text) and text[end:].strip():
        raise ValueError("Extra data at column %d" % (end + 1))
    return value


_UNSET = object()
# How the daemon writes an event message (src/workers/protocol.cpp, append_event); see
# Worker.on_daemon_event.
_EVENT_HEAD = '{"type":"event","seq":'
_SEQ_AT = len(_EVENT_HEAD)
_LATE_FALSE = ',"late":false,"event":'
_LATE_TRUE = ',"late":true,"event":'
_CALLBACKS = ',"callbacks":'
_LATE_FALSE_LEN = len(_LATE_FALSE)
_LATE_TRUE_LEN = len(_LATE_TRUE)
_CALLBACKS_LEN = len(_CALLBACKS)
# At most this many results are held back at once.
_HOLD_AT_MOST = 256
# Protocol v1 additions this worker implements (the hello answer's "features").
FEATURES = ("stop_on_error", "completions")
# The key the daemon adds to a replayed or retried event (src/dispatch/control.h).
REPLAY_KEY = "sgeventd_replay"
# Results of an event that took less than this are held while more input is waiting.
_HOLD_BELOW_S = 0.002


# The exit status of a worker that a callback ran out of memory in (see OutOfMemory).
EXIT_OUT_OF_MEMORY = 3


class OutOfMemory(BaseException):
    """A callback raised MemoryError: the worker is at worker_memory_limit (a hard cap on its
    writable memory) or the machine is out. Its answer has been sent; the worker then exits
    so the daemon starts a fresh process instead of one whose memory a leak has used up.
    A BaseException, so no handler between dispatch and main takes it for a message error."""


def _runtime():
    impl = sys.implementation.name
    name = {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl)
    return "%s %d.%d.%d" % ((name,) + tuple(sys.version_info[:3]))


class Worker(object):
    """State of one worker process: its plugins, their connections and the site settings."""

    def __init__(self, reader, writer, attribution, stdout, plugin_dir=None):
        self.plugin_dir = plugin_dir
        self.reader = reader
        self.writer = writer
        self.attribution = attribution
        self.stdout = stdout
        self.plugins = {}
        self.log_level = logging.INFO
        self.site_config = None
        self.connections = Connections("", None)
        self.use_session_uuid = False
        # The daemon's timing log is on: each result entry says when its callback started.
        self.timing = False
        self.worker_id = ""
        self._warned_no_shotgun = False
        self._site_config_sections = {}
        self._site_config_text = "{}"
        # Some plugin notes its completions (see dispatch); _only: the worker's one plugin, when
        # it is alone and notes them (the common case, taken without a loop).
        self._notes = False
        self._only = None
        # A callback raised MemoryError: the worker exits after answering (OutOfMemory).
        self.out_of_memory = False
        # The callbacks lists of daemon events already seen, resolved (see on_daemon_event).
        self._tails = {}

    # --- helpers --------------------------------------------------------------------------

    def send(self, message, hold=False):
        self.writer.send(_dumps(message) + "\n", hold)

    def send_error(self, text, seq=None):
        message = {"type": "error", "message": text}
        if seq is not None:
            message["seq"] = seq
        self.send(message)

    def warn_no_shotgun(self, plugin):
        """Say once, in the plugin's log, that callbacks will get an unusable ``sg``."""
        if not self._warned_no_shotgun:
            self._warned_no_shotgun = True
            plugin.logger.warning(
                "%s; callbacks get an sg that raises on use (interpreter %s)",
                self.connections.failure,
                sys.executable,
            )

    def _ensure_site_config(self):
        if self.site_config is None:
            from sgeventd_worker.siteconfig import SiteConfig

            self.site_config = SiteConfig(self._site_config_sections)
        return self.site_config

    # --- messages -------------------------------------------------------------------------

    def on_hello(self, msg):
        protocol = msg.get("protocol")
        if not isinstance(protocol, int) or isinstance(protocol, bool) or protocol < 1:
            self.send_error(
                "%s speaks protocol %d; the daemon offered %r"
                % (WORKER_NAME, PROTOCOL_VERSION, protocol)
            )
            return 3
        site = msg.get("site") or {}
        config = msg.get("config") or {}
        worker = msg.get("worker") or {}
        self.worker_id = worker.get("id") or ""
        config = config if isinstance(config, dict) else {}
        # Kept when the text is the same (order and types too, unlike ==): the fork server
        # built it from the same sections (warmup.py).
        text = _dumps(config)
        if text != self._site_config_text:
            self.site_config = None
        self._site_config_sections = config
        self._site_config_text = text
        python = self._site_config_sections.get("python") or {}
        extra = [p.strip() for p in str(python.get("path") or "").split(",") if p.strip()]
        for path in reversed(extra):
            if path not in sys.path:
                sys.path.insert(0, path)
        daemon = self._site_config_sections.get("daemon") or {}
        try:
            self.log_level = int(daemon.get("logging", logging.INFO))
        except (TypeError, ValueError):
            self.log_level = logging.INFO
        self.connections = Connections(site.get("url"), site.get("proxy"))
        self.use_session_uuid = bool(site.get("use_session_uuid", False))
        self.timing = msg.get("timing") is True
        self.send(
            {
                "type": "hello",
                "protocol": PROTOCOL_VERSION,
                "worker": "%s %s" % (WORKER_NAME, __version__),
                "runtime": _runtime(),
                "features": list(FEATURES),
            }
        )
        return None

    def forget_plugins(self):
        """Back to no plugin loaded, as before the first ``load`` (the fork server's warm-up
        plugin, warmup.py)."""
        for plugin in self.plugins.values():
            if plugin.completions is not None:
                plugin.completions.close()
        self.plugins.clear()
        self._tails.clear()
        self._notes = False
        self._only = None
        self.out_of_memory = False
        self._warned_no_shotgun = False
        self.attribution.set_plugins([])
        self.attribution.current = ""
        self.attribution.event_id = None

    def on_load(self, msg):
        try:
            self._load(msg)
        finally:
            self._notes = any(p.completions is not None for p in self.plugins.values())
            alone = list(self.plugins.values()) if len(self.plugins) == 1 else []
            self._only = alone[0] if alone and alone[0].completions is not None else None

    def _load(self, msg):
        ref = msg.get("plugin") or {}
        path = ref.get("path") or ""
        name = ref.get("name") or os.path.splitext(os.path.basename(path))[0]
        if not path and name and self.plugin_dir:
            path = os.path.join(self.plugin_dir, name + ".py")
        if not path:
            self.send(
                {
                    "type": "load_failed",
                    "plugin": name,
                    "error": "load needs plugin.path",
                    "traceback": "",
                }
            )
            return
        self._ensure_site_config()
        self._tails.clear()
        old = self.plugins.pop(name, None)
        if old is not None and old.completions is not None:
            old.completions.close()
            old.completions = None
        self.attribution.set_plugins(list(self.plugins) + [name])
        self.attribution.current = name
        plugin = Plugin(name, path, self)
        try:
            plugin.load()
        except PluginError as e:
            self.stdout.flush()
            self.attribution.set_plugins(list(self.plugins))
            self.send(
                {
                    "type": "load_failed",
                    "plugin": name,
                    "error": e.error,
                    "traceback": e.traceback,
                    "secrets": plugin.secrets,
                }
            )
            return
        self.stdout.flush()
        self.plugins[name] = plugin
        try:
            message = _dumps(plugin.loaded_message())
        except (TypeError, ValueError) as e:
            del self.plugins[name]
            self.send(
                {
                    "type": "load_failed",
                    "plugin": name,
                    "error": "registerCallback arguments cannot be described: %s" % error_line(e),
                    "traceback": "",
                    "secrets": plugin.secrets,
                }
            )
            return
        self.writer.send(message + "\n")
        completions = ref.get("completions")
        if isinstance(completions, dict) and isinstance(completions.get("path"), str):
            try:
                plugin.completions = CompletionLog(completions["path"])
            except (OSError, ValueError) as e:
                plugin.logger.warning(
                    "Cannot note completed events (%s): after a daemon kill, the events in "
                    "flight are delivered again", e
                )
        # Plugin modules, loggers and connections live as long as the worker: keep the cyclic
        # collector from rescanning them on every collection (3.7+).
        if hasattr(gc, "freeze"):
            gc.collect()
            gc.freeze()

    def on_event(self, msg, text):
        """An event message decoded the general way (any key order, any spacing)."""
        try:
            seq = msg["seq"]
            event = msg["event"]
            refs = msg["callbacks"]
        except KeyError as e:
            self.send_error("an event needs seq, event and callbacks (no %s)" % e, msg.get("seq"))
            return
        if seq.__class__ is not int:
            self.send_error("event without an integer seq", seq)
            return
        if event.__class__ is dict:
            convert_datetimes(event, text)
        self.dispatch(seq, event, self._resolve(refs))

    def on_daemon_event(self, text):
        """An event message as the daemon lays it out, parsed in place; False if it is not.

        ``{"type":"event","seq":N,"late":B,"event":{...},"callbacks":[...]}`` is what the daemon
        writes (src/workers/protocol.cpp, append_event): seq and late are read by hand, the
        event by the C scanner at its offset, and the callbacks list text (the same for every
        event a worker gets, save a few combinations) is looked up among the ones already
        resolved. Anything else, including an invalid line, takes the general path, which
        gives the same answer or error.
        """
        comma = text.find(",", _SEQ_AT)
        digits = text[_SEQ_AT:comma]
        if not (digits.isdigit() and digits.isascii()) or (digits[0] == "0" and digits != "0"):
            return False
        if text.startswith(_LATE_FALSE, comma):
            start = comma + _LATE_FALSE_LEN
        elif text.startswith(_LATE_TRUE, comma):
            start = comma + _LATE_TRUE_LEN
        else:
            return False
        try:
            event, end = _scan_once(text, start)
        except (StopIteration, ValueError):
            return False
        tail = text[end:]
        resolved = self._tails.get(tail)
        if resolved is None:
            if not tail.startswith(_CALLBACKS):
                return False
            try:
                refs, stop = _scan_once(tail, _CALLBACKS_LEN)
            except (StopIteration, ValueError):
                return False
            if refs.__class__ is not list or tail[stop:].strip() != "}":
                return False
            resolved = self._resolve(refs)
            if len(self._tails) >= 256:
                self._tails.clear()
            self._tails[tail] = resolved
        if event.__class__ is dict:
            count = text.count('Z"', start, end)
            if count:
                convert_counted(event, count)
        self.dispatch(int(digits), event, resolved)
        return True

    def _resolve(self, refs):
        """An event's ``callbacks`` as (plugin, callback, None), or (None, None, the answer)
        for a callback this worker does not have."""
        plugins = self.plugins
        resolved = []
        for ref in refs:
            try:
                plugin = plugins[ref["plugin"]]
                index = ref["index"]
                cb = plugin.callbacks[index]
                if index < 0:
                    raise IndexError(index)
            except (KeyError, IndexError, TypeError):
                resolved.append((None, None, self._missing_entry(ref)))
                continue
            resolved.append((plugin, cb, None))
        return resolved

    def dispatch(self, seq, event, resolved):
        """Run the resolved callbacks on ``event`` in order and answer ``result`` ``seq``."""
        use_session_uuid = self.use_session_uuid
        timing = self.timing
        attribution = self.attribution
        stdout = self.stdout
        entries = []
        failed = None  # plugins a callback of which raised on this event
        # Read before any callback runs: a callback may change the event it is given.
        redrive = event.__class__ is dict and REPLAY_KEY in event
        started = t1 = perf_counter()
        # Log records and printed lines of the callbacks name the event (JSON logs' event_id).
        event_id = event.get("id") if event.__class__ is dict else None
        attribution.event_id = event_id if event_id.__class__ is int else None
        for plugin, cb, missing in resolved:
            if cb is None:
                entries.append(missing)
                if failed is None:
                    failed = set()
                failed.add(None)  # not this worker's callback: the event is not finished
                continue
            if plugin.stopped:
                entries.append(cb.skipped_entry)
                continue
            attribution.current = plugin.name
            if timing:
                wall = time()
            t0 = perf_counter()
            try:
                if use_session_uuid and cb.sg_is_real:
                    # Set only when it changes (events come in bursts from one session);
                    # shotgun_api3 and the stand-in both keep it in sg.config.session_uuid.
                    session_uuid = event.get("session_uuid")
                    sg = cb.sg
                    if getattr(getattr(sg, "config", None), "session_uuid", _UNSET) != session_uuid:
                        sg.set_session_uuid(session_uuid)
                cb.fn(cb.sg, cb.logger, event, cb.args)
            except BaseException as e:  # as shotgunEvents: SystemExit in a plugin is an error
                t1 = perf_counter()
                tb = e.__traceback__
                entries.append(
                    cb.entry_prefix
                    + ',"ok":false,"duration_ms":%.3f%s,"error":%s,"traceback":%s,"locals":%s}'
                    % (
                        (t1 - t0) * 1000.0,
                        ',"started":%.6f' % wall if timing else "",
                        _dumps(error_line(e)),
                        _dumps(format_traceback(e, tb)),
                        _dumps(plugin_frame_locals(tb)),
                    )
                )
                if e.__class__ is MemoryError:
                    self.out_of_memory = True
                del tb, e
                if failed is None:
                    failed = set()
                failed.add(plugin)
                # A re-drive (an operator's replay or dead-letter retry) never stops the
                # plugin: the daemon does not deactivate it for one (docs/admin-api.md).
                if cb.stop_on_error and not redrive:
                    plugin.stopped = True
            else:
                t1 = perf_counter()
                if timing:
                    entries.append(
                        cb.ok_prefix + '%.3f,"started":%.6f}' % ((t1 - t0) * 1000.0, wall)
                    )
                else:
                    entries.append(cb.ok_prefix + "%.3f}" % ((t1 - t0) * 1000.0))
            if stdout.partial:
                stdout.flush()
        attribution.event_id = None
        # Noted before the answer leaves: killed between the two, the daemon still knows.
        # A re-drive is no news to the ledger: noting its id could hide the event's own
        # delivery, still to come, after a restart.
        only = self._only
        if redrive:
            pass
        elif only is not None:
            if failed is None and not only.stopped and event.__class__ is dict:
                event_id = event.get("id")
                if event_id.__class__ is int:
                    note(only.completions, event_id)
        elif self._notes and event.__class__ is dict:
            event_id = event.get("id")
            if event_id.__class__ is int:
                noted = None
                for plugin, cb, missing in resolved:
                    if plugin is None or plugin is noted:
                        continue
                    noted = plugin
                    log = plugin.completions
                    if log is not None and not plugin.stopped and (
                        failed is None or plugin not in failed
                    ):
                        note(log, event_id)
        # Hold the answer of a fast event while the next one is already here: everything held
        # leaves with one write once the input read so far is used up (see run).
        writer = self.writer
        writer.send(
            '{"type":"result","seq":%d,"results":[%s]}\n'
            % (seq, entries[0] if len(entries) == 1 else ",".join(entries)),
            bool(self.reader.lines) and t1 - started < _HOLD_BELOW_S
            and len(writer.held) < _HOLD_AT_MOST,
        )
        if failed is not None and self.out_of_memory:
            raise OutOfMemory()

    def _missing_entry(self, ref):
        plugin = ref.get("plugin") if isinstance(ref, dict) else None
        index = ref.get("index") if isinstance(ref, dict) else None
        if plugin in self.plugins:
            why = "plugin %s has no callback %r" % (plugin, index)
        else:
            why = "plugin %r is not loaded in this worker" % (plugin,)
        return _dumps(
            {
                "plugin": plugin if isinstance(plugin, str) else "",
                "index": index if isinstance(index, int) else -1,
                "ok": False,
                "duration_ms": 0,
                "error": why,
                "traceback": "",
            }
        )

    # --- the loop -------------------------------------------------------------------------

    def run(self):
        """Serve until shutdown or end of input; returns the exit status."""
        reader = self.reader
        writer = self.writer
        held = writer.held
        lines = reader.lines
        next_line = lines.popleft
        fill = reader.fill
        daemon_event = self.on_daemon_event
        while True:
            if not lines:
                # Everything read so far is handled: what was held leaves before waiting.
                if held:
                    writer.flush()
                if not fill():
                    writer.flush()
                    return 0
                continue
            text = next_line()
            if text.__class__ is not str:
                self.send_error("not a JSON line: it is not UTF-8")
                continue
            if text.startswith(_EVENT_HEAD):
                try:
                    if daemon_event(text):
                        continue
                except Exception as e:
                    self.send_error(
                        "the worker failed on an 'event' message: %s\n%s"
                        % (error_line(e), format_traceback(e, e.__traceback__))
                    )
                    continue
            elif not text:
                continue
            status = self.on_line(text)
            if status is not None:
                return status

    def on_line(self, text):
        """Any message, decoded the general way; an exit status when the worker must stop."""
        try:
            msg = _decode_line(text)
        except ValueError as e:
            self.send_error("not a JSON line: %s" % e)
            return None
        if msg.__class__ is not dict:
            self.send_error("a message must be a JSON object")
            return None
        kind = msg.get("type")
        try:
            if kind == "event":
                self.on_event(msg, text)
            elif kind == "ping":
                self.send({"type": "pong", "seq": msg.get("seq")})
            elif kind == "load":
                self.on_load(msg)
            elif kind == "hello":
                status = self.on_hello(msg)
                if status is not None:
                    self.writer.flush()
                    return status
            elif kind == "shutdown":
                self.send({"type": "bye"})
                self.writer.closed = True
                return 0
            else:
                self.send_error("unknown message type %r" % (kind,), msg.get("seq"))
        except Exception as e:  # a bug here must not take every plugin of the worker down
            self.send_error(
                "the worker failed on a %r message: %s\n%s"
                % (kind, error_line(e), format_traceback(e, e.__traceback__)),
                msg.get("seq"),
            )
        return None


def _stand_in_folder():
    """<root>/standin beside the package, where the build puts the shotgun_api3 stand-in."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.environ.get("SGEVENTD_STANDIN_DIR") or os.path.join(
        package_root, STANDIN_DIR_NAME
    )


USAGE = """usage: %s [--plugins DIR] [--version]

Started by sgeventd, it speaks the worker protocol v1 on stdin/stdout
(docs/plugin-protocol.md) and hosts shotgunEvents plugins (docs/python-plugins.md).

  --plugins DIR   a `load` without a path loads DIR/<name>.py (for the conformance suite
                  and for running a worker by hand)
  --version       print the version and the interpreter, then exit
"""


def _run_profiled(worker, folder):
    """worker.run() under cProfile, dumped to <folder>/worker.<pid>.prof at the end (for
    finding where a worker's time goes: SGEVENTD_WORKER_PROFILE=<folder>)."""
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(worker.run)
    finally:
        try:
            os.makedirs(folder, exist_ok=True)
            profiler.dump_stats(os.path.join(folder, "worker.%d.prof" % os.getpid()))
        except OSError:
            pass


def make_worker(in_fd, out_fd, plugin_dir):
    """A Worker on the protocol descriptors, with what it sets up in its process: log records
    and ``print()`` become protocol messages, and the shotgun_api3 stand-in is importable."""
    writer = Writer(out_fd)
    reader = LineReader(in_fd)
    attribution = Attribution("")
    install_handler(writer, attribution)
    logging.captureWarnings(True)
    stdout = PrintRedirect(writer, attribution)
    sys.stdout = stdout
    install_stand_in(_stand_in_folder())
    return Worker(reader, writer, attribution, stdout, plugin_dir)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    plugin_dir = None
    while argv:
        arg = argv.pop(0)
        if arg in ("--version", "-V"):
            sys.stdout.write("%s %s (%s)\n" % (WORKER_NAME, __version__, _runtime()))
            return 0
        if arg == "--plugins" and argv:
            plugin_dir = os.path.abspath(argv.pop(0))
        elif arg.startswith("--plugins="):
            plugin_dir = os.path.abspath(arg[len("--plugins="):])
        elif arg in ("-h", "--help"):
            sys.stdout.write(USAGE % WORKER_NAME)
            return 0
        else:
            sys.stderr.write(USAGE % WORKER_NAME)
            return 2
    in_fd, out_fd = take_standard_streams()
    # The daemon stops workers with `shutdown` or SIGTERM; a Ctrl-C meant for a foreground
    # daemon must not interrupt a callback halfway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Forked from a fork server, the worker it prepared is already here (warmup.py).
    warmup = sys.modules.get("sgeventd_worker.warmup")
    worker = warmup.adopt(in_fd, out_fd, plugin_dir) if warmup is not None else None
    if worker is None:
        worker = make_worker(in_fd, out_fd, plugin_dir)
    writer = worker.writer
    stdout = worker.stdout
    profile_dir = os.environ.get("SGEVENTD_WORKER_PROFILE")
    try:
        status = _run_profiled(worker, profile_dir) if profile_dir else worker.run()
    except OutOfMemory:
        writer.flush()
        sys.stderr.write(
            "%s: a callback ran out of memory (MemoryError; worker_memory_limit caps the"
            " worker): exiting so that the daemon starts a fresh worker\n" % WORKER_NAME
        )
        status = EXIT_OUT_OF_MEMORY
    # Whatever runs at exit (atexit hooks, threads) prints to stderr now: the protocol is over.
    stdout.flush()
    writer.closed = True
    sys.stdout = sys.stderr
    return status
