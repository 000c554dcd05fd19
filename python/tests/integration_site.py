"""The worker with the real shotgun_api3 against a live site (sgeventd's sandbox).

The test plays the daemon: it reads the sandbox's event log with shotgun_api3, forwards each
event to the worker as the daemon would, and checks what the plugins did on the site.

Needs three things from outside the test folder, and says which one is missing when it skips:
- the sandbox: build/bin/sgeventd (or $SGEVENTD_BIN);
- the official shotgun_api3 source: a git mirror of shotgunsoftware/python-api
  ($SGEVENTD_SHOTGUN_API3_GIT, default /work/.mirror/shotgunsoftware+python-api/repo) or an
  installed package;
- for the examples test, a git mirror of shotgunsoftware/shotgunEvents
  ($SGEVENTD_SHOTGUNEVENTS_GIT). Its example plugins are read from the mirror at test time and
  never copied into this repository.
"""

import datetime
import glob
import os
import re
import subprocess
import sys
import tempfile
import shutil
import unittest

from harness import HERE, WorkerTestCase

ROOT = os.path.dirname(os.path.dirname(HERE))
SGEVENTD = os.environ.get("SGEVENTD_BIN") or os.path.join(ROOT, "build", "bin", "sgeventd")
API_GIT = os.environ.get(
    "SGEVENTD_SHOTGUN_API3_GIT", "/work/.mirror/shotgunsoftware+python-api/repo"
)
EVENTS_GIT = os.environ.get(
    "SGEVENTD_SHOTGUNEVENTS_GIT", "/work/.mirror/shotgunsoftware+shotgunEvents/repo"
)
EVENT_FIELDS = [
    "id",
    "event_type",
    "attribute_name",
    "meta",
    "entity",
    "user",
    "project",
    "session_uuid",
    "created_at",
]

_shared = {}


def _extract(git_dir, tree, into):
    """Extract one folder of a bare git mirror into ``into`` (None if unavailable)."""
    if not os.path.isdir(git_dir):
        return None
    archive = subprocess.Popen(
        ["git", "--git-dir", git_dir, "archive", "HEAD", tree], stdout=subprocess.PIPE
    )
    subprocess.check_call(["tar", "-x", "-C", into], stdin=archive.stdout)
    archive.stdout.close()
    if archive.wait() != 0:
        return None
    return into


def setUpModule():
    _shared["tmp"] = tempfile.mkdtemp(prefix="sgeventd-site-")
    try:
        import shotgun_api3  # noqa: F401  an installed package serves as well

        _shared["api_path"] = os.path.dirname(os.path.dirname(shotgun_api3.__file__))
    except ImportError:
        api_root = os.path.join(_shared["tmp"], "api")
        os.makedirs(api_root)
        if _extract(API_GIT, "shotgun_api3", api_root):
            _shared["api_path"] = api_root


def tearDownModule():
    shutil.rmtree(_shared["tmp"], ignore_errors=True)


