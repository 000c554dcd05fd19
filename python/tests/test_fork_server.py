"""The fork server (sgeventd_worker/forkserver.py), driven as the daemon drives it: a
SOCK_SEQPACKET socket, one request per worker with its three pipe ends attached. This process
makes itself a child subreaper, as the daemon does, so the forked workers become its children.

The main promise: nothing a plugin can see changes. A probe plugin records what it sees (argv,
__name__, signal handling, open descriptors, sys.path, environment, process group, ...) in a
worker forked by the server and in one spawned the usual way, and the two must match.
"""

import array
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

from harness import TIMEOUT, WORKER, Worker, WorkerTestCase, make_event, worker_env

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


class ForkedProcess(object):
    """What harness.Worker needs of a process, for a worker this process did not spawn but
    inherited (reparented to it as the subreaper)."""

    def __init__(self, pid, stdin, stdout, stderr):
        self.pid = pid
        self.stdin = os.fdopen(stdin, "wb")
        self.stdout = os.fdopen(stdout, "rb")
        self.stderr = os.fdopen(stderr, "rb")
        self.returncode = None

    def _reaped(self, flags):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, flags)
            if pid == self.pid:
                self.returncode = (
                    -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                )
        return self.returncode

    def poll(self):
        return self._reaped(os.WNOHANG)

    def wait(self, timeout=None):
        deadline = time.time() + (timeout or TIMEOUT)
        while self.poll() is None:
            if time.time() > deadline:
                raise AssertionError("worker %d still running after %ss" % (self.pid, timeout))
            time.sleep(0.01)
        return self.returncode

    def kill(self):
        if self.returncode is None:
            os.kill(self.pid, signal.SIGKILL)


