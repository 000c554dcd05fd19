"""Python plugins under the real daemon: shotgunEvents-style plugins (tests/daemon/python_plugins)
run in Python workers, fed by sgeventd polling a real sandbox site over loopback.

Each plugin records what it saw in JSON lines ($RECORD_DIR/<plugin>.jsonl); the tests make
changes on the site through shotgun_api3 (sgeventd's stand-in from the build tree unless the
real package is installed) and compare what the plugins saw with the site's event log.
"""

import json
import os
import re
import signal
import time
import unittest
import uuid

from harness import DaemonTestCase, wait_for
from python_harness import SmtpSink, PythonDaemon, site_client

SCRIPT = ("sandbox", "sandbox-key")


class PythonPluginTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.session = str(uuid.uuid4())
        self.sg = site_client(self.site.url, self.session)
        self.project = self.sg.create("Project", {"name": "pyplugins"})

    def pydaemon(self, plugins=(), name="d", **kwargs):
        d = PythonDaemon(os.path.join(self.tmp, name), self.site.url, plugins, **kwargs)
        self.daemons.append(d)
        return d

    def events_after(self, after_id):
        return self.sg.find("EventLogEntry", [["id", "greater_than", after_id]],
                            ["event_type", "attribute_name", "meta", "session_uuid", "user"],
                            order=[{"field_name": "id", "direction": "asc"}])

    def new_shot(self, code="sh010"):
        return self.sg.create("Shot", {"code": code, "project": self.project})

    def describe(self, shot, *values):
        """One description change per value, in one transaction; returns their event ids."""
        before = self.site.last_id()
        self.sg.batch([{"request_type": "update", "entity_type": "Shot", "entity_id": shot["id"],
                        "data": {"description": v}} for v in values])
        return [e["id"] for e in self.events_after(before) if e["attribute_name"] == "description"]

    def wait_ids(self, d, plugin, ids, what=None, **where):
        wait_for(lambda: set(ids) <= set(d.ids(plugin, **where)),
                 what=what or "%s to record %s" % (plugin, ids))


class MatchEventsAndState(PythonPluginTestCase):
    def test_matchEvents_forms_select_events_as_shotgunEvents_does(self):
        d = self.pydaemon(["match_forms"])
        d.start()
        start = self.site.last_id()
        shot = self.new_shot()
        self.sg.update("Shot", shot["id"], {"sg_status_list": "ip", "description": "new"})
        self.sg.update("Shot", shot["id"], {"code": "sh010b"})
        asset = self.sg.create("Asset", {"code": "chair", "project": self.project})
        self.sg.update("Asset", asset["id"], {"code": "chair2"})
        events = self.events_after(start)
        self.wait_ids(d, "match_forms", [e["id"] for e in events], cb="everything")

        def expected(rule):
            return [e["id"] for e in events if rule(e["event_type"], e["attribute_name"])]

        rules = {
            "starAny": lambda t, a: True,
            "starStatus": lambda t, a: a == "sg_status_list",
            "listed": lambda t, a: t == "Shotgun_Shot_Change" and a in ("sg_status_list", "code"),
            # substring of "code,description": code and description, not project/sg_status_list
            "plainString": lambda t, a: t == "Shotgun_Shot_Change" and bool(a)
                                        and a in "code,description",
            "byType": lambda t, a: t == "Shotgun_Shot_New" or t == "Shotgun_Asset_Change",
            "everything": lambda t, a: True,
        }
        d.stop()
        for cb, rule in rules.items():
            self.assertEqual(d.ids("match_forms", cb=cb), expected(rule), cb)
        self.assertTrue(expected(rules["plainString"]))
        self.assertNotEqual(expected(rules["listed"]), expected(rules["plainString"]))

    def test_shared_state_through_globals_and_args_and_callable_objects(self):
        d = self.pydaemon(["shared_state", "callables"])
        d.start()
        start = self.site.last_id()
        shot = self.new_shot()
        self.describe(shot, "a", "b", "c")
        events = self.events_after(start)
        ids = [e["id"] for e in events]
        self.wait_ids(d, "shared_state", ids)
        self.wait_ids(d, "callables", ids, label="all")
        d.stop()
        records = d.py_records("shared_state")
        self.assertEqual([r["id"] for r in records], ids)
        for n, r in enumerate(records, 1):
            # `report` runs after `count` on the same event and sees both of its changes.
            self.assertEqual((r["calls"], r["seen"], r["last_seen"]), (n, n, r["id"]))

        calls = d.py_records("callables")
        changes = [e["id"] for e in events if e["event_type"] == "Shotgun_Shot_Change"]
        for label, expected in (("changes", changes), ("all", ids)):
            mine = [r for r in calls if r["label"] == label]
            self.assertEqual([r["id"] for r in mine], expected, label)
            self.assertEqual([r["calls"] for r in mine], list(range(1, len(expected) + 1)))
            loggers = {r["logger"] for r in mine}
            self.assertEqual(len(loggers), 1)
            self.assertRegex(loggers.pop(), r"^plugin\.callables\.Tally_0x[0-9a-f]+$")
        self.assertEqual({r["args"] is None for r in calls if r["label"] == "all"}, {True})
        self.assertEqual({r["args"]["kind"] for r in calls if r["label"] == "changes"}, {"change"})


