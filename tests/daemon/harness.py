"""Drives the real sgeventd binary against a real sandbox site over loopback, for the daemon's
integration tests. Plugins are exec plugins running build/bin/sgeventd-test-worker, which
appends the id of every event it handles to a file: what each plugin received, in order, is
read back from those files.

Environment: SGEVENTD_BIN (the sgeventd binary), SGEVENTD_TEST_WORKER_BIN (the test worker; not SGEVENTD_TEST_WORKER, which the
worker itself reads options from).
"""

import collections
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

BIN = os.environ.get("SGEVENTD_BIN", "")
TEST_WORKER = os.environ.get("SGEVENTD_TEST_WORKER_BIN", "")

# Generous bounds: CI runs this under ASan on 2 shared cores. Waits poll a condition and
# return as soon as it holds; the bound only decides when a test gives up and fails.
WAIT = float(os.environ.get("SGEVENTD_TEST_WAIT", "60"))
# Sanitizer builds run the daemon several times slower: timing promises get this factor.
SLOWDOWN = float(os.environ.get("SGEVENTD_TEST_SLOWDOWN", "1"))


def wait_for(condition, timeout=WAIT, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


class Sandbox:
    """`sgeventd sandbox` in its own process, so it outlives daemons killed by the tests."""

    def __init__(self, extra_args=()):
        self.proc = subprocess.Popen(
            [BIN, "sandbox", "--port", "0", "--test-controls"] + list(extra_args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening "):
            self.proc.kill()
            raise RuntimeError("sandbox did not start: %r" % line)
        self.url = line.split(" ", 1)[1]
        self.hidden = set()  # reserved ids: not events (yet)

    def control(self, action, body=None):
        request = urllib.request.Request(
            self.url + "/_sandbox/" + action, data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read().decode() or "{}")

    def generate(self, count):
        """Writes `count` events (plus, the first time, the Shot they edit): the new ids."""
        before = self.last_id()
        answer = self.control("generate", {"count": count})
        return [i for i in range(before + 1, answer["last_id"] + 1) if i not in self.hidden]

    def reserve(self, count):
        """Ids allocated now and committed later (a long transaction): a gap for readers."""
        ids = self.control("reserve", {"count": count})["ids"]
        self.hidden.update(ids)
        return ids

    def commit(self, ids):
        self.control("commit", {"ids": ids})
        self.hidden.difference_update(ids)

    def discard(self, ids):
        self.control("discard", {"ids": ids})

    def last_id(self):
        return self.control("status")["last_event_id"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class Daemon:
    """A config folder with exec plugins, and the daemon run on it in the foreground."""

    def __init__(self, folder, site_url, plugins, daemon_keys=None, extra="", plugin_dir=None):
        self.folder = folder
        # Daemons sharing a state share their plugin folder (a plugin is its path and name).
        self.plugin_dir = plugin_dir or os.path.join(folder, "plugins")
        self.record_dir = os.path.dirname(plugin_dir) if plugin_dir else folder
        os.makedirs(folder, exist_ok=True)
        os.makedirs(self.plugin_dir, exist_ok=True)
        self.pid_file = os.path.join(folder, "sgeventd.pid")
        self.state_file = os.path.join(folder, "state.sqlite")
        self.config = os.path.join(folder, "sgeventd.conf")
        self.log_file = os.path.join(folder, "sgeventd.log")
        self.proc = None
        self.runs = 0
        keys = {
            "pidFile": self.pid_file,
            "eventIdFile": self.state_file,
            "logPath": folder,
            "logFile": "sgeventd.log",
            "logMode": "1",
            "logging": "20",
            "fetch_interval": "0.2",
            "conn_retry_sleep": "1",
            "shutdown_grace": "5",
        }
        keys.update(daemon_keys or {})
        lines = ["[daemon]"] + ["%s = %s" % kv for kv in keys.items()]
        lines += ["[shotgun]", "server = %s" % site_url, "name = sandbox", "key = sandbox-key",
                  "[plugins]", "paths = %s" % self.plugin_dir]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        for name, args in plugins.items():
            self.add_plugin(name, args)

    def add_plugin(self, name, args=""):
        with open(os.path.join(self.plugin_dir, name + ".plugin"), "w") as f:
            f.write("[plugin]\ncommand = %s\nargs = --record %s %s\n"
                    % (TEST_WORKER, self.record_file(name), args))

    def record_file(self, name):
        return os.path.join(self.record_dir, "received." + name)

    def records(self, name):
        try:
            with open(self.record_file(name)) as f:
                return [int(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def log(self):
        try:
            with open(self.log_file, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def plugin_log(self, name):
        try:
            with open(os.path.join(self.folder, "plugin." + name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def cli(self, *args, timeout=60):
        return subprocess.run([BIN] + list(args) + ["-c", self.config], capture_output=True,
                              text=True, timeout=timeout)

    def start(self, wait=True, env=None):
        """Runs `sgeventd foreground` (with `env` added to this environment); waits until it
        polls (each run logs one more line)."""
        self.runs += 1
        out = open(os.path.join(self.folder, "stdout.%d" % self.runs), "w")
        self.proc = subprocess.Popen([BIN, "foreground", "-c", self.config], stdout=out,
                                     stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **env) if env else None)
        out.close()
        if wait:
            wait_for(lambda: self.log().count("Polling ") >= self.runs or self.proc.poll() is not None,
                     what="the daemon to start polling")
            if self.proc.poll() is not None:
                raise AssertionError("the daemon exited during startup:\n" + self.log()[-3000:])
        return self.proc

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout)
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def status(self):
        answer = self.cli("status", "--json")
        return answer.returncode, json.loads(answer.stdout or "{}")


class DaemonTestCase(unittest.TestCase):
    """A sandbox per test, a temp folder, and cleanup of every daemon started."""

    def setUp(self):
        if not BIN or not TEST_WORKER:
            self.fail("SGEVENTD_BIN and SGEVENTD_TEST_WORKER_BIN must be set")
        self.tmp = tempfile.mkdtemp(prefix="sgeventd-daemon-test-")
        self.site = Sandbox()
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            if d.proc and d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        self.site.stop()
        if self._outcome_ok():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("kept for inspection: " + self.tmp)

    def _outcome_ok(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return True
        return not any(t is self for t, _ in result.failures + result.errors)

    def daemon(self, plugins, daemon_keys=None, name="d", extra="", plugin_dir=None):
        d = Daemon(os.path.join(self.tmp, name), self.site.url, plugins, daemon_keys, extra,
                   plugin_dir)
        self.daemons.append(d)
        return d

    def assert_exactly_once_in_order(self, received, expected):
        counts = collections.Counter(received)
        self.assertEqual(len(received), len(counts),
                         "duplicates: %s" % sorted(i for i, n in counts.items() if n > 1)[:20])
        self.assertEqual(sorted(received), sorted(expected))
        self.assertEqual(received, sorted(received), "not in id order")
