"""The shotgunEvents plugin API inside the worker (../shared/docs/original-daemon.md)."""

import os
import re

from harness import FAKE_API, PLUGINS, SITE, WorkerTestCase, make_event


def plugin(name):
    return os.path.join(PLUGINS, name + ".py")


class RegistrationTest(WorkerTestCase):
    def test_function_callbacks_are_named_and_described(self):
        worker = self.start()
        loaded = worker.load(plugin("task_status"))
        self.assertEqual(loaded["type"], "loaded")
        self.assertEqual(loaded["plugin"], "task_status")
        self.assertIs(loaded["emails"], True)
        self.assertEqual(
            loaded["callbacks"],
            [
                {
                    "index": 0,
                    "name": "logStatusChange",
                    "match_events": {"Shotgun_Task_Change": ["sg_status_list"]},
                    "stop_on_error": True,
                    "script_name": "task_status_script",
                },
                {
                    "index": 1,
                    "name": "countEvents",
                    "match_events": None,
                    "stop_on_error": False,
                    "script_name": "task_status_script",
                },
            ],
        )
        # The key leaves the worker only as a secret for the daemon to mask, nowhere else.
        secrets = loaded.pop("secrets")
        self.assertEqual(secrets, ["0123456789abcdef"])
        self.assertNotIn("0123456789abcdef", str(loaded))

    def test_a_failed_load_names_the_keys_registered_before_the_failure(self):
        path = self.write_plugin(
            "half",
            """
            def registerCallbacks(reg):
                cb = lambda sg, logger, event, args: None
                reg.registerCallback("s", "Half-Way-K3y", cb)
                raise RuntimeError("no more")
            """,
        )
        worker = self.start()
        failed = worker.load(path)
        self.assertEqual(failed["type"], "load_failed", failed)
        self.assertEqual(failed["secrets"], ["Half-Way-K3y"])

    def test_callable_objects_and_methods_are_named_as_the_original(self):
        worker = self.start()
        loaded = worker.load(plugin("callable_objects"))
        names = [c["name"] for c in loaded["callbacks"]]
        self.assertRegex(names[0], r"^Counter_0x[0-9a-f]+$")
        self.assertRegex(names[1], r"^Counter_0x[0-9a-f]+$")
        self.assertNotEqual(names[0], names[1])
        self.assertEqual(names[2], "onEvent")
        self.assertEqual(
            [c["stop_on_error"] for c in loaded["callbacks"]], [True, True, False]
        )

    def test_match_events_forms_are_passed_as_json(self):
        path = self.write_plugin(
            "forms",
            """
            def registerCallbacks(reg):
                cb = lambda sg, logger, event, args: None
                reg.registerCallback("s", "k", cb, {"*": None})
                reg.registerCallback("s", "k", cb, {"Shotgun_Shot_Change": ("code", "sg_status_list")})
                reg.registerCallback("s", "k", cb, {"Shotgun_Task_Change": "sg_status_list"})
                reg.registerCallback("s", "k", cb, {"Shotgun_Note_New": None, "Shotgun_Version_Change": ["*"]})
                reg.registerCallback("s", "k", cb, {"Shotgun_Shot_Change": {"code"}})
                reg.registerCallback("s", "k", cb, {})
            """,
        )
        worker = self.start()
        loaded = worker.load(path)
        self.assertEqual(
            [c["match_events"] for c in loaded["callbacks"]],
            [
                {"*": None},
                {"Shotgun_Shot_Change": ["code", "sg_status_list"]},
                {"Shotgun_Task_Change": "sg_status_list"},
                {"Shotgun_Note_New": None, "Shotgun_Version_Change": ["*"]},
                {"Shotgun_Shot_Change": ["code"]},
                {},
            ],
        )
        self.assertEqual([c["name"] for c in loaded["callbacks"]], ["<lambda>"] * 6)

    def test_set_emails_forms(self):
        cases = [
            ("", True),
            ("reg.setEmails(True)", True),
            ("reg.setEmails(False)", False),
            ("reg.setEmails('td@studio.com')", ["td@studio.com"]),
            ("reg.setEmails('a@x.com', 'b@x.com')", ["a@x.com", "b@x.com"]),
            ("reg.setEmails(['a@x.com', 'b@x.com'])", ["a@x.com", "b@x.com"]),
            ("reg.setEmails(('a@x.com',))", ["a@x.com"]),
        ]
        worker = self.start()
        for i, (call, expected) in enumerate(cases):
            path = self.write_plugin(
                "emails%d" % i,
                """
                def registerCallbacks(reg):
                    %s
                    reg.registerCallback("s", "k", lambda *a: None)
                """
                % (call or "pass"),
            )
            loaded = worker.load(path)
            self.assertEqual(loaded["type"], "loaded", loaded)
            self.assertEqual(loaded["emails"], expected, call)

    def test_set_emails_with_a_wrong_type_fails_the_load(self):
        path = self.write_plugin(
            "bad_emails",
            """
            def registerCallbacks(reg):
                reg.setEmails(42)
            """,
        )
        failed = self.start().load(path)
        self.assertEqual(failed["type"], "load_failed")
        self.assertIn("ValueError", failed["error"])

    def test_registrar_offers_only_the_documented_api(self):
        path = self.write_plugin(
            "registrar",
            """
            import logging
            def registerCallbacks(reg):
                assert reg.getLogger() is reg.logger
                assert isinstance(reg.logger, logging.Logger)
                assert reg.logger.name == "plugin.registrar"
                assert reg.logger.config.get("myplugin", "answer") == "42"
                assert reg.logger.config.getShotgunURL() == "https://studio.example.com"
                try:
                    reg._plugin_internals
                except AttributeError:
                    pass
                else:
                    raise AssertionError("private attributes must not be reachable")
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                logger.info("%s", logger.config.get("myplugin", "answer"))
            """,
        )
        worker = self.start(
            config={
                "daemon": {"logging": "20"},
                "shotgun": {"server": "https://studio.example.com"},
                "myplugin": {"answer": "42"},
            }
        )
        self.assertEqual(worker.load(path)["type"], "loaded")
        self.assertOk(worker.run_event(make_event(1), [("registrar", 0)]))
        self.assertEqual(self.messages(worker, "plugin.registrar.cb"), ["42"])

    def test_a_plugin_without_callbacks_loads(self):
        path = self.write_plugin("empty", "def registerCallbacks(reg):\n    pass\n")
        loaded = self.start().load(path)
        self.assertEqual((loaded["type"], loaded["callbacks"]), ("loaded", []))


