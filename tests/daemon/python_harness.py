"""Helpers for the Python plugin tests: a daemon whose plugins are Python files, a client for
the sandbox (sgeventd's shotgun_api3 stand-in, from the build tree), a tiny SMTP sink, and the
shotgunEvents example plugins read from a git mirror at test time.
"""

import json
import os
import socketserver
import sqlite3
import subprocess
import sys
import threading

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.path.join(HERE, "python_plugins")
EVENTS_GIT = os.environ.get(
    "SGEVENTD_SHOTGUNEVENTS_GIT", "/work/.mirror/shotgunsoftware+shotgunEvents/repo")


def standin_dir():
    """<build>/lib/sgeventd/python/standin, next to the sgeventd binary's folder."""
    bindir = os.path.dirname(os.path.abspath(harness.BIN))
    return os.path.normpath(os.path.join(bindir, os.pardir, "lib", "sgeventd", "python", "standin"))


def site_client(url, session_uuid=None):
    """A shotgun_api3.Shotgun on the sandbox: the stand-in, unless a real package is installed."""
    try:
        import shotgun_api3
    except ImportError:
        sys.path.append(standin_dir())
        import shotgun_api3
    sg = shotgun_api3.Shotgun(url, script_name="sandbox", api_key="sandbox-key")
    if session_uuid:
        sg.set_session_uuid(session_uuid)
    return sg


class PythonDaemon(harness.Daemon):
    """harness.Daemon with Python plugins: copies of tests/daemon/python_plugins files, or
    sources given by the test. `[python] env` gives every plugin RECORD_DIR (where they write
    their JSON lines) and SG_SERVER."""

    def __init__(self, folder, site_url, plugins=(), daemon_keys=None, env=None, python=None,
                 extra=""):
        self.out_dir = os.path.join(folder, "out")
        os.makedirs(self.out_dir, exist_ok=True)
        all_env = {"RECORD_DIR": self.out_dir, "SG_SERVER": site_url}
        all_env.update(env or {})
        section = ["[python]", "env = " + ", ".join("%s=%s" % kv for kv in all_env.items())]
        for key, value in (python or {}).items():
            section.append("%s = %s" % (key, value))
        super().__init__(folder, site_url, {}, daemon_keys, "\n".join(section) + "\n" + extra)
        for name in plugins:
            self.install(name)

    def plugin_path(self, name):
        return os.path.join(self.plugin_dir, name + ".py")

    def install(self, name, source=None):
        """Writes plugin `name` (from python_plugins/ unless `source` is given); an existing
        file gets a later mtime, so the daemon sees the change even within one second."""
        if source is None:
            with open(os.path.join(PLUGINS, name + ".py")) as f:
                source = f.read()
        path = self.plugin_path(name)
        before = os.stat(path).st_mtime if os.path.exists(path) else None
        with open(path, "w") as f:
            f.write(source)
        if before is not None:
            later = max(before + 2, os.stat(path).st_mtime)
            os.utime(path, (later, later))
        return path

    def edit(self, name, old, new):
        with open(self.plugin_path(name)) as f:
            source = f.read()
        if old not in source:
            raise AssertionError("%r is not in plugin %s" % (old, name))
        return self.install(name, source.replace(old, new))

    def py_records(self, name):
        """The JSON lines plugin `name` wrote (a last line still being written is left out)."""
        try:
            with open(os.path.join(self.out_dir, name + ".jsonl")) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        out = []
        for line in text.split("\n"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def ids(self, name, **where):
        return [r["id"] for r in self.py_records(name)
                if all(r.get(k) == v for k, v in where.items())]

    def dead_letters(self):
        """(plugin name, callback, event id, error) rows of the state's dead letter table."""
        if not os.path.exists(self.state_file):
            return []
        db = sqlite3.connect("file:%s?mode=ro" % self.state_file, uri=True, timeout=10)
        try:
            return db.execute(
                "SELECT p.name, d.callback, d.event_id, d.error FROM dead_letters d "
                "JOIN plugins p ON p.id = d.plugin_id ORDER BY d.event_id").fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []
        finally:
            db.close()

    def plugin_status(self, name):
        db = sqlite3.connect("file:%s?mode=ro" % self.state_file, uri=True, timeout=10)
        try:
            row = db.execute("SELECT status, reason FROM plugins WHERE name = ?", (name,)).fetchone()
        finally:
            db.close()
        return row


class SmtpSink:
    """Accepts mail on loopback and keeps (recipients, message text) for each."""

    def __init__(self):
        self.mails = []
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                def say(line):
                    self.wfile.write(line.encode() + b"\r\n")

                say("220 sink ESMTP")
                rcpts = []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line.decode(errors="replace").strip()
                    upper = verb.upper()
                    if upper.startswith(("EHLO", "HELO")):
                        say("250 sink")
                    elif upper.startswith("MAIL FROM"):
                        rcpts = []
                        say("250 ok")
                    elif upper.startswith("RCPT TO"):
                        rcpts.append(verb.split(":", 1)[1].strip().strip("<>"))
                        say("250 ok")
                    elif upper == "DATA":
                        say("354 go on")
                        body = []
                        while True:
                            data = self.rfile.readline()
                            if not data or data in (b".\r\n", b".\n"):
                                break
                            body.append(data.decode(errors="replace"))
                        with sink.lock:
                            sink.mails.append((sorted(rcpts), "".join(body)))
                        say("250 queued")
                    elif upper == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self):
        with self.lock:
            return list(self.mails)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def extract_examples(into):
    """src/examplePlugins of the shotgunEvents mirror, extracted into `into` (its *.py files),
    or None when there is no mirror."""
    if not os.path.isdir(EVENTS_GIT):
        return None
    archive = subprocess.Popen(["git", "--git-dir", EVENTS_GIT, "archive", "HEAD",
                                "src/examplePlugins"], stdout=subprocess.PIPE)
    subprocess.check_call(["tar", "-x", "-C", into], stdin=archive.stdout)
    archive.stdout.close()
    if archive.wait() != 0:
        return None
    folder = os.path.join(into, "src", "examplePlugins")
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".py"))
