"""The worker with no shotgun_api3 installed: plugins get the stand-in, as `sg` and on import."""

import datetime
import os
import subprocess
import sys
import unittest

import standin_support as support

os.environ.setdefault(
    "SGEVENTD_PYTHON_WORKER",
    os.path.join(os.path.dirname(support.SGEVENTD), "sgeventd-python-worker"),
)
sys.path.insert(0, os.path.join(support.ROOT, "python", "tests"))
from harness import WorkerTestCase  # noqa: E402

PLUGIN = """
import shotgun_api3

def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", onShot, {"Shotgun_Shot_New": None})

def onShot(sg, logger, event, args):
    shot = sg.find_one("Shot", [["id", "is", event["entity"]["id"]]], ["code", "created_at"])
    sg.update("Shot", shot["id"], {"description": "seen by %d" % event["id"]})
    logger.info("%s stand-in=%s %s aware=%s", type(sg).__name__,
                getattr(shotgun_api3, "SGEVENTD_STANDIN", False), shot["code"],
                shot["created_at"].tzinfo is not None)
"""


def wire(value):
    """An event as read through shotgun_api3, back in the site's JSON form."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


class WorkerStandInTest(WorkerTestCase):
    def setUp(self):
        WorkerTestCase.setUp(self)
        reason = support.missing()
        if reason:
            self.skipTest(reason)
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        installed = subprocess.check_output(
            [sys.executable, "-c", "import importlib.util as u; print(bool(u.find_spec('shotgun_api3')))"],
            env=env,
        ).decode().strip()
        if installed == "True":
            self.skipTest("a real shotgun_api3 is installed for %s" % sys.executable)
        self.api = support.import_standin()
        self.site = support.Sandbox()
        self.addCleanup(self.site.stop)

    def test_a_plugin_runs_on_the_stand_in(self):
        path = self.write_plugin("onshot", PLUGIN)
        worker = self.start(
            env={"SGEVENTD_STANDIN_DIR": support.STANDIN_DIR},
            site={"url": self.site.url, "proxy": "", "use_session_uuid": True},
            config={"daemon": {"logging": "20"}},
            fake_api=False,
        )
        loaded = worker.load(path)
        self.assertEqual(loaded["type"], "loaded", loaded)

        sg = self.api.Shotgun(self.site.url, "sandbox", "sandbox-key")
        self.addCleanup(sg.close)
        shot = sg.create("Shot", {"code": "sh100"})
        (event,) = sg.find(
            "EventLogEntry",
            [["event_type", "is", "Shotgun_Shot_New"]],
            ["event_type", "attribute_name", "meta", "entity", "user", "project",
             "session_uuid", "created_at"],
        )
        self.assertOk(worker.run_event(wire(event), [("onshot", 0)]))
        self.assertEqual(
            self.messages(worker, "plugin.onshot.onShot"),
            ["Shotgun stand-in=True sh100 aware=True"],
        )
        self.assertEqual(
            sg.find_one("Shot", [["id", "is", shot["id"]]], ["description"])["description"],
            "seen by %d" % event["id"],
        )


if __name__ == "__main__":
    unittest.main()