class LoggingAndEmail(PythonPluginTestCase):
    def test_logger_levels_names_print_and_setEmails(self):
        smtp = SmtpSink()
        self.addCleanup(smtp.stop)
        emails = ("[emails]\nenabled = True\nserver = 127.0.0.1\nport = %d\nfrom = d@x.example\n"
                  "to = default@studio.example\nsubject = [sgeventd]\n" % smtp.port)
        d = self.pydaemon(["chatty", "verbose", "mail_default", "mail_none"], extra=emails)
        d.start()
        shot = self.new_shot()
        [event] = self.describe(shot, "talk")
        line = r"^\S+ \S+ - %s - %s - %s$"
        wait_for(lambda: re.search(line % (r"plugin\.chatty", "INFO", "printed-%d" % event),
                                   d.plugin_log("chatty"), re.M), what="chatty's print")
        wait_for(lambda: "debug-%d" % event in d.plugin_log("verbose"), what="verbose's debug")
        log = d.plugin_log("chatty")
        self.assertRegex(log, re.compile(line % (r"plugin\.chatty", "INFO",
                                                 r"chatty registers as plugin\.chatty"), re.M))
        for level in ("INFO", "WARNING", "ERROR", "CRITICAL"):
            self.assertRegex(log, re.compile(line % (r"plugin\.chatty\.talk", level,
                                                     "%s-%d" % (level.lower(), event)), re.M))
        self.assertNotIn("debug-%d" % event, log)  # below [daemon] logging = 20
        self.assertRegex(d.plugin_log("verbose"),
                         re.compile(line % (r"plugin\.verbose\.talk", "DEBUG", "debug-%d" % event),
                                    re.M))

        def mail_to(rcpts, text):
            return [m for m in smtp.received() if m[0] == sorted(rcpts) and text in m[1]]

        wait_for(lambda: mail_to(["ops@studio.example", "td@studio.example"], "error-%d" % event),
                 what="chatty's error mail to its own recipients")
        wait_for(lambda: mail_to(["default@studio.example"], "mail_default-error-%d" % event),
                 what="mail_default's error mail to the config's recipients")
        d.stop()  # pending digests are sent at shutdown
        self.assertIn("mail_none-error-%d" % event, d.plugin_log("mail_none"))
        self.assertFalse([m for m in smtp.received() if "mail_none" in m[1]])
        self.assertFalse([m for m in smtp.received()
                          if "chatty" in m[1] and "default@studio.example" in m[0]])


    def test_json_log_lines_name_the_event_a_callback_logged_for(self):
        d = self.pydaemon(["chatty"], daemon_keys={"log_json": "on"})
        d.start()
        shot = self.new_shot()
        [event] = self.describe(shot, "talk")
        stdout = os.path.join(d.folder, "stdout.1")

        def records():
            with open(stdout) as f:
                return [json.loads(line) for line in f if line.startswith("{")]
        wait_for(lambda: any(r["message"] == "warning-%d" % event for r in records()),
                 what="chatty's warning as a JSON line")
        by_message = {r["message"]: r for r in records()}
        for message in ("warning-%d" % event, "printed-%d" % event):
            self.assertEqual(by_message[message].get("event_id"), event, by_message[message])
            self.assertEqual(by_message[message]["plugin"], "chatty")
        registered = by_message["chatty registers as plugin.chatty"]
        self.assertNotIn("event_id", registered, "not logged for an event")
        self.assertEqual(d.stop(), 0)