class LoadFailureTest(WorkerTestCase):
    def test_syntax_error(self):
        path = self.write_plugin("broken", "def registerCallbacks(reg)\n    pass\n")
        failed = self.start().load(path)
        self.assertEqual(failed["type"], "load_failed")
        self.assertEqual(failed["plugin"], "broken")
        self.assertIn("SyntaxError", failed["error"])
        self.assertIn("broken.py, line 1", failed["error"])
        self.assertIn("SyntaxError", failed["traceback"])
        self.assertNotIn("sgeventd_worker", failed["traceback"])

    def test_missing_register_callbacks(self):
        path = self.write_plugin("nothing", "X = 1\n")
        failed = self.start().load(path)
        self.assertEqual(failed["type"], "load_failed")
        self.assertIn("registerCallbacks", failed["error"])

    def test_exception_while_importing(self):
        path = self.write_plugin(
            "import_error", "import no_such_module_for_sgeventd\ndef registerCallbacks(reg): pass\n"
        )
        failed = self.start().load(path)
        self.assertEqual(failed["type"], "load_failed")
        self.assertIn("no_such_module_for_sgeventd", failed["error"])
        self.assertIn('import_error.py", line 1', failed["traceback"])

    def test_exception_while_registering(self):
        path = self.write_plugin(
            "reg_error",
            """
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", "not callable")
            """,
        )
        failed = self.start().load(path)
        self.assertEqual(failed["type"], "load_failed")
        self.assertIn("TypeError", failed["error"])
        self.assertIn("reg_error.py", failed["traceback"])

    def test_missing_file(self):
        failed = self.start().load(os.path.join(self.tmp, "gone.py"))
        self.assertEqual(failed["type"], "load_failed")
        self.assertIn("gone.py", failed["error"])

    def test_sys_exit_while_loading_does_not_kill_the_worker(self):
        path = self.write_plugin("exits", "import sys\nsys.exit(3)\n")
        worker = self.start()
        self.assertEqual(worker.load(path)["type"], "load_failed")
        worker.sync()

    def test_plugin_module_is_not_cached_in_sys_modules(self):
        path = self.write_plugin(
            "uncached",
            """
            import sys
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                logger.info("%s %s", __name__, __name__ in sys.modules)
            """,
        )
        worker = self.start()
        worker.load(path)
        self.assertOk(worker.run_event(make_event(1), [("uncached", 0)]))
        self.assertEqual(self.messages(worker, "plugin.uncached.cb"), ["uncached False"])


