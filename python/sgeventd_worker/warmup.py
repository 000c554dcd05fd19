"""The fork server's warm-up (docs/python-plugins.md, "The fork server"): before its first fork
the server builds what every worker builds when it starts, and runs a sample plugin over a few
events, so that the workers forked from it share those pages instead of each making its own.

Why it pays: after a fork a page stays shared until either process writes to it, and CPython
writes to much of what it merely uses: the reference count of every object it touches, and in
3.11+ the bytecode of every function it runs (specialised in place for the first calls). A
worker that sets itself up after the fork (the logging handler, ``logger.config``'s parser,
the first ``shotgun_api3.Shotgun``, the event path's code) writes its own copy of every page
involved: about 1.3 MB per worker measured on CPython 3.11 (docs/python-plugins.md). Built once
here, those pages are shared; a worker only copies the ones it writes to again.

What a plugin sees does not change: the warm-up plugin and its loggers are gone before any
fork, and a forked worker then takes the same steps a spawned one does from ``hello`` on
(python/tests/test_fork_server.py compares the two).
"""

import gc
import json
import logging
import os
import sys

# The worker prepared in this process, for the next forked worker to adopt (see adopt()).
prepared = None

_PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "warmup_plugin.py")
_PLUGIN_NAME = "sgeventd_warmup"
# Enough events for CPython to specialise the event path's code (it does so after a few runs).
_EVENTS = 24
_EVENT = {
    "id": 0,
    "event_type": "Shotgun_Shot_Change",
    "attribute_name": "sg_status_list",
    "created_at": "2026-01-01T00:00:00Z",
    "description": "warm-up",
    "entity": {"type": "Shot", "id": 1, "name": "warm-up"},
    "meta": {
        "type": "attribute_change",
        "attribute_name": "sg_status_list",
        "entity_type": "Shot",
        "entity_id": 1,
        "field_data_type": "status_list",
        "old_value": "wtg",
        "new_value": "ip",
    },
    "project": {"type": "Project", "id": 1, "name": "warm-up"},
    "session_uuid": "00000000-0000-0000-0000-000000000000",
    "type": "EventLogEntry",
    "user": {"type": "HumanUser", "id": 1, "name": "warm-up"},
}


def _script(config):
    """The messages a daemon sends a new worker: hello (with the daemon's config, so the
    parser plugins get as ``logger.config`` is built here), one load, events, shutdown."""
    lines = [
        {
            "type": "hello",
            "protocol": 1,
            # A connection is made for the warm-up callback, never used: no request is sent.
            "site": {"url": "https://sgeventd-warmup.invalid", "use_session_uuid": True},
            "config": config,
            "worker": {"id": "fork-server-warm-up", "per": "plugin"},
        },
        {"type": "load", "plugin": {"name": _PLUGIN_NAME, "path": _PLUGIN}},
    ]
    text = "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in lines)
    event = dict(_EVENT)
    for seq in range(1, _EVENTS + 1):
        event["id"] = seq
        # The daemon's own layout (src/workers/protocol.cpp), so the fast path is the one run.
        text += '{"type":"event","seq":%d,"late":%s,"event":%s,"callbacks":[%s]}\n' % (
            seq,
            "true" if seq % 4 == 0 else "false",
            json.dumps(event, separators=(",", ":")),
            '{"plugin":"%s","index":0}' % _PLUGIN_NAME,
        )
    return (text + '{"type":"shutdown","grace_ms":0}\n').encode("utf-8")