class Failures(PythonPluginTestCase):
    def _deactivate_fragile(self):
        d = self.pydaemon(["fragile", "steady"])
        d.start()
        shot = self.new_shot()
        ids = self.describe(shot, "v1", "v2", "boom", "v4", "v5")
        wait_for(lambda: re.search(r"Plugin fragile deactivated .*fragile refuses 'boom'",
                                   d.plugin_log("fragile")), what="the deactivation line")
        more = self.describe(shot, "v6")
        self.wait_ids(d, "steady", ids + more)
        self.assertIn("RuntimeError: fragile refuses 'boom'", d.plugin_log("fragile"))
        self.assertEqual(d.plugin_status("fragile")[0], "deactivated")
        return d, shot, ids, more

    def test_stopOnError_true_deactivates_until_the_file_changes_then_redelivers(self):
        d, shot, (ok1, ok2, boom, after1, after2), more = self._deactivate_fragile()
        self.assertEqual(d.ids("fragile", fail_on="boom")[:2], [ok1, ok2])
        d.edit("fragile", 'FAIL_ON = "boom"', 'FAIL_ON = "never"')
        # Back with its new code, from the event that failed on.
        self.wait_ids(d, "fragile", [boom, after1, after2] + more, fail_on="never")
        self.assertIn("Plugin fragile reactivated", d.plugin_log("fragile"))
        later = self.describe(shot, "v7")
        self.wait_ids(d, "fragile", later)
        d.stop()
        self.assertEqual(d.ids("fragile", fail_on="never"), [boom, after1, after2] + more + later)
        self.assertEqual(d.plugin_status("fragile")[0], "active")

    # shotgunEvents runs nothing of a plugin after its stopOnError failure. The daemon used to
    # pipeline up to 8 events to the worker, which keeps no deactivation state
    # (docs/plugin-protocol.md), so the events sent after the failing one ran the deactivated
    # plugin (and again after the reactivation); it now sends such workers one event at a time.
    def test_stopOnError_true_runs_nothing_after_the_failing_event(self):
        d, shot, (ok1, ok2, boom, after1, after2), more = self._deactivate_fragile()
        d.stop()
        self.assertEqual(d.ids("fragile"), [ok1, ok2])

    def test_a_replay_that_fails_does_not_stop_a_stopOnError_plugin(self):
        from test_admin import admin_url
        from test_control import call, plugin_status
        d = self.pydaemon(["fragile"])
        d.start()
        url = admin_url(d)
        shot = self.new_shot()
        v1, v2 = self.describe(shot, "v1", "v2")
        self.wait_ids(d, "fragile", [v1, v2])
        code, answer = call(url + "/replay", body={"ids": [v1], "plugin": "fragile"})
        self.assertEqual(code, 202, answer)
        wait_for(lambda: d.ids("fragile", replay="replay") == [v1], what="the replay, marked")
        # Now v2 fails; replayed, it fails in the worker, and the plugin runs on regardless.
        d.edit("fragile", 'FAIL_ON = "boom"', 'FAIL_ON = "v2"')
        wait_for(lambda: "Loaded" in d.plugin_log("fragile")
                 and plugin_status(url, "fragile").get("state") == "active"
                 and d.plugin_log("fragile").count("Loaded") >= 2, what="the edited plugin")
        self.assertEqual(call(url + "/replay", body={"ids": [v2]})[0], 202)
        wait_for(lambda: "Replay of event %d failed" % v2 in d.plugin_log("fragile"),
                 what="the failed replay")
        v3, = self.describe(shot, "v3")
        self.wait_ids(d, "fragile", [v3], fail_on="v2", replay=None)
        self.assertEqual(plugin_status(url, "fragile")["state"], "active")
        self.assertEqual(d.dead_letters(), [])
        d.stop()
        self.assertEqual(d.ids("fragile", replay=None), [v1, v2, v3])

    def test_stopOnError_false_moves_on_and_stores_a_dead_letter(self):
        d = self.pydaemon(["lenient", "steady"])
        d.start()
        shot = self.new_shot()
        good1, bad1, good2, bad2, good3 = self.describe(shot, "g1", "bad1", "g2", "bad2", "g3")
        self.wait_ids(d, "lenient", [good3])
        wait_for(lambda: len(d.dead_letters()) >= 2, what="two dead letters")
        d.stop()
        self.assertEqual(d.ids("lenient"), [good1, good2, good3])
        letters = d.dead_letters()
        self.assertEqual([(p, cb, e) for p, cb, e, _ in letters],
                         [("lenient", "handle", bad1), ("lenient", "handle", bad2)])
        self.assertIn("ValueError: lenient cannot take 'bad1'", letters[0][3])
        self.assertEqual(d.plugin_status("lenient")[0], "active")

    def test_a_plugins_own_script_key_is_masked_in_everything_kept(self):
        own = "Keyed-Plugin-0wn-Key"
        d = self.pydaemon(["steady"])
        d.install("keyed", "def registerCallbacks(reg):\n"
                           "    reg.registerCallback('keyed_script', %r, cb, stopOnError=False)\n"
                           "def cb(sg, logger, event, args):\n"
                           "    logger.warning('logged with %%s', %r)\n"
                           "    print('printed ' + %r)\n"
                           "    raise ValueError('refused with ' + %r)\n" % ((own,) * 4))
        d.start()
        [event] = self.describe(self.new_shot(), "k1")
        wait_for(lambda: d.dead_letters(), what="the dead letter")
        self.wait_ids(d, "steady", [event])
        status_file = d.pid_file + ".status"
        wait_for(lambda: os.path.exists(status_file), what="the status file")
        with open(status_file) as f:
            kept = {"status file": f.read()}
        kept["status --json"] = d.cli("status", "--json").stdout
        d.stop()
        kept["dead letter"] = d.dead_letters()[0][3]
        kept["plugin log"] = d.plugin_log("keyed")
        kept["daemon log"] = d.log()
        self.assertIn("refused with ********", kept["dead letter"])
        for text in ("logged with ********", "printed ********", "refused with ********"):
            self.assertIn(text, kept["plugin log"])
        for where, text in kept.items():
            self.assertNotIn(own, text, where)

    def test_a_syntax_error_leaves_the_plugin_inactive_until_fixed(self):
        d = self.pydaemon(["steady"])
        d.install("broken", "def registerCallbacks(reg)\n    pass\n")
        d.start()
        wait_for(lambda: "Could not load" in d.plugin_log("broken"), what="the load failure")
        self.assertIn("SyntaxError", d.plugin_log("broken"))
        shot = self.new_shot()
        first = self.describe(shot, "x1", "x2")
        self.wait_ids(d, "steady", first)
        fixed = ("import json, os\n"
                 "def registerCallbacks(reg):\n"
                 "    reg.registerCallback('sandbox', 'sandbox-key', cb)\n"
                 "def cb(sg, logger, event, args):\n"
                 "    with open(os.path.join(os.environ['RECORD_DIR'], 'broken.jsonl'), 'a') as f:\n"
                 "        f.write(json.dumps({'id': event['id']}) + '\\n')\n")
        d.install("broken", fixed)
        wait_for(lambda: "Loaded %s" % d.plugin_path("broken") in d.plugin_log("broken"),
                 what="the fixed plugin to load")
        later = self.describe(shot, "x3")
        self.wait_ids(d, "broken", later)
        self.wait_ids(d, "steady", later)
        d.stop()
        self.assertEqual(d.ids("steady")[-3:], first + later)

    def test_a_crashing_worker_is_restarted_and_the_others_never_notice(self):
        d = self.pydaemon(["crasher", "steady"])
        d.start()
        shot = self.new_shot()
        start = self.site.last_id()
        ids = self.describe(shot, "a", "crash1", "b", "crash2", "c")
        all_ids = [e["id"] for e in self.events_after(start)]
        self.wait_ids(d, "crasher", ids)
        self.wait_ids(d, "steady", all_ids)
        d.stop()
        received = d.ids("crasher")
        self.assertEqual(set(received), set(ids))
        firsts = sorted(set(received), key=received.index)
        self.assertEqual(firsts, ids, "first deliveries in id order")
        # A crash replays only what had no answer yet: at most the events handled just before
        # it (their results held back to be written together die with the process).
        self.assertLessEqual(len(received) - len(ids), 2 * 3)
        self.assertGreaterEqual(len({r["pid"] for r in d.py_records("crasher")}), 2)
        self.assertIn("The worker stopped", d.plugin_log("crasher"))
        steady = d.py_records("steady")
        self.assertEqual([r["id"] for r in steady][-len(all_ids):], all_ids)
        self.assertEqual(len({r["pid"] for r in steady}), 1)
        self.assertNotIn("The worker stopped", d.plugin_log("steady"))

    def test_a_callback_past_the_memory_limit_gets_a_fresh_worker(self):
        # worker_memory_limit is a hard cap (RLIMIT_DATA): the 1 GiB allocation fails at once
        # with MemoryError (no RSS sampling could catch it in time); the worker answers, then
        # exits for a fresh process, and the events after it are handled there.
        d = self.pydaemon(["hog"], daemon_keys={"worker_memory_limit": "200"})
        d.start()
        shot = self.new_shot()
        before, hog, after = self.describe(shot, "before", "hog", "after")
        self.wait_ids(d, "hog", [before, after])
        wait_for(lambda: d.dead_letters(), what="the dead letter of the event that hogged")
        d.stop()
        letters = d.dead_letters()
        self.assertEqual([(p, e) for p, _, e, _ in letters], [("hog", hog)])
        self.assertIn("MemoryError", letters[0][3])
        self.assertIn("ran out of memory", d.plugin_log("hog"))
        pids = {r["id"]: r["pid"] for r in d.py_records("hog")}
        self.assertNotEqual(pids[before], pids[after], "a fresh worker after the MemoryError")
        self.assertEqual(d.plugin_status("hog")[0], "active")