class CallbackTest(WorkerTestCase):
    def test_event_shape_args_and_aware_datetimes(self):
        worker = self.start()
        worker.load(plugin("task_status"))
        for i in (1, 2):
            self.assertOk(worker.run_event(make_event(i), [("task_status", 0), ("task_status", 1)]))
        self.assertEqual(
            self.messages(worker, "plugin.task_status.logStatusChange"),
            ["Task 12: wtg -> ip", "Task 12: wtg -> ip"],
        )
        counts = self.messages(worker, "plugin.task_status.countEvents")
        self.assertEqual(len(counts), 2)
        self.assertTrue(counts[1].startswith("seen 2, created "), counts)
        self.assertTrue(counts[1].endswith("aware True"), counts)
        # The debug line of registerCallbacks is below the configured level (20).
        self.assertEqual(self.messages(worker, "plugin.task_status"), [])

    def test_every_datetime_string_is_converted_as_shotgun_api3_does(self):
        path = self.write_plugin(
            "datetimes",
            """
            import datetime
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                def kind(v):
                    if isinstance(v, datetime.datetime):
                        return "aware" if v.utcoffset() is not None else "naive"
                    return type(v).__name__
                meta = event["meta"]
                logger.info("%s %s %s %s %s %s", kind(event["created_at"]), kind(meta["old_value"]),
                            kind(meta["new_value"]), kind(meta["list"][0]), kind(meta["not_a_date"]),
                            kind(meta["bad_day"]))
                utc = event["created_at"].astimezone(datetime.timezone.utc)
                logger.info(utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
            """,
        )
        worker = self.start()
        worker.load(path)
        event = make_event(
            1,
            created_at="2024-07-01T22:30:05Z",
            meta={
                "old_value": "2024-01-02T03:04:05Z",
                "new_value": "2024-01-02T03:04:06Z",
                "list": ["2023-12-31T23:59:59Z"],
                "not_a_date": "2024-01-02T03:04:05",
                "bad_day": "2024-02-30T03:04:05Z",
            },
        )
        self.assertOk(worker.run_event(event, [("datetimes", 0)]))
        self.assertEqual(
            self.messages(worker, "plugin.datetimes.cb"),
            ["aware aware aware aware str str", "2024-07-01T22:30:05Z"],
        )

    def test_shared_state_through_globals(self):
        worker = self.start()
        worker.load(plugin("shared_state_globals"))
        refs = [("shared_state_globals", i) for i in range(3)]
        for i in (100, 101):
            self.assertOk(worker.run_event(make_event(i), refs))
        self.assertEqual(
            self.messages(worker, "plugin.shared_state_globals.secondCallback"),
            ["counter=1 last=100", "counter=12 last=101"],
        )
        self.assertEqual(
            self.messages(worker, "plugin.shared_state_globals.thirdCallback"),
            ["counter=11", "counter=22"],
        )

    def test_shared_state_through_args(self):
        worker = self.start()
        worker.load(plugin("shared_state_args"))
        for i in (7, 8, 9):
            worker.run_event(make_event(i), [("shared_state_args", 0), ("shared_state_args", 1)])
        self.assertEqual(
            self.messages(worker, "plugin.shared_state_args.reportState"),
            ["calls=1 ids=7", "calls=2 ids=7,8", "calls=3 ids=7,8,9"],
        )

    def test_callable_objects_share_state(self):
        worker = self.start()
        loaded = worker.load(plugin("callable_objects"))
        names = [c["name"] for c in loaded["callbacks"]]
        refs = [("callable_objects", i) for i in range(3)]
        self.assertOk(worker.run_event(make_event(1), refs))
        self.assertOk(worker.run_event(make_event(2), refs))
        logged = [
            (m["logger"], m["message"])
            for m in worker.logs
            if m["logger"].startswith("plugin.callable_objects.")
        ]
        self.assertEqual(
            logged,
            [
                ("plugin.callable_objects." + names[0], "sequential=0 rotating=0"),
                ("plugin.callable_objects." + names[1], "sequential=1 rotating=1"),
                ("plugin.callable_objects.onEvent", "method saw 1"),
                ("plugin.callable_objects." + names[0], "sequential=2 rotating=0"),
                ("plugin.callable_objects." + names[1], "sequential=3 rotating=1"),
                ("plugin.callable_objects.onEvent", "method saw 2"),
            ],
        )

    def test_only_the_listed_callbacks_run_in_the_given_order(self):
        worker = self.start()
        worker.load(plugin("task_status"))
        self.assertEqual(
            [r["index"] for r in worker.run_event(make_event(1), [("task_status", 1)])], [1]
        )
        self.assertEqual(self.messages(worker, "plugin.task_status.logStatusChange"), [])

    def test_logger_names_levels_and_print(self):
        worker = self.start()
        worker.load(plugin("log_levels"))
        self.assertOk(worker.run_event(make_event(5), [("log_levels", 0)]))
        worker.sync()
        got = [(m["plugin"], m["logger"], m["level"], m["message"].split("\n")[0]) for m in worker.logs]
        cb = "plugin.log_levels.logEverything"
        self.assertEqual(
            got,
            [
                ("log_levels", "plugin.log_levels", 30, "registering"),
                ("log_levels", cb, 30, "warning 5"),
                ("log_levels", cb, 40, "error 5"),
                ("log_levels", cb, 50, "critical 5"),
                ("log_levels", "studio.tools", 40, "library error 5"),
                ("log_levels", cb, 40, "exception 5"),
                ("log_levels", "plugin.log_levels", 20, "printed 5"),
                ("log_levels", "plugin.log_levels", 20, "two"),
                ("log_levels", "plugin.log_levels", 20, "lines"),
            ],
        )
        exception = [m for m in worker.logs if m["message"].startswith("exception 5")][0]
        self.assertIn("ValueError: handled", exception["message"])
        for m in worker.logs:
            self.assertIsInstance(m["time"], float)
        # What a callback logs or prints names its event; what registerCallbacks logged does not.
        self.assertEqual([m.get("event_id") for m in worker.logs], [None] + [5] * 8)

    def test_log_level_comes_from_the_daemon_config(self):
        worker = self.start(config={"daemon": {"logging": "10"}})
        worker.load(plugin("task_status"))
        self.assertEqual(
            self.messages(worker, "plugin.task_status"), ["Registered 2 callbacks."]
        )


