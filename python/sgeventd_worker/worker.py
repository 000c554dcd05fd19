"""The worker's main loop: protocol v1 messages in, plugin calls, answers out.

Messages are handled strictly one at a time in arrival order, so results leave in the order
events came, pings are answered after everything before them, and a ``shutdown`` is only seen
once every earlier event has been answered (docs/plugin-protocol.md).

The event path is the hot one (the daemon may send thousands per second to each worker): each
line is decoded once by the C JSON decoder, datetimes are converted only where the raw line
says there are some (events.convert_datetimes), the success entry of a result is a precomputed
prefix plus the duration, and while more events are already waiting, results of fast callbacks
are held and written together with one system call before the worker would block.
"""

import gc
import json
import logging
import os
import signal
import sys
from time import perf_counter

from sgeventd_worker import PROTOCOL_VERSION, WORKER_NAME, __version__
from sgeventd_worker.channel import LineReader, Writer, take_standard_streams
from sgeventd_worker.connections import STANDIN_DIR_NAME, Connections, install_stand_in
from sgeventd_worker.events import convert_datetimes
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
# Protocol v1 additions this worker implements (the hello answer's "features").
FEATURES = ("stop_on_error",)
# Results of an event that took less than this are held while more input is waiting.
_HOLD_BELOW_S = 0.002


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
        self.worker_id = ""
        self._warned_no_shotgun = False
        self._site_config_sections = {}

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
        self._site_config_sections = config if isinstance(config, dict) else {}
        self.site_config = None
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

    def on_load(self, msg):
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
        self.plugins.pop(name, None)
        self.attribution.set_plugins(list(self.plugins) + [name])
        self.attribution.current = name
        plugin = Plugin(name, path, self)
        try:
            plugin.load()
        except PluginError as e:
            self.stdout.flush()
            self.attribution.set_plugins(list(self.plugins))
            self.send(
                {"type": "load_failed", "plugin": name, "error": e.error, "traceback": e.traceback}
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
                }
            )
            return
        self.writer.send(message + "\n")
        # Plugin modules, loggers and connections live as long as the worker: keep the cyclic
        # collector from rescanning them on every collection (3.7+).
        if hasattr(gc, "freeze"):
            gc.collect()
            gc.freeze()

    def on_event(self, msg, text):
        try:
            seq = msg["seq"]
            event = msg["event"]
            refs = msg["callbacks"]
        except KeyError as e:
            self.send_error("an event needs seq, event and callbacks (no %s)" % e, msg.get("seq"))
            return
        if event.__class__ is dict:
            convert_datetimes(event, text)
        plugins = self.plugins
        use_session_uuid = self.use_session_uuid
        attribution = self.attribution
        stdout = self.stdout
        entries = []
        started = t1 = perf_counter()
        for ref in refs:
            try:
                plugin_name = ref["plugin"]
                index = ref["index"]
                cb = plugins[plugin_name].callbacks[index]
                if index < 0:
                    raise IndexError(index)
            except (KeyError, IndexError, TypeError):
                entries.append(self._missing_entry(ref))
                continue
            plugin = plugins[plugin_name]
            if plugin.stopped:
                entries.append(cb.skipped_entry)
                continue
            attribution.current = plugin_name
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
                    + ',"ok":false,"duration_ms":%.3f,"error":%s,"traceback":%s,"locals":%s}'
                    % (
                        (t1 - t0) * 1000.0,
                        _dumps(error_line(e)),
                        _dumps(format_traceback(e, tb)),
                        _dumps(plugin_frame_locals(tb)),
                    )
                )
                del tb, e
                if cb.stop_on_error:
                    plugins[plugin_name].stopped = True
            else:
                t1 = perf_counter()
                entries.append(cb.ok_prefix + "%.3f}" % ((t1 - t0) * 1000.0))
            if stdout.partial:
                stdout.flush()
        if seq.__class__ is not int:
            self.send_error("event without an integer seq", seq)
            return
        # Hold the answer of a fast event while the next one is already here (see Writer).
        hold = bool(self.reader.lines) and t1 - started < _HOLD_BELOW_S
        self.writer.send(
            '{"type":"result","seq":%d,"results":[%s]}\n'
            % (seq, entries[0] if len(entries) == 1 else ",".join(entries)),
            hold,
        )

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
        decode = _decode_line
        held = writer.held
        lines = reader.lines
        while True:
            if held and not lines:
                writer.flush()
            line = reader.readline()
            if line is None:
                writer.flush()
                return 0
            try:
                text = line.decode("utf-8")
                msg = decode(text)
            except ValueError as e:
                self.send_error("not a JSON line: %s" % e)
                continue
            if msg.__class__ is not dict:
                self.send_error("a message must be a JSON object")
                continue
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
                        writer.flush()
                        return status
                elif kind == "shutdown":
                    self.send({"type": "bye"})
                    writer.closed = True
                    return 0
                else:
                    self.send_error("unknown message type %r" % (kind,), msg.get("seq"))
            except Exception as e:  # a bug here must not take every plugin of the worker down
                self.send_error(
                    "the worker failed on a %r message: %s\n%s"
                    % (kind, error_line(e), format_traceback(e, e.__traceback__)),
                    msg.get("seq"),
                )


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
    writer = Writer(out_fd)
    reader = LineReader(in_fd)
    attribution = Attribution("")
    install_handler(writer, attribution)
    logging.captureWarnings(True)
    stdout = PrintRedirect(writer, attribution)
    sys.stdout = stdout
    install_stand_in(_stand_in_folder())
    worker = Worker(reader, writer, attribution, stdout, plugin_dir)
    profile_dir = os.environ.get("SGEVENTD_WORKER_PROFILE")
    if profile_dir:
        status = _run_profiled(worker, profile_dir)
    else:
        status = worker.run()
    # Whatever runs at exit (atexit hooks, threads) prints to stderr now: the protocol is over.
    stdout.flush()
    writer.closed = True
    sys.stdout = sys.stderr
    return status