class Reload(PythonPluginTestCase):
    def test_a_sighup_storm_leaves_healthy_plugins_active(self):
        d = self.pydaemon(["steady", "lenient"])
        d.start()
        shot = self.new_shot()
        first = self.describe(shot, "s1", "s2")
        # Bursts of SIGHUP, each reload cutting the previous one's workers short (mid-handshake
        # or mid-load, as a Python worker takes a while to start): none of those ends is a
        # failure of the plugin, and the last reload leaves both running.
        for _ in range(3):
            for _ in range(50):
                d.proc.send_signal(signal.SIGHUP)
                time.sleep(0.004)
            time.sleep(0.2)
        later = self.describe(shot, "s3", "s4")
        self.wait_ids(d, "steady", first + later)
        self.wait_ids(d, "lenient", first + later)
        wait_for(lambda: {n: d.plugin_status(n)[0] for n in ("steady", "lenient")}
                 == {"steady": "active", "lenient": "active"}, what="both plugins active")
        wait_for(lambda: {p["name"]: p["worker"] for p in d.status()[1]["plugins"]}
                 == {"steady": "running", "lenient": "running"}, what="both workers running")
        d.stop()
        # Each worker a reload stopped said bye: no end was a failure (before, a worker stopped
        # before it answered hello or load ended with "unexpected hello message").
        self.assertEqual(re.findall(r"Worker .* ended: .*", d.log()), [])
        self.assertNotIn("quarantined", d.log())

    def test_an_edited_plugin_is_reloaded_and_handles_the_next_events(self):
        d = self.pydaemon(["versioned"])
        d.start()
        shot = self.new_shot()
        v1 = self.describe(shot, "one")
        self.wait_ids(d, "versioned", v1, version=1)
        d.edit("versioned", "VERSION = 1", "VERSION = 2")
        wait_for(lambda: d.plugin_log("versioned").count("Loaded ") >= 2, what="the reload")
        v2 = self.describe(shot, "two")
        self.wait_ids(d, "versioned", v2, version=2)
        d.stop()
        records = d.py_records("versioned")
        self.assertEqual(len(records), len({r["id"] for r in records}), "duplicates")
        self.assertEqual({r["version"] for r in records if r["id"] in v2}, {2})