class ErrorTest(WorkerTestCase):
    def test_errors_carry_traceback_and_plugin_locals(self):
        worker = self.start()
        worker.load(plugin("stop_on_error"))
        refs = [("stop_on_error", 1), ("stop_on_error", 2)]
        soft = worker.run_event(make_event(1, meta={"fail": "soft"}), refs)
        self.assertEqual([r["ok"] for r in soft], [False, True])
        self.assertEqual(soft[0]["error"], "KeyError: 'missing_key'")
        self.assertIn('stop_on_error.py", line', soft[0]["traceback"])
        self.assertIn("in failsSoft", soft[0]["traceback"])
        self.assertNotIn("sgeventd_worker", soft[0]["traceback"])
        self.assertIn("'event':", soft[0]["locals"])
        self.assertIsInstance(soft[0]["duration_ms"], float)

    def test_stop_on_error_skips_the_plugins_later_callbacks(self):
        worker = self.start()
        worker.load(plugin("stop_on_error"))
        refs = [("stop_on_error", 0), ("stop_on_error", 1), ("stop_on_error", 2)]
        hard = worker.run_event(make_event(1, meta={"fail": "hard"}), refs)
        self.assertEqual([r["ok"] for r in hard], [False, False, False])
        self.assertEqual(hard[0]["error"], "RuntimeError: hard failure on 1")
        self.assertIn("'shot_name': 'sh010'", hard[0]["locals"])
        self.assertNotIn("skipped", hard[0])
        self.assertTrue(hard[1].get("skipped") and hard[2].get("skipped"))
        self.assertEqual(hard[1]["error"], "skipped: plugin stop_on_error stopped after an error")
        # The plugin stays stopped in this worker (protocol feature stop_on_error; the daemon
        # restarts the worker to reactivate it): see test_stop_on_error.py.
        later = worker.run_event(make_event(2, meta={}), refs)
        self.assertEqual([r.get("skipped") for r in later], [True, True, True])
        self.assertEqual(self.messages(worker, "plugin.stop_on_error.afterwards"), [])

    def test_sys_exit_in_a_callback_is_an_error(self):
        path = self.write_plugin(
            "quitter",
            """
            import sys
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                sys.exit(1)
            """,
        )
        worker = self.start()
        worker.load(path)
        results = worker.run_event(make_event(1), [("quitter", 0)])
        self.assertEqual(results[0]["error"], "SystemExit: 1")
        worker.sync()