class Sandbox(object):
    def __init__(self):
        self.proc = subprocess.Popen(
            [SGEVENTD, "sandbox", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        first = self.proc.stdout.readline().decode().split()
        if len(first) != 2 or first[0] != "listening":
            self.stop()
            raise AssertionError("the sandbox did not start: %r" % (first,))
        self.url = first[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()


def wire_event(event):
    """An event read with shotgun_api3, back in the site's JSON form (datetimes as strings)."""

    def back(value):
        if isinstance(value, datetime.datetime):
            return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, dict):
            return dict((k, back(v)) for k, v in value.items())
        if isinstance(value, list):
            return [back(v) for v in value]
        return value

    return back(event)


def matches(match_events, event):
    """shotgunEvents' matchEvents rule (the daemon's job; enough of it for these tests)."""
    if not match_events:
        return True
    if "*" in match_events:
        attributes = match_events["*"]
    elif event["event_type"] in match_events:
        attributes = match_events[event["event_type"]]
    else:
        return False
    if attributes is None or "*" in attributes:
        return True
    return bool(event["attribute_name"]) and event["attribute_name"] in attributes


class SiteTestCase(WorkerTestCase):
    def setUp(self):
        WorkerTestCase.setUp(self)
        if not os.access(SGEVENTD, os.X_OK):
            self.skipTest("no sandbox: %s is not built (set SGEVENTD_BIN)" % SGEVENTD)
        if "api_path" not in _shared:
            self.skipTest(
                "no shotgun_api3: not installed and no python-api mirror at %s "
                "(set SGEVENTD_SHOTGUN_API3_GIT)" % API_GIT
            )
        if _shared["api_path"] not in sys.path:
            sys.path.insert(0, _shared["api_path"])
        import shotgun_api3

        self.api = shotgun_api3
        self.site = Sandbox()
        self.addCleanup(self.site.stop)
        self.sg = shotgun_api3.Shotgun(self.site.url, "sandbox", "sandbox-key")
        self.addCleanup(self.sg.close)
        self.last_id = 0

    def start_worker(self, per="plugin", env=None):
        return self.start(
            env=env,
            per=per,
            site={"url": self.site.url, "proxy": "", "use_session_uuid": True},
            config={"daemon": {"logging": "20"}, "python": {"path": _shared["api_path"]}},
        )

    def new_events(self):
        events = self.sg.find(
            "EventLogEntry",
            [["id", "greater_than", self.last_id]],
            EVENT_FIELDS,
            order=[{"field_name": "id", "direction": "asc"}],
        )
        if events:
            self.last_id = events[-1]["id"]
        return events

    def deliver(self, worker, loaded, events):
        """Send each event to the callbacks it matches, as the daemon does; results by id."""
        results = {}
        for event in events:
            refs = [
                (plugin["plugin"], cb["index"])
                for plugin in loaded
                for cb in plugin["callbacks"]
                if matches(cb["match_events"], event)
            ]
            if refs:
                results[event["id"]] = worker.run_event(wire_event(event), refs)
        return results


TOUCH_PLUGIN = '''
"""Original-style plugin: stamps new Shots through its own sg and reports what it sees."""

def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", stampShot, {"Shotgun_Shot_New": None})
    reg.registerCallback("sandbox", "sandbox-key", reportChange,
                         {"Shotgun_Shot_Change": ["description"]})

def stampShot(sg, logger, event, args):
    shot = event["entity"]
    sg.update("Shot", shot["id"], {"description": "stamped from event %d" % event["id"]})
    found = sg.find_one("Shot", [["id", "is", shot["id"]]], ["code", "description", "created_at"])
    logger.info("stamped %s: %s (aware %s)", found["code"], found["description"],
                found["created_at"].tzinfo is not None)

def reportChange(sg, logger, event, args):
    logger.info("change by %s with session %s: %s", event["user"]["type"],
                event["session_uuid"], event["meta"]["new_value"])
'''


class RealShotgunTest(SiteTestCase):
    def test_plugin_writes_through_sg_and_sees_its_own_event_with_the_session(self):
        path = self.write_plugin("touch", TOUCH_PLUGIN)
        self.new_events()  # whatever the site had already
        worker = self.start_worker()
        loaded = worker.load(path)
        self.assertEqual(loaded["type"], "loaded", loaded)

        session = "9f3c0a2e-5d0e-11ee-8c99-0242ac120002"
        self.sg.set_session_uuid(session)
        project = self.sg.create("Project", {"name": "Worker Test"})
        shot = self.sg.create("Shot", {"code": "sh010", "project": project})

        results = self.deliver(worker, [loaded], self.new_events())
        self.assertTrue(results, "no Shotgun_Shot_New event reached the plugin")
        for entries in results.values():
            self.assertOk(entries)
        stamped = self.messages(worker, "plugin.touch.stampShot")
        self.assertEqual(len(stamped), 1, worker.logs)
        self.assertRegex(stamped[0], r"^stamped sh010: stamped from event \d+ \(aware True\)$")
        description = self.sg.find_one("Shot", [["id", "is", shot["id"]]], ["description"])
        self.assertTrue(description["description"].startswith("stamped from event "))

        # The plugin's own write is an event too, carrying the session of the event it handled.
        own = self.new_events()
        changes = [e for e in own if e["event_type"] == "Shotgun_Shot_Change"]
        self.assertEqual(len(changes), 1, own)
        self.assertEqual(changes[0]["session_uuid"], session)
        self.assertOk(sum(self.deliver(worker, [loaded], own).values(), []))
        self.assertEqual(
            self.messages(worker, "plugin.touch.reportChange"),
            ["change by ApiUser with session %s: %s" % (session, description["description"])],
        )

    def test_shotgun_api3_errors_reach_the_result(self):
        path = self.write_plugin(
            "bad_write",
            """
            def registerCallbacks(reg):
                reg.registerCallback("sandbox", "wrong-key", write)
            def write(sg, logger, event, args):
                sg.update("Shot", 1, {"description": "x"})
            """,
        )
        worker = self.start_worker()
        loaded = worker.load(path)
        self.assertEqual(loaded["type"], "loaded")  # connect=False: nothing sent yet
        self.sg.create("Project", {"name": "Errors"})
        results = self.deliver(worker, [loaded], self.new_events()[-1:])
        (entries,) = results.values()
        self.assertFalse(entries[0]["ok"])
        self.assertIn("AuthenticationFault", entries[0]["error"])


class ShotgunEventsExamplesTest(SiteTestCase):
    """shotgunsoftware/shotgunEvents' src/examplePlugins, unchanged, in one worker_per=path
    worker against the sandbox."""

    def setUp(self):
        SiteTestCase.setUp(self)
        folder = os.path.join(self.tmp, "upstream")
        os.makedirs(folder)
        if not _extract(EVENTS_GIT, "src/examplePlugins", folder):
            self.skipTest(
                "no shotgunEvents mirror at %s (set SGEVENTD_SHOTGUNEVENTS_GIT)" % EVENTS_GIT
            )
        self.examples = sorted(glob.glob(os.path.join(folder, "src", "examplePlugins", "*.py")))

    def test_examples_load_register_and_run(self):
        env = {"SG_SERVER": self.site.url}
        for path in self.examples:
            with open(path) as f:
                for name in re.findall(r'os\.environ\["(SGDAEMON_\w+)"\]', f.read()):
                    env[name] = "sandbox" if name.endswith("_NAME") else "sandbox-key"
        worker = self.start_worker(per="path", env=env)
        loaded, failed = [], []
        for path in self.examples:
            answer = worker.load(path)
            (loaded if answer["type"] == "loaded" else failed).append(answer)
        # What may legitimately stop an example: a third-party module this interpreter lacks
        # (pytz), or a field the example's docs ask the site admin to create first.
        for answer in failed:
            missing_module = re.search(r"No module named '(\w+)'", answer["error"])
            if missing_module:
                self.assertNotEqual(missing_module.group(1), "shotgun_api3")
                continue
            self.assertRegex(
                answer["error"], r"doesn't exist|KeyError: 'sg_\w+'", answer["error"]
            )
        self.assertGreaterEqual(len(loaded), 20, [a["plugin"] for a in failed])
        names = [a["plugin"] for a in loaded]
        for expected in ("logArgs", "sharedStateA", "sharedStateB", "sharedStateC"):
            self.assertIn(expected, names)

        # Real activity on the site, delivered to every registered callback that matches.
        self.new_events()
        project = self.sg.create("Project", {"name": "Examples"})
        self.sg.create("Shot", {"code": "sh020", "project": project})
        events = self.new_events()
        results = self.deliver(worker, loaded, events)
        self.assertTrue(results)
        # A callback may only fail on a field the site lacks (the sandbox has no "smart cut"
        # fields, for one); the worker, the event and shotgun_api3 must never be the cause.
        for entries in results.values():
            for entry in entries:
                if not entry["ok"]:
                    self.assertRegex(entry["error"], r"^shotgun_api3\.shotgun\.Fault: .* doesn't exist$")
        # sharedStateA/B/C: three callbacks sharing a counter (module globals, args, callable
        # objects) log "Sequential #n - Rotating #r"; the rotating one restarts per event.
        for plugin in ("sharedStateA", "sharedStateB", "sharedStateC"):
            counters = [
                m["message"]
                for m in worker.logs
                if m["logger"].startswith("plugin.%s." % plugin) and "Sequential" in m["message"]
            ]
            expected = [
                "Sequential #%d - Rotating #%d" % (i, i % 3) for i in range(3 * len(events))
            ]
            self.assertEqual(counters, expected, plugin)
        self.assertEqual(len(worker.logs_of(plugin="logArgs")), len(events))


if __name__ == "__main__":
    unittest.main()