class SiteAccess(PythonPluginTestCase):
    def test_a_plugin_with_its_own_shotgun_connection(self):
        d = self.pydaemon(["own_connection"])
        d.start()
        start = self.site.last_id()
        self.new_shot("sh_own")
        [new] = [e["id"] for e in self.events_after(start) if e["event_type"] == "Shotgun_Shot_New"]
        self.wait_ids(d, "own_connection", [new])
        d.stop()
        [r] = d.py_records("own_connection")
        self.assertEqual(r["code"], "sh_own")
        self.assertTrue(r["created_at_aware"] and r["event_created_at_aware"])
        self.assertTrue(r["same_class"], r["sg_class"])
        # No shotgun_api3 is installed for this interpreter: the stand-in serves the import.
        try:
            import shotgun_api3  # noqa: F401
            installed = not getattr(shotgun_api3, "SGEVENTD_STANDIN", False)
        except ImportError:
            installed = False
        self.assertEqual(r["standin"], not installed)

    def test_a_plugin_writes_through_sg_and_sees_its_own_event_with_the_session_uuid(self):
        d = self.pydaemon(["echo_writer"])
        d.start()
        shot = self.new_shot()
        [ping] = self.describe(shot, "ping")
        wait_for(lambda: [r for r in d.py_records("echo_writer")
                          if r["kind"] == "echo" and r["new_value"] == "ip"],
                 what="the event of the plugin's own write")
        d.stop()
        records = d.py_records("echo_writer")
        self.assertEqual([r["id"] for r in records if r["kind"] == "ping"], [ping])
        echo = [r for r in records if r["kind"] == "echo" and r["new_value"] == "ip"]
        self.assertEqual(len(echo), 1)
        self.assertGreater(echo[0]["id"], ping)
        self.assertEqual(echo[0]["session_uuid"], self.session)
        self.assertEqual(echo[0]["user"]["type"], "ApiUser")

    def test_a_shotgun_api3_on_the_python_path_wins_over_the_stand_in(self):
        fake = os.path.join(self.tmp, "fake", "shotgun_api3")
        os.makedirs(fake)
        with open(os.path.join(fake, "__init__.py"), "w") as f:
            f.write("FAKE = True\n"
                    "class Shotgun(object):\n"
                    "    def __init__(self, base_url, script_name=None, api_key=None, **kw):\n"
                    "        self.base_url = base_url\n"
                    "    def set_session_uuid(self, value):\n"
                    "        self.session_uuid = value\n")
        d = self.pydaemon(python={"path": os.path.dirname(fake)})
        d.install("which_api", "import json, os\nimport shotgun_api3\n"
                  "def registerCallbacks(reg):\n"
                  "    reg.registerCallback('sandbox', 'sandbox-key', cb)\n"
                  "def cb(sg, logger, event, args):\n"
                  "    with open(os.path.join(os.environ['RECORD_DIR'], 'which_api.jsonl'), 'a') as f:\n"
                  "        f.write(json.dumps({'id': event['id'], 'fake': getattr(shotgun_api3, 'FAKE', False),\n"
                  "                            'sg': type(sg).__module__, 'url': sg.base_url}) + '\\n')\n")
        d.start()
        shot = self.new_shot()
        ids = self.describe(shot, "x")
        self.wait_ids(d, "which_api", ids)
        d.stop()
        r = d.py_records("which_api")[-1]
        self.assertEqual((r["fake"], r["sg"], r["url"]), (True, "shotgun_api3", self.site.url))