class ForkServer(object):
    def __init__(self, args=(), env=None, python=None, prepare=None):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.proc = subprocess.Popen(
            [python or sys.executable, WORKER, "--fork-server"]
            + list(args)
            + (["--prepare"] if prepare is not None else []),
            stdin=theirs.fileno(),
            stderr=subprocess.PIPE,
            env=worker_env(env),
        )
        theirs.close()
        self.sock.settimeout(TIMEOUT)
        if prepare is not None:  # what the daemon sends first (src/workers/fork_server.cpp)
            self.sock.send(json.dumps(prepare).encode())
        self.ready = self._answer()
        assert self.ready.get("ready") is True, self.ready

    def _answer(self):
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError(
                "the fork server closed its socket; stderr:\n%s"
                % self.proc.stderr.read().decode("utf-8", "replace")
            )
        return json.loads(data.decode("utf-8"))

    def fork(self, argv=()):
        """A harness.Worker on a freshly forked worker."""
        (in_r, in_w), (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe(), os.pipe()
        fds = array.array("i", [in_r, out_w, err_w])
        request = json.dumps({"argv": list(argv)}).encode()
        self.sock.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
        for fd in (in_r, out_w, err_w):
            os.close(fd)
        answer = self._answer()
        if "pid" not in answer:
            for fd in (in_w, out_r, err_r):
                os.close(fd)
            raise AssertionError("the fork server refused: %r" % (answer,))
        return Worker(proc=ForkedProcess(answer["pid"], in_w, out_r, err_r))

    def close(self):
        self.sock.close()
        try:
            return self.proc.wait(TIMEOUT)
        finally:
            self.proc.stderr.close()


PROBE = r'''
import json, logging, os, random, signal, sys, threading

def registerCallbacks(reg):
    reg.registerCallback("s", "k", probe)

def signals():
    out = {}
    for number in range(1, signal.NSIG):
        try:
            out[str(number)] = repr(signal.getsignal(number))
        except (ValueError, OSError):
            pass
    return out

def probe(sg, logger, event, args):
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    seen = {
        "argv": sys.argv,
        "module": __name__,
        "signals": signals(),
        "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "fds": len(fds),
        "own_group": os.getpgid(0) == os.getpid(),
        "session_leader": os.getsid(0) == os.getpid(),
        "path": sys.path,
        "environ": sorted(os.environ),
        "threads": threading.active_count(),
        "root_handlers": len(logging.getLogger().handlers),
        "handler_types": [type(h).__name__ for h in logging.getLogger().handlers],
        "loggers": sorted(logging.root.manager.loggerDict),
        "stdout": type(sys.stdout).__name__,
        "config": {name: dict(logger.config.items(name)) for name in logger.config.sections()},
        "config_defaults": sorted(logger.config.defaults()),
        "cwd": os.getcwd(),
        "random": random.random(),
    }
    with open(os.environ["PROBE_OUT"] + "." + str(os.getpid()), "w") as f:
        json.dump(seen, f)
'''

CONFIG_READER = r'''
import os

def registerCallbacks(reg):
    reg.registerCallback("s", "k", read)

def read(sg, logger, event, args):
    with open(os.environ["PROBE_OUT"] + ".config." + str(os.getpid()), "w") as f:
        f.write("%s|%s" % (type(logger.config).__name__, logger.config.get("studio", "greeting")))
'''

MESS = r'''
import os, sys

def registerCallbacks(reg):
    reg.registerCallback("s", "k", mess)

def mess(sg, logger, event, args):
    os.environ["MESSED"] = "yes"
    sys.path.insert(0, "/messed")
    sys.modules["messed_module"] = object()
'''

BUSY = r'''
import os, subprocess, threading, sqlite3, decimal

def registerCallbacks(reg):
    reg.registerCallback("s", "k", busy)

def busy(sg, logger, event, args):
    box = []
    t = threading.Thread(target=lambda: box.append(sqlite3.connect(":memory:").execute(
        "select 6 * 7").fetchone()[0]))
    t.start()
    t.join()
    assert box == [42], box
    assert subprocess.run(["true"]).returncode == 0
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    assert os.WEXITSTATUS(os.waitpid(pid, 0)[1]) == 7
    assert str(decimal.Decimal(1) / 4) == "0.25"
'''


class ForkServerTest(WorkerTestCase):
    @classmethod
    def setUpClass(cls):
        become_subreaper()

    def setUp(self):
        super().setUp()
        self.server = ForkServer(env={"PROBE_OUT": os.path.join(self.tmp, "probe")})
        self.addCleanup(self.server.close)

    def forked(self, **hello):
        worker = self.server.fork()
        self._workers.append(worker)
        worker.hello(**hello)
        return worker

    def run_plugin(self, worker, name, source):
        path = self.write_plugin(name, source)
        loaded = worker.load(path)
        self.assertEqual(loaded["type"], "loaded", loaded)
        [result] = worker.run_event(make_event(1), [(name, 0)])
        return result

    def probe(self, worker):
        result = self.run_plugin(worker, "probe", PROBE)
        self.assertTrue(result["ok"], result)
        with open(os.path.join(self.tmp, "probe.%d" % worker.proc.pid)) as f:
            return json.load(f)

    def test_a_forked_worker_is_ours_and_speaks_the_protocol(self):
        worker = self.forked()
        # Reparented to this process (the subreaper): waitpid works on it.
        self.assertIsNone(worker.proc.poll())
        worker.sync()
        self.assertEqual(worker.shutdown(), 0)

    def test_a_prepared_worker_sees_what_a_spawned_one_sees(self):
        # As the daemon runs it: the server prepared with the very config the hello carries.
        config = {"daemon": {"logging": "20"}, "studio": {"greeting": "hi"}}
        server = ForkServer(env={"PROBE_OUT": os.path.join(self.tmp, "probe")},
                            prepare={"config": config})
        self.addCleanup(server.close)
        worker = server.fork()
        self._workers.append(worker)
        worker.hello(config=config, fake_api=False)
        forked = self.probe(worker)
        spawned_worker = self.start(env={"PROBE_OUT": os.path.join(self.tmp, "probe")},
                                    config=config, fake_api=False)
        spawned = self.probe(spawned_worker)
        self.assertEqual(forked["config"]["studio"]["greeting"], "hi")
        for key in ("random", "own_group"):
            forked.pop(key)
            spawned.pop(key)
        self.maxDiff = None
        self.assertEqual(forked, spawned)

    def test_a_plugin_sees_what_it_sees_in_a_spawned_worker(self):
        forked = self.probe(self.forked())
        self.assertTrue(forked["own_group"])
        spawned_worker = self.start(env={"PROBE_OUT": os.path.join(self.tmp, "probe")})
        spawned = self.probe(spawned_worker)
        for key in ("random", "own_group"):  # the daemon gives spawned workers a group too
            forked.pop(key)
            spawned.pop(key)
        self.maxDiff = None
        self.assertEqual(forked, spawned)

    def test_each_worker_gets_its_own_random_seed(self):
        first, second = self.probe(self.forked()), self.probe(self.forked())
        self.assertNotEqual(first["random"], second["random"])

    def test_what_a_plugin_changes_stays_in_its_worker(self):
        self.assertTrue(self.run_plugin(self.forked(), "mess", MESS)["ok"])
        after = self.probe(self.forked())
        self.assertNotIn("MESSED", after["environ"])
        self.assertNotIn("/messed", after["path"])

    def test_threads_subprocesses_forks_and_c_extensions_work_in_a_plugin(self):
        result = self.run_plugin(self.forked(), "busy", BUSY)
        self.assertTrue(result["ok"], result)

    def test_a_plugin_that_cannot_load_fails_alone(self):
        worker = self.forked()
        failed = worker.load(self.write_plugin("broken", "def registerCallbacks(reg)\n"))
        self.assertEqual(failed["type"], "load_failed")
        self.assertIn("SyntaxError", failed["error"])
        self.assertTrue(self.run_plugin(self.forked(), "mess", MESS)["ok"])

    def test_a_plugin_is_loaded_after_the_fork_so_an_edit_is_seen(self):
        source = "def registerCallbacks(reg):\n    reg.registerCallback('s', 'k', %s)\n" \
                 "def one(sg, logger, event, args):\n    pass\n" \
                 "def two(sg, logger, event, args):\n    pass\n"
        path = self.write_plugin("edited", source % "one")
        self.assertEqual(self.forked().load(path)["callbacks"][0]["name"], "one")
        self.write_plugin("edited", source % "two")
        self.assertEqual(self.forked().load(path)["callbacks"][0]["name"], "two")

    def test_the_server_exits_when_the_daemon_goes(self):
        worker = self.forked()
        self.assertEqual(self.server.close(), 0)
        # Its workers carry on.
        self.assertTrue(self.run_plugin(worker, "mess", MESS)["ok"])
        self.assertEqual(worker.shutdown(), 0)

    def test_a_malformed_request_is_refused_and_the_server_serves_on(self):
        for garbage in (b'{"argv": []}', b"not json", b"null", b'{"argv": "abc"}'):
            self.server.sock.send(garbage)
            self.assertIn("error", self.server._answer(), garbage)
        self.forked()

    def test_the_server_warms_up_and_leaves_no_trace_of_it(self):
        self.assertIsNone(self.server.ready["warm_up"])
        # Nothing of the warm-up plugin is left for a plugin to see (the probe above compares
        # the loggers and handlers with a spawned worker's).
        loggers = self.probe(self.forked())["loggers"]
        self.assertFalse([n for n in loggers if "warmup" in n], loggers)

    def test_a_failed_warm_up_is_reported_and_workers_set_themselves_up(self):
        # A shotgun_api3 whose connections refuse the warm-up's script name only.
        api = os.path.join(self.tmp, "refusing_api", "shotgun_api3")
        os.makedirs(api)
        with open(os.path.join(api, "__init__.py"), "w") as f:
            f.write("class Shotgun(object):\n"
                    "    def __init__(self, url, script, key, **kwargs):\n"
                    "        if script == 'sgeventd-warm-up':\n"
                    "            raise RuntimeError('no warm-up here')\n"
                    "    def set_session_uuid(self, value):\n"
                    "        pass\n")
        server = ForkServer(args=["--path", os.path.dirname(api)],
                            env={"PROBE_OUT": os.path.join(self.tmp, "probe")})
        self.addCleanup(server.close)
        self.assertIn("no warm-up here", server.ready["warm_up"])
        worker = server.fork()
        self._workers.append(worker)
        worker.hello(fake_api=False)
        probe = self.probe(worker)
        self.assertEqual(probe["handler_types"], ["ProtocolHandler"])
        self.assertEqual(probe["stdout"], "PrintRedirect")
        # Nothing of the failed warm-up is left: its loggers are gone as after a good one.
        self.assertFalse([n for n in probe["loggers"] if "warmup" in n], probe["loggers"])
        # The server still serves.
        self.assertTrue(self.run_plugin(self.forked(), "mess", MESS)["ok"])

    def read_config(self, server, config):
        worker = server.fork()
        self._workers.append(worker)
        worker.hello(config=config, fake_api=False)
        result = self.run_plugin(worker, "reader", CONFIG_READER)
        self.assertTrue(result["ok"], result)
        with open(os.path.join(self.tmp, "probe.config.%d" % worker.proc.pid)) as f:
            return f.read()

    def test_a_prepared_config_is_what_plugins_read_unless_hello_says_otherwise(self):
        prepared = {"daemon": {"logging": "20"}, "studio": {"greeting": "prepared"}}
        server = ForkServer(env={"PROBE_OUT": os.path.join(self.tmp, "probe")},
                            prepare={"config": prepared})
        self.addCleanup(server.close)
        self.assertIsNone(server.ready["warm_up"])
        self.assertEqual(self.read_config(server, prepared), "SiteConfig|prepared")
        # A worker whose hello brings another config reads that one.
        other = {"daemon": {"logging": "20"}, "studio": {"greeting": "from hello"}}
        self.assertEqual(self.read_config(server, other), "SiteConfig|from hello")
        # An empty or malformed first message: the server warms up without a config.
        for first in ({}, {"config": "nonsense"}):
            bare = ForkServer(env={"PROBE_OUT": os.path.join(self.tmp, "probe")}, prepare=first)
            self.addCleanup(bare.close)
            self.assertIsNone(bare.ready["warm_up"])
            self.assertEqual(self.read_config(bare, prepared), "SiteConfig|prepared")

    def test_preload_imports_modules_before_any_fork(self):
        server = ForkServer(args=["--preload", "decimal, no_such_module_xyz"])
        self.addCleanup(server.close)
        problems = server.ready["problems"]
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("no_such_module_xyz", problems[0])


if __name__ == "__main__":
    unittest.main()