class ShotgunConnectionTest(WorkerTestCase):
    def fake_config(self):
        return {"daemon": {"logging": "20"}, "python": {"path": FAKE_API}}

    def test_real_package_is_preferred_and_used_per_callback(self):
        worker = self.start(
            config=self.fake_config(),
            site={"url": "https://studio.example.com", "proxy": "proxy:3128", "use_session_uuid": True},
        )
        loaded = worker.load(plugin("uses_sg"))
        self.assertEqual(loaded["type"], "loaded", loaded)
        self.assertEqual(
            [c["script_name"] for c in loaded["callbacks"]], ["uses_sg_script", "other_script"]
        )
        event = make_event(1)
        self.assertOk(worker.run_event(event, [("uses_sg", 0), ("uses_sg", 1)]))
        self.assertEqual(
            self.messages(worker, "plugin.uses_sg.touchEntity"),
            [
                "url=https://studio.example.com script=uses_sg_script key=uses_sg_key "
                "proxy=proxy:3128 session=%s calls=1" % event["session_uuid"],
                "url=https://studio.example.com script=other_script key=other_key "
                "proxy=proxy:3128 session=%s calls=1" % event["session_uuid"],
            ],
        )
        # No warning about a missing package.
        self.assertEqual([m for m in worker.logs if m["level"] >= 30], [])

    def test_session_uuid_is_left_alone_when_off(self):
        site = dict(SITE, use_session_uuid=False)
        worker = self.start(config=self.fake_config(), site=site)
        worker.load(plugin("uses_sg"))
        self.assertOk(worker.run_event(make_event(1), [("uses_sg", 0)]))
        self.assertIn("session=None", self.messages(worker, "plugin.uses_sg.touchEntity")[0])

    def test_without_any_shotgun_api3_callbacks_run_and_sg_says_why(self):
        path = self.write_plugin(
            "no_api",
            """
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", quiet)
                reg.registerCallback("s", "k", usesSg)
            def quiet(sg, logger, event, args):
                logger.info("ran")
            def usesSg(sg, logger, event, args):
                sg.find_one("Shot", [])
            """,
        )
        worker = self.start(
            env={"SGEVENTD_STANDIN_DIR": os.path.join(self.tmp, "none")}, fake_api=False
        )
        loaded = worker.load(path)
        self.assertEqual(loaded["type"], "loaded")
        warnings = [m for m in worker.logs if m["level"] == 30]
        self.assertEqual(len(warnings), 1)
        self.assertIn("shotgun_api3 could not be imported", warnings[0]["message"])
        results = worker.run_event(make_event(1), [("no_api", 0), ("no_api", 1)])
        self.assertTrue(results[0]["ok"])
        self.assertFalse(results[1]["ok"])
        self.assertIn("ShotgunUnavailableError", results[1]["error"])
        self.assertIn("sg.find_one", results[1]["error"])

    def test_a_plugin_importing_shotgun_api3_gets_the_same_package(self):
        path = self.write_plugin(
            "own_connection",
            """
            import shotgun_api3
            def registerCallbacks(reg):
                sg = shotgun_api3.Shotgun("https://other.example.com", "mine", "key", connect=False)
                reg.logger.info("fake=%s url=%s", getattr(shotgun_api3, "FAKE", False), sg.base_url)
                reg.registerCallback("s", "k", lambda *a: None)
            """,
        )
        worker = self.start(config=self.fake_config())
        self.assertEqual(worker.load(path)["type"], "loaded")
        self.assertEqual(
            self.messages(worker, "plugin.own_connection"),
            ["fake=True url=https://other.example.com"],
        )


