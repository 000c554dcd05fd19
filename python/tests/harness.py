"""Drives sgeventd-python-worker as the daemon does: a subprocess spoken to over its pipes.

The worker under test is $SGEVENTD_PYTHON_WORKER (ctest points it at the built copy in
build/bin) or the script in the source tree; it always runs under the interpreter running the
tests, so running the suite under another Python tests the worker under that Python.
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.path.join(HERE, "plugins")
FAKE_API = os.path.join(HERE, "fake_api")
WORKER = os.environ.get("SGEVENTD_PYTHON_WORKER") or os.path.join(
    os.path.dirname(HERE), "sgeventd-python-worker"
)
TIMEOUT = 20.0

SITE = {"url": "https://studio.example.com", "proxy": "", "use_session_uuid": True}


def make_event(event_id, **fields):
    """An EventLogEntry shaped as the site returns it (sg-protocol.md section 11)."""
    event = {
        "type": "EventLogEntry",
        "id": event_id,
        "event_type": "Shotgun_Task_Change",
        "attribute_name": "sg_status_list",
        "meta": {
            "type": "attribute_change",
            "attribute_name": "sg_status_list",
            "entity_type": "Task",
            "entity_id": 12,
            "field_data_type": "status_list",
            "old_value": "wtg",
            "new_value": "ip",
        },
        "entity": {"type": "Task", "id": 12, "name": "Layout"},
        "user": {"type": "HumanUser", "id": 5, "name": "Ann Artist"},
        "project": {"type": "Project", "id": 70, "name": "Demo"},
        "session_uuid": "5a1d49b0-0c69-11e0-a24c-%012d" % event_id,
        "created_at": "2024-03-01T10:00:%02dZ" % (event_id % 60),
    }
    event.update(fields)
    return event


def worker_env(extra=None):
    """The environment a worker gets: the tests' own, without PYTHONPATH, plus `extra`."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    return env


class Worker(object):
    """One worker process (a subprocess.Popen, or anything with its stdin, stdout, stderr,
    poll, wait and kill); messages are dicts."""

    def __init__(self, env=None, python=None, proc=None):
        self.proc = proc or subprocess.Popen(
            [python or sys.executable, WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=worker_env(env),
        )
        self.messages = queue.Queue()
        self.stderr_lines = []
        self._reader = threading.Thread(target=self._read_stdout)
        self._reader.daemon = True
        self._reader.start()
        self._err = threading.Thread(target=self._read_stderr)
        self._err.daemon = True
        self._err.start()
        self.raw_lines = []
        self.logs = []
        self.seq = 0

    def _read_stdout(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.raw_lines.append(line)
            try:
                self.messages.put(json.loads(line.decode("utf-8")))
            except ValueError:
                self.messages.put({"type": "<not json>", "line": line})
        self.messages.put(None)

    def _read_stderr(self):
        for line in iter(self.proc.stderr.readline, b""):
            self.stderr_lines.append(line.decode("utf-8", "replace"))

    def send(self, message):
        data = message if isinstance(message, bytes) else (json.dumps(message) + "\n").encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def next(self, timeout=TIMEOUT):
        """The next message that is not a log (logs are kept in self.logs)."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(
                    "no message from the worker within %ss; stderr:\n%s"
                    % (timeout, "".join(self.stderr_lines))
                )
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError(
                    "the worker closed its output (exit %s); stderr:\n%s"
                    % (self.proc.poll(), "".join(self.stderr_lines))
                )
            if message.get("type") == "log":
                self.logs.append(message)
                continue
            return message

    def expect(self, kind, timeout=TIMEOUT):
        message = self.next(timeout)
        if message.get("type") != kind:
            raise AssertionError("expected %s, got %r" % (kind, message))
        return message

    def hello(self, site=None, config=None, per="plugin", protocol=1, fake_api=True, **extra):
        """Handshake. With ``fake_api`` the test fake of shotgun_api3 is put on sys.path
        through ``[python] path`` (so plugins get a connection that records its use)."""
        config = {"daemon": {"logging": "20"}} if config is None else dict(config)
        if fake_api and "python" not in config:
            config["python"] = {"path": FAKE_API}
        self.send(
            {
                "type": "hello",
                "protocol": protocol,
                "daemon": "sgeventd test",
                "site": SITE if site is None else site,
                "config": config,
                "worker": {"id": "test", "per": per},
                **extra,
            }
        )
        return self.expect("hello")

    def load(self, path, name=None):
        name = name or os.path.splitext(os.path.basename(path))[0]
        self.send({"type": "load", "plugin": {"name": name, "path": path}})
        message = self.next()
        if message.get("type") not in ("loaded", "load_failed"):
            raise AssertionError("expected loaded or load_failed, got %r" % (message,))
        return message

    def event(self, event, callbacks, late=False):
        """Send an event; callbacks as [(plugin, index), ...]. Returns its seq."""
        self.seq += 1
        self.send(
            {
                "type": "event",
                "seq": self.seq,
                "late": late,
                "event": event,
                "callbacks": [{"plugin": p, "index": i} for p, i in callbacks],
            }
        )
        return self.seq

    def run_event(self, event, callbacks):
        seq = self.event(event, callbacks)
        result = self.expect("result")
        if result["seq"] != seq:
            raise AssertionError("result for seq %s, expected %s" % (result["seq"], seq))
        return result["results"]

    def sync(self):
        """Wait until everything sent so far is handled (and its logs received)."""
        self.seq += 1
        self.send({"type": "ping", "seq": self.seq})
        pong = self.expect("pong")
        assert pong["seq"] == self.seq, pong

    def logs_of(self, logger=None, plugin=None):
        return [
            m
            for m in self.logs
            if (logger is None or m["logger"] == logger) and (plugin is None or m["plugin"] == plugin)
        ]

    def shutdown(self):
        self.send({"type": "shutdown", "grace_ms": 5000})
        self.expect("bye")
        return self.wait()

    def wait(self, timeout=TIMEOUT):
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        self._err.join(timeout)
        # Logs sent before the worker ended.
        while True:
            try:
                message = self.messages.get_nowait()
            except queue.Empty:
                break
            if message and message.get("type") == "log":
                self.logs.append(message)
        return code

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except Exception:
                pass


class WorkerTestCase(unittest.TestCase):
    """Base class: temp folder for plugin files, workers closed after each test."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sgeventd-pyworker-")
        self._workers = []

    def tearDown(self):
        for worker in self._workers:
            worker.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, hello=True, **kwargs):
        env = kwargs.pop("env", None)
        worker = Worker(env=env, python=kwargs.pop("python", None))
        self._workers.append(worker)
        if hello:
            worker.hello(**kwargs)
        return worker

    def write_plugin(self, name, source, folder=None):
        folder = folder or self.tmp
        if not os.path.isdir(folder):
            os.makedirs(folder)
        path = os.path.join(folder, name + ".py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))
        return path

    def assertOk(self, results):
        for entry in results:
            self.assertTrue(entry["ok"], "callback failed: %r" % (entry,))

    def messages(self, worker, logger):
        return [m["message"] for m in worker.logs_of(logger=logger)]