class WorkerPerPath(PythonPluginTestCase):
    def test_a_folder_runs_in_one_interpreter_in_file_name_order(self):
        d = self.pydaemon(["chain_c_third", "chain_a_first", "chain_b_second"],
                          daemon_keys={"worker_per": "path"})
        d.start()
        start = self.site.last_id()
        shot = self.new_shot()
        self.describe(shot, "p", "q")
        ids = [e["id"] for e in self.events_after(start)]
        wait_for(lambda: set(ids) <= {r["id"] for r in d.py_records("chain")
                                      if r["plugin"] == "c_third"}, what="the chain")
        d.stop()
        records = d.py_records("chain")
        self.assertEqual(len({r["pid"] for r in records}), 1, "one interpreter")
        order = ["a_first", "b_second", "c_third"]
        self.assertEqual([(r["id"], r["plugin"]) for r in records],
                         [(i, p) for i in ids for p in order])
        for r in records:  # one event dict passes through the folder's plugins
            self.assertEqual(r["seen_before"], order[:order.index(r["plugin"])])


class Migration(PythonPluginTestCase):
    def test_a_shotgunEvents_state_file_is_imported_and_plugins_resume_after_it(self):
        import datetime
        import pickle

        shot = self.new_shot()
        handled = self.describe(shot, "done1", "done2")  # what shotgunEvents had processed
        missed = self.describe(shot, "while-switching")  # written between the two daemons
        d = self.pydaemon(["steady"])
        expiry = datetime.datetime.now() + datetime.timedelta(minutes=5)
        with open(d.state_file, "wb") as f:  # the original's format and pickle protocol
            pickle.dump({d.plugin_dir: {"steady": (handled[-1], {handled[-1] + 1000: expiry})}},
                        f, protocol=pickle.HIGHEST_PROTOCOL)
        d.start()
        self.assertIn("Imported the shotgunEvents state: 1 plugin(s), 1 gap(s)", d.log())
        self.assertTrue(os.path.exists(d.state_file + ".legacy"))
        later = self.describe(shot, "after")
        self.wait_ids(d, "steady", later)
        d.stop()
        self.assertEqual(d.ids("steady"), missed + later)


    def test_import_state_takes_a_shotgunEvents_file_on_demand(self):
        import datetime
        import pickle

        shot = self.new_shot()
        d = self.pydaemon(["steady"])
        d.start()  # a first run: steady starts after the newest event
        first = self.describe(shot, "first")
        self.wait_ids(d, "steady", first)
        handled = self.describe(shot, "h1", "h2")  # what shotgunEvents says it had processed
        self.wait_ids(d, "steady", handled)
        legacy = os.path.join(self.tmp, "shotgunEvents.id")
        expiry = datetime.datetime.now() + datetime.timedelta(minutes=5)
        with open(legacy, "wb") as f:
            pickle.dump({d.plugin_dir: {"steady": (first[-1], {first[-1] + 1000: expiry})}},
                        f, protocol=2)
        out = d.cli("import-state", legacy)
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("stop it first", out.stderr)
        d.stop()

        out = d.cli("import-state", "--dry-run", legacy)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("steady.py: after event %d, 1 backlog id(s) as gaps" % first[-1],
                      out.stdout)
        out = d.cli("import-state", legacy)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("imported 1 plugin cursor(s), 1 gap(s)", out.stdout)
        broken = os.path.join(self.tmp, "broken.id")
        with open(broken, "wb") as f:
            f.write(b"\x80\x02}q\x00(")  # a truncated pickle
        out = d.cli("import-state", broken)
        self.assertEqual(out.returncode, 1)
        self.assertIn("broken.id", out.stderr)

        d.start()  # steady goes back to the imported cursor: h1 and h2 come again
        later = self.describe(shot, "after")
        self.wait_ids(d, "steady", later)
        d.stop()
        self.assertEqual(d.ids("steady"), first + handled + handled + later)


