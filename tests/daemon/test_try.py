"""`sgeventd try` against real processes: the plugin in a real worker, its reads through to a
site and its writes held back (checked on a relay that notes every method it is sent), or
applied to a sandbox seeded from a recording."""

import http.server
import json
import os
import sys
import threading
import urllib.request

from harness import DaemonTestCase
from test_authoring_kit import READ_METHODS, api, run

HERE = os.path.dirname(os.path.abspath(__file__))
TRIGGER = os.path.join(HERE, "..", "..", "examples", "testing", "shot_ip_on_task_start.py")


class GuardedSite:
    """A stand-in for a production site: api3 requests are relayed to a sandbox behind it, and
    every method is noted, so a test fails if a write ever reaches it."""

    def __init__(self, backend):
        seen = self.methods = []

        class Relay(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    seen.append(json.loads(body).get("method_name"))
                except ValueError:
                    seen.append("(not json) " + self.path)
                request = urllib.request.Request(backend.url + self.path, data=body,
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=30) as answer:
                    reply = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def writes(self):
        return [m for m in self.methods if m not in READ_METHODS]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def write_plugin(folder, name, body):
    path = os.path.join(folder, name + ".py")
    with open(path, "w") as f:
        f.write(body)
    return path


class Try(DaemonTestCase):
    def setUp(self):
        super().setUp()
        site = self.site
        project = api(site, "create", "Project", '{"name": "Demo"}')
        self.shot = api(site, "create", "Shot", json.dumps(
            {"code": "sh010", "project": {"type": "Project", "id": project["id"]}}))
        self.task = api(site, "create", "Task", json.dumps(
            {"content": "anim", "entity": {"type": "Shot", "id": self.shot["id"]},
             "project": {"type": "Project", "id": project["id"]}}))
        api(site, "update", "Task", str(self.task["id"]), '{"sg_status_list": "ip"}')
        self.case = os.path.join(self.tmp, "case.jsonl")
        run("record", "--out", self.case, "--filter", "entity_type=Task", "--with-entities",
            site=site)

    def shot_status(self):
        return api(self.site, "find_one", "Shot", '[["id", "is", %d]]' % self.shot["id"],
                   "--fields", "sg_status_list")["sg_status_list"]

    def test_against_a_site_reads_go_through_and_writes_never_leave(self):
        guarded = GuardedSite(self.site)
        try:
            env_site = type("S", (), {"url": guarded.url})
            done = run("try", TRIGGER, "--events", self.case, site=env_site)
        finally:
            guarded.close()
        self.assertEqual(guarded.writes(), [], guarded.methods)
        self.assertIn("read", guarded.methods)  # the plugin's find_one calls went to the site
        self.assertIn('update Shot %d: sg_status_list: "wtg" -> "ip"   [not sent]'
                      % self.shot["id"], done.stdout)
        self.assertIn("Task anim started: Shot sh010 to ip", done.stdout)
        self.assertIn("1 write(s) captured, not sent", done.stderr)
        self.assertEqual(self.shot_status(), "wtg")

    def test_allow_writes_sends_them(self):
        guarded = GuardedSite(self.site)
        try:
            env_site = type("S", (), {"url": guarded.url})
            done = run("try", TRIGGER, "--events", self.case, "--allow-writes", site=env_site)
        finally:
            guarded.close()
        self.assertEqual(guarded.writes(), ["update"])
        self.assertNotIn("[not sent]", done.stdout)
        self.assertIn('caused on the site: event %d Shotgun_Shot_Change sg_status_list on Shot %d'
                      % (self.site.last_id(), self.shot["id"]), done.stdout)
        self.assertEqual(self.shot_status(), "ip")

    def test_the_sandbox_is_seeded_from_the_recording_and_shows_what_writes_cause(self):
        done = run("try", TRIGGER, "--events", self.case, "--sandbox", "--json")
        report = json.loads(done.stdout)
        handled = [e for e in report["events"] if e["callbacks"]]
        self.assertEqual([e["event"]["meta"]["new_value"] for e in handled], ["wtg", "ip"])
        started = handled[-1]
        self.assertEqual([w["method"] for w in started["writes"]], ["update"])
        self.assertTrue(started["writes"][0]["sent"])
        self.assertEqual(started["writes"][0]["before"], {"sg_status_list": "wtg"})
        caused = [(e["event_type"], e["attribute_name"], e["meta"]["new_value"])
                  for e in started["caused"]]
        self.assertIn(("Shotgun_Shot_Change", "sg_status_list", "ip"), caused)
        self.assertIn("seeded the sandbox with 3 recorded entities", done.stderr)
        self.assertEqual(self.shot_status(), "wtg")  # the real site was never involved

    def test_a_failing_callback_shows_its_traceback_and_fails_the_run(self):
        plugin = write_plugin(self.tmp, "broken", (
            "def registerCallbacks(reg):\n"
            "    reg.registerCallback('sandbox', 'sandbox-key', cb, None, None)\n"
            "def cb(sg, logger, event, args):\n"
            "    if event['id'] % 2:\n"
            "        raise ValueError('odd event %d' % event['id'])\n"))
        done = run("try", plugin, "--events", self.case, "--sandbox", check=False)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("FAILED callback cb: ValueError: odd event", done.stdout)
        self.assertIn("Traceback", done.stdout)
        self.assertIn("raise ValueError", done.stdout)

    def test_a_plugin_that_does_not_load_and_bad_arguments(self):
        plugin = write_plugin(self.tmp, "typo", "def registerCallbacks(reg):\n    reg.nope()\n")
        done = run("try", plugin, "--events", self.case, "--sandbox", check=False)
        self.assertEqual(done.returncode, 1)
        self.assertIn("did not load", done.stderr)
        self.assertIn("nope", done.stderr)
        done = run("try", TRIGGER, "--sandbox", check=False)
        self.assertEqual(done.returncode, 2)
        self.assertIn("give the events", done.stderr)
        done = run("try", TRIGGER, "--events", self.case, check=False)  # no site
        self.assertEqual(done.returncode, 2)
        self.assertIn("no server", done.stderr)

    def test_ids_and_last_read_from_the_site(self):
        guarded = GuardedSite(self.site)
        try:
            env_site = type("S", (), {"url": guarded.url})
            newest = self.site.last_id()
            done = run("try", TRIGGER, "--last", "1", "--json", site=env_site)
            by_ids = run("try", TRIGGER, "--ids", str(newest), "--json", site=env_site)
        finally:
            guarded.close()
        self.assertEqual(guarded.writes(), [])
        for answer in (done, by_ids):
            events = json.loads(answer.stdout)["events"]
            self.assertEqual([e["event"]["id"] for e in events], [newest])
            self.assertEqual(events[0]["writes"][0]["method"], "update")


if __name__ == "__main__":
    sys.exit("run with python3 -m unittest")