def prepare(config):
    """Builds a worker in this process and runs the warm-up through it; None, or why not (the
    workers then set themselves up after the fork, as spawned ones do). Never raises.

    The script and the answers go through temporary files, not pipes: this one thread writes
    the whole script before it runs it, and a pipe's capacity may be a single page (Linux
    shrinks new pipes once a user holds many)."""
    global prepared
    worker = None
    try:
        import tempfile

        from sgeventd_worker import worker as runtime

        with tempfile.TemporaryFile() as script, tempfile.TemporaryFile() as answers:
            script.write(_script(config if isinstance(config, dict) else {}))
            script.flush()
            script.seek(0)
            worker = runtime.make_worker(script.fileno(), answers.fileno(), None)
            status = worker.run()
            worker.writer.flush()
            answers.seek(0)
            problem = _problem(status, answers.read())
            _forget_plugin(worker)
        if problem is not None:
            return problem
        prepared = worker
        return None
    except BaseException as e:  # never fatal: a worker can always set itself up
        return "the warm-up failed: %s: %s" % (type(e).__name__, e)
    finally:
        if prepared is None:
            _undo(worker)


def _undo(worker):
    """After a failed warm-up: nothing of it is left for a forked worker to inherit (it then
    builds its own, as a spawned one does), and this process's log records go to stderr."""
    try:
        _forget_loggers()
        if worker is not None:
            worker.writer.rebind(-1)
            root = logging.getLogger()
            for handler in list(root.handlers):
                if getattr(handler, "_writer", None) is worker.writer:
                    root.removeHandler(handler)
        sys.stdout = sys.__stdout__
    except Exception:
        pass


def _problem(status, answers):
    """Why the warm-up's answers are not a loaded plugin and one good result per event."""
    ok = 0
    for line in answers.decode("utf-8", "replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            return "the worker wrote %r" % line[:200]
        kind = message.get("type")
        if kind in ("load_failed", "error"):
            return "%s: %s" % (kind, message.get("error") or message.get("message"))
        for entry in message.get("results") or []:
            if not entry.get("ok"):
                return "the sample callback failed: %s" % entry.get("error")
            ok += 1
    if status != 0 or ok != _EVENTS:
        return "the worker ran %d of %d events and exited %s" % (ok, _EVENTS, status)
    return None


def _forget_plugin(worker):
    """Leaves the worker as make_worker() made it and hello set it up, without the warm-up
    plugin: no plugin, no logger of it, nothing held, writes going nowhere until adopted (the
    server's own log lines go to its stderr, see logbridge)."""
    worker.forget_plugins()
    _forget_loggers()
    worker.reader.rebind(-1)
    worker.writer.rebind(-1)
    worker.stdout.partial = []
    # The warm-up's load froze what it had made (Worker._load); the server collects what is
    # garbage now and freezes again before its first fork.
    if hasattr(gc, "unfreeze"):
        gc.unfreeze()


def _forget_loggers():
    """Removes the warm-up plugin's loggers (and the "plugin" placeholder they made)."""
    manager = logging.Logger.manager
    prefix = "plugin." + _PLUGIN_NAME
    with logging._lock:  # the module's own lock, 3.7 to 3.13
        for name in [n for n in manager.loggerDict if n == prefix or n.startswith(prefix + ".")]:
            del manager.loggerDict[name]
        # getLogger("plugin.x") left a placeholder for "plugin" that remembers "plugin.x".
        holder = manager.loggerDict.get("plugin")
        if isinstance(holder, logging.PlaceHolder):
            for logger in [lg for lg in holder.loggerMap if lg.name.startswith(prefix)]:
                del holder.loggerMap[logger]
            if not holder.loggerMap:
                del manager.loggerDict["plugin"]
    clear = getattr(manager, "_clear_cache", None)  # the loggers' isEnabledFor caches
    if clear is not None:
        clear()


def adopt(in_fd, out_fd, plugin_dir):
    """In a forked worker: the prepared worker, now on the daemon's pipes; None if there is
    none (a spawned worker, or a server whose warm-up failed)."""
    global prepared
    worker, prepared = prepared, None
    if worker is None:
        return None
    worker.reader.rebind(in_fd)
    worker.writer.rebind(out_fd)
    worker.plugin_dir = plugin_dir
    sys.stdout = worker.stdout
    return worker