def children(pid):
    """{child pid: its command line} of a process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out[int(entry)] = cmdline
    return out


class ForkServer(PythonPluginTestCase):
    def server_pid(self, d):
        found = re.findall(r"Python fork server started \(pid (\d+),", d.log())
        return int(found[-1]) if found else None

    def test_python_workers_fork_from_one_server_and_are_the_daemons_children(self):
        d = self.pydaemon(["steady", "lenient"])
        d.start()
        server = wait_for(lambda: self.server_pid(d), what="the fork server line")
        ids = self.describe(self.new_shot(), "f1")
        self.wait_ids(d, "steady", ids)
        kids = children(d.proc.pid)
        # The server and two workers, all the daemon's own (the workers reparented to it).
        self.assertIn(server, kids)
        self.assertEqual(len([c for c in kids.values() if "--fork-server" in c]), 3, kids)
        d.stop()
        self.assertEqual(d.log().count("Python fork server started"), 1)

    def test_a_killed_server_costs_no_worker_and_comes_back(self):
        d = self.pydaemon(["steady", "fragile"])
        d.start()
        server = wait_for(lambda: self.server_pid(d), what="the fork server line")
        shot = self.new_shot()
        first = self.describe(shot, "k1")
        self.wait_ids(d, "steady", first)
        os.kill(server, signal.SIGKILL)
        more = self.describe(shot, "k2")
        self.wait_ids(d, "steady", more)  # the running workers never noticed
        # A reload needs a new worker: spawned while the server is gone, said once.
        d.edit("fragile", 'FAIL_ON = "boom"', 'FAIL_ON = "never"')
        wait_for(lambda: "WARNING - the Python fork server (" in d.log(),
                 what="the server's loss logged")
        later = self.describe(shot, "k3")
        self.wait_ids(d, "fragile", later, fail_on="never")
        # After the backoff (1 s) a worker start brings a new server: reload until one does.
        wait_for(lambda: d.install("steady") and self.server_pid(d) not in (None, server),
                 interval=1.0, what="a new fork server")
        last = self.describe(shot, "k4")
        self.wait_ids(d, "steady", last)
        d.stop()

    def test_forked_workers_read_the_config_the_server_was_prepared_with(self):
        reader = (
            "import json, os\n"
            "def registerCallbacks(reg):\n"
            "    reg.registerCallback('sandbox', 'sandbox-key', handle)\n"
            "def handle(sg, logger, event, args):\n"
            "    with open(os.path.join(os.environ['RECORD_DIR'], 'reader.jsonl'), 'a') as f:\n"
            "        f.write(json.dumps({'id': event['id'],\n"
            "                            'greeting': logger.config.get('studio', 'greeting')})\n"
            "                + '\\n')\n"
        )
        d = self.pydaemon(extra="[studio]\ngreeting = hello from the config file\n")
        d.install("reader", reader)
        d.start()
        ids = self.describe(self.new_shot(), "c1")
        self.wait_ids(d, "reader", ids, greeting="hello from the config file")
        d.stop()
        self.assertIn("Python fork server started", d.log())
        self.assertNotIn("could not warm up", d.log())
        self.assertRegex(d.plugin_log("reader"),
                         r"Loaded \S+reader\.py with 1 callback\(s\) in [0-9.]+ ms")

    def test_fork_server_off_spawns_each_worker(self):
        d = self.pydaemon(["steady"], python={"fork_server": "off"})
        d.start()
        ids = self.describe(self.new_shot(), "o1")
        self.wait_ids(d, "steady", ids)
        kids = children(d.proc.pid)
        d.stop()
        self.assertNotIn("fork server", d.log())
        self.assertFalse([c for c in kids.values() if "--fork-server" in c], kids)

