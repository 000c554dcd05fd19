"""Delivery promises with Python plugins under the real daemon: after kill -9 a plugin gets at
most the event that was running again (completion records), and loop prevention withholds a
plugin's own events from it without breaking chains of plugins."""

import os
import random
import time

from harness import Sandbox, wait_for
from test_python_plugins import PythonPluginTestCase

RECORDER = '''
import json, os, time
RECORDS = os.path.join(os.environ["RECORD_DIR"], "%s.jsonl")
def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle)
def handle(sg, logger, event, args):
    time.sleep(0.002)  # slow enough that every kill lands mid-stream
    with open(RECORDS, "a") as f:
        f.write(json.dumps({"id": event["id"], "pid": os.getpid()}) + "\\n")
'''


class KillNine(PythonPluginTestCase):
    def test_kill_9_replays_at_most_the_running_event_per_plugin(self):
        d = self.pydaemon()
        for name in ("first", "second"):
            d.install(name, RECORDER % name)
        d.start()
        ids = self.site.generate(3000)
        kills = 0
        for _ in range(4):
            wait_for(lambda: len(d.ids("first")) > 0, what="first deliveries")
            time.sleep(random.uniform(0.2, 0.5))
            d.kill9()
            kills += 1
            self.assertLess(len(set(d.ids("second"))), len(ids), "the kill came after the end")
            d.start()
        wait_for(lambda: set(d.ids("first")) >= set(ids) and set(d.ids("second")) >= set(ids),
                 what="every event")
        d.stop()
        for name in ("first", "second"):
            received = d.ids(name)
            self.assertEqual(set(received), set(ids), "lost events")
            duplicates = len(received) - len(set(received))
            self.assertLessEqual(duplicates, kills, "%s: %d replays for %d kills"
                                 % (name, duplicates, kills))
            pids = {r["pid"] for r in d.py_records(name)}
            self.assertGreaterEqual(len(pids), kills, "the workers really were restarted")


class LoopPrevention(PythonPluginTestCase):
    SCRIPTS = "sandbox:sandbox-key,writer_script:writer-key,tester:tester-key"

    def setUp(self):
        super().setUp()
        # A site that knows the writer's script, and a tester script for the test's own writes
        # (which no plugin acts as).
        self.site.stop()
        self.site = Sandbox(["--scripts", self.SCRIPTS])
        import shotgun_api3  # the stand-in or the real package (site_client imported it)
        self.sg = shotgun_api3.Shotgun(self.site.url, script_name="tester", api_key="tester-key")
        self.project = self.sg.create("Project", {"name": "loops"})

    def run_chain(self, mode):
        """A ping, the writer's status change that it causes, then a sentinel: who got what."""
        d = self.pydaemon(["loop_writer", "loop_watcher"], daemon_keys={"loop_prevention": mode})
        d.start()
        shot = self.new_shot()
        [ping] = self.describe(shot, "ping")
        wait_for(lambda: [e for e in self.events_after(ping)
                          if e["attribute_name"] == "sg_status_list"], what="the writer's write")
        [status] = [e["id"] for e in self.events_after(ping)
                    if e["attribute_name"] == "sg_status_list"]
        [sentinel] = self.describe(shot, "sentinel")
        # Each plugin gets its events in id order: once both have the sentinel, the status
        # change came before it or never will.
        for plugin in ("loop_writer", "loop_watcher"):
            self.wait_ids(d, plugin, [sentinel])
        d.stop()
        return ping, status, {p: d.ids(p) for p in ("loop_writer", "loop_watcher")}

    def test_on_withholds_an_event_only_from_the_callback_whose_script_made_it(self):
        ping, status, got = self.run_chain("on")
        self.assertIn(ping, got["loop_writer"])
        self.assertNotIn(status, got["loop_writer"], "the writer was handed its own write")
        self.assertIn(status, got["loop_watcher"], "the chain broke: the watcher missed it")

    def test_daemon_withholds_every_daemon_scripts_event_from_every_plugin(self):
        ping, status, got = self.run_chain("daemon")
        self.assertIn(ping, got["loop_writer"])
        self.assertIn(ping, got["loop_watcher"])
        self.assertNotIn(status, got["loop_writer"])
        self.assertNotIn(status, got["loop_watcher"])

    def test_off_gives_everyone_everything(self):
        ping, status, got = self.run_chain("off")
        self.assertIn(status, got["loop_writer"])
        self.assertIn(status, got["loop_watcher"])