class WorkerPerPathTest(WorkerTestCase):
    def test_several_plugins_in_one_interpreter_in_the_given_order(self):
        folder = os.path.join(self.tmp, "folder")
        source = """
            import os, sys
            HELPER = "%s"
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", first)
                reg.registerCallback("s", "k", second)
            def first(sg, logger, event, args):
                event.setdefault("trail", []).append(HELPER + ".first")
            def second(sg, logger, event, args):
                event["trail"].append(HELPER + ".second")
                logger.info(",".join(event["trail"]))
                print(HELPER)
            """
        a = self.write_plugin("a_plugin", source % "a", folder)
        b = self.write_plugin("b_plugin", source % "b", folder)
        worker = self.start(per="path")
        self.assertEqual(worker.load(a)["type"], "loaded")
        self.assertEqual(worker.load(b)["type"], "loaded")
        refs = [("a_plugin", 0), ("a_plugin", 1), ("b_plugin", 0), ("b_plugin", 1)]
        results = worker.run_event(make_event(1), refs)
        self.assertOk(results)
        self.assertEqual([(r["plugin"], r["index"]) for r in results], refs)
        # One event dict for the whole folder, as in shotgunEvents: later plugins see earlier
        # plugins' changes; each plugin keeps its own module globals.
        self.assertEqual(
            self.messages(worker, "plugin.b_plugin.second"),
            ["a.first,a.second,b.first,b.second"],
        )
        self.assertEqual(self.messages(worker, "plugin.a_plugin"), ["a"])
        self.assertEqual(self.messages(worker, "plugin.b_plugin"), ["b"])

    def test_one_failing_plugin_does_not_stop_the_next(self):
        folder = os.path.join(self.tmp, "folder2")
        bad = self.write_plugin("a_bad", "def registerCallbacks(reg):\n  raise ValueError('x')\n", folder)
        worker = self.start(per="path")
        self.assertEqual(worker.load(bad)["type"], "load_failed")
        self.assertEqual(worker.load(plugin("shared_state_args"))["type"], "loaded")
        results = worker.run_event(make_event(1), [("a_bad", 0), ("shared_state_args", 0)])
        self.assertEqual([r["ok"] for r in results], [False, True])


if __name__ == "__main__":
    import unittest

    unittest.main()
