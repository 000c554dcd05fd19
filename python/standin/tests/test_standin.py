"""The shotgun_api3 stand-in against the sandbox, imported as the worker imports it.

Skips (exit 77 under run_suite.py), saying why, when the sandbox or the stand-in is not built;
the comparisons with the official client skip when its git mirror is missing.
"""

import datetime
import os
import subprocess
import sys
import textwrap
import threading
import time
import unittest

import standin_support as support

_shared = {}


def setUpModule():
    # A zone with DST and a non-zero offset, so that local/UTC mix-ups show.
    _shared["tz"] = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    reason = support.missing()
    if reason:
        _shared["skip"] = reason
        return
    _shared["api"] = support.import_standin()
    _shared["tmp"], _shared["cleanup"] = support.temp_dir()


def tearDownModule():
    if _shared.get("tz") is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = _shared["tz"]
    time.tzset()
    if "cleanup" in _shared:
        _shared["cleanup"]()


class StandInTestCase(unittest.TestCase):
    def setUp(self):
        if "skip" in _shared:
            self.skipTest(_shared["skip"])
        self.api = _shared["api"]
        self.site = support.Sandbox()
        self.addCleanup(self.site.stop)
        self.sg = self.api.Shotgun(self.site.url, "sandbox", "sandbox-key")
        self.addCleanup(self.sg.close)


class ImportTest(StandInTestCase):
    def test_the_stand_in_answers_import_shotgun_api3(self):
        self.assertTrue(self.api.SGEVENTD_STANDIN)
        self.assertEqual(
            os.path.dirname(self.api.__file__),
            os.path.join(support.STANDIN_DIR, "shotgun_api3"),
        )
        self.assertEqual(self.api.__version__, "3.10.0")

    def test_the_real_package_wins_when_it_is_importable(self):
        fake = os.path.join(_shared["tmp"], "real")
        os.makedirs(os.path.join(fake, "shotgun_api3"), exist_ok=True)
        with open(os.path.join(fake, "shotgun_api3", "__init__.py"), "w") as f:
            f.write("REAL = True\n")
        probe = textwrap.dedent(
            """
            import sys
            sys.path.append(%r)
            from sgeventd_worker.connections import install_stand_in
            install_stand_in(%r)
            if len(sys.argv) > 1:
                sys.path.insert(0, sys.argv[1])
            import shotgun_api3
            print("real" if getattr(shotgun_api3, "REAL", False) else
                  "stand-in" if getattr(shotgun_api3, "SGEVENTD_STANDIN", False) else "other")
            """
            % (support.PYTHON_ROOT, support.STANDIN_DIR)
        )
        env = dict(os.environ, PYTHONNOUSERSITE="1")

        def run(*args):
            return subprocess.check_output(
                [sys.executable, "-S", "-c", probe] + list(args), env=env
            ).decode().strip()

        self.assertEqual(run(fake), "real")
        self.assertEqual(run(), "stand-in")


class CallsTest(StandInTestCase):
    def test_create_find_update_delete_revive(self):
        project = self.sg.create("Project", {"name": "Stand-in"})
        self.assertEqual(project, {"type": "Project", "id": project["id"], "name": "Stand-in"})
        shot = self.sg.create(
            "Shot", {"code": "sh010", "project": project, "sg_cut_in": 1001}, ["description"]
        )
        self.assertEqual(shot["type"], "Shot")
        self.assertEqual(shot["sg_cut_in"], 1001)
        self.assertIsNone(shot["description"])

        found = self.sg.find(
            "Shot",
            [["project", "is", project]],
            ["code", "project", "sg_cut_in"],
            order=[{"field_name": "id", "direction": "asc"}],
        )
        self.assertEqual(
            found,
            [
                {
                    "type": "Shot",
                    "id": shot["id"],
                    "code": "sh010",
                    "project": {"type": "Project", "id": project["id"], "name": "Stand-in"},
                    "sg_cut_in": 1001,
                }
            ],
        )
        self.assertEqual(
            self.sg.update("Shot", shot["id"], {"description": "é ✓"}),
            {"type": "Shot", "id": shot["id"], "description": "é ✓"},
        )
        self.assertEqual(
            self.sg.find_one("Shot", [["id", "is", shot["id"]]], ["description"])["description"],
            "é ✓",
        )
        self.assertIs(self.sg.delete("Shot", shot["id"]), True)
        self.assertIsNone(self.sg.find_one("Shot", [["id", "is", shot["id"]]]))
        self.assertEqual(
            [s["id"] for s in self.sg.find("Shot", [], retired_only=True)], [shot["id"]]
        )
        self.assertIs(self.sg.revive("Shot", shot["id"]), True)
        self.assertEqual(self.sg.find_one("Shot", [["id", "is", shot["id"]]])["id"], shot["id"])

    def test_keyword_arguments_and_paging(self):
        for i in range(7):
            self.sg.create("Shot", {"code": "p%02d" % i})
        codes = [
            s["code"]
            for s in self.sg.find(
                entity_type="Shot",
                filters={"filter_operator": "all", "filters": []},
                fields=["code"],
                order=[{"field_name": "code", "direction": "desc"}],
                limit=3,
            )
        ]
        self.assertEqual(codes, ["p06", "p05", "p04"])
        either = self.sg.find(
            "Shot", [["code", "is", "p01"], ["code", "is", "p02"]], ["code"], filter_operator="any"
        )
        self.assertEqual(sorted(s["code"] for s in either), ["p01", "p02"])
        with self.assertRaises(ValueError):
            self.sg.find("Shot", [], limit=-1)
        with self.assertRaises(self.api.ShotgunError):
            self.sg.find("Shot", {"filter_operator": "all", "filters": []}, filter_operator="any")

    def test_batch(self):
        results = self.sg.batch(
            [
                {"request_type": "create", "entity_type": "Shot", "data": {"code": "b1"}},
                {"request_type": "create", "entity_type": "Shot", "data": {"code": "b2"}},
            ]
        )
        self.assertEqual([r["code"] for r in results], ["b1", "b2"])
        results = self.sg.batch(
            [
                {
                    "request_type": "update",
                    "entity_type": "Shot",
                    "entity_id": results[0]["id"],
                    "data": {"code": "b1x"},
                },
                {"request_type": "delete", "entity_type": "Shot", "entity_id": results[1]["id"]},
            ]
        )
        self.assertEqual(results[0]["code"], "b1x")
        self.assertIs(results[1], True)
        with self.assertRaises(self.api.ShotgunError):
            self.sg.batch("not a list")

    def test_summarize(self):
        for cut in (10, 20, 30):
            self.sg.create("Shot", {"code": "s%d" % cut, "sg_cut_in": cut})
        summary = self.sg.summarize(
            "Shot",
            [["sg_cut_in", "greater_than", 10]],
            [{"field": "sg_cut_in", "type": "sum"}, {"field": "id", "type": "count"}],
        )
        self.assertEqual(summary, {"summaries": {"sg_cut_in": 50, "id": 2}, "groups": []})

    def test_schema_calls(self):
        schema = self.sg.schema_read()
        self.assertIn("Shot", schema)
        self.assertEqual(schema["Shot"]["code"]["data_type"]["value"], "text")
        self.assertEqual(list(self.sg.schema_field_read("Shot", "code")), ["code"])
        self.assertIn("sg_cut_in", self.sg.schema_field_read("Shot"))
        self.assertIn("Shot", self.sg.schema_entity_read())
        self.assertEqual(self.sg.server_info["version"], [8, 50, 0])
        self.assertEqual(self.sg.server_caps.version, (8, 50, 0))
        self.assertEqual(self.sg.info()["version"], [8, 50, 0])

    def test_session_token_and_uuid(self):
        token = self.sg.get_session_token()
        self.assertTrue(token)
        by_token = self.api.Shotgun(self.site.url, session_token=token)
        self.addCleanup(by_token.close)
        by_token.set_session_uuid("9f3c0a2e-5d0e-11ee-8c99-0242ac120002")
        self.assertEqual(by_token.config.session_uuid, "9f3c0a2e-5d0e-11ee-8c99-0242ac120002")
        shot = by_token.create("Shot", {"code": "tok"})
        event = self.sg.find_one(
            "EventLogEntry",
            [["event_type", "is", "Shotgun_Shot_New"], ["entity", "is", shot]],
            ["session_uuid"],
        )
        self.assertEqual(event["session_uuid"], "9f3c0a2e-5d0e-11ee-8c99-0242ac120002")

    def test_config_shows_names_but_not_secrets(self):
        self.assertEqual(self.sg.config.script_name, "sandbox")
        self.assertEqual(self.sg.config.api_key, "sandbox-key")
        self.assertNotIn("sandbox-key", repr(self.sg.config))
        self.assertIn("sandbox", repr(self.sg.config))
        self.assertEqual(self.sg.base_url, self.site.url.lower())


class DatetimeTest(StandInTestCase):
    def test_aware_and_naive_datetimes_round_trip(self):
        utc = datetime.datetime(2024, 7, 1, 12, 30, 5, tzinfo=datetime.timezone.utc)
        shot = self.sg.create("Shot", {"code": "dt", "sg_last_review": utc})
        back = self.sg.find_one("Shot", [["id", "is", shot["id"]]], ["sg_last_review"])
        value = back["sg_last_review"]
        self.assertEqual(value, utc)
        self.assertIs(value.tzinfo, self.api.sg_timezone.local)
        self.assertEqual(value.utcoffset(), datetime.timedelta(hours=-4))  # EDT
        self.assertEqual((value.hour, value.minute, value.second), (8, 30, 5))

        # Naive is local time (EST in January), as in shotgun_api3.
        naive = datetime.datetime(2024, 1, 15, 9, 0, 0)
        self.sg.update("Shot", shot["id"], {"sg_last_review": naive})
        back = self.sg.find_one("Shot", [["id", "is", shot["id"]]], ["sg_last_review"])
        self.assertEqual(
            back["sg_last_review"],
            datetime.datetime(2024, 1, 15, 14, 0, 0, tzinfo=datetime.timezone.utc),
        )
        self.assertEqual(back["sg_last_review"].replace(tzinfo=None), naive)

        # Dates go as YYYY-MM-DD and come back as strings, never shifted.
        self.sg.update("Shot", shot["id"], {"sg_due_date": datetime.date(2024, 3, 10)})
        back = self.sg.find_one("Shot", [["id", "is", shot["id"]]], ["sg_due_date", "created_at"])
        self.assertEqual(back["sg_due_date"], "2024-03-10")
        self.assertIsNotNone(back["created_at"].tzinfo)

        # A filter with an aware datetime matches the same instant.
        hits = self.sg.find("Shot", [["sg_last_review", "is", naive]], ["code"])
        self.assertEqual([h["code"] for h in hits], ["dt"])

    def test_a_zone_change_is_followed_after_tzset(self):
        utc = datetime.datetime(2024, 7, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
        shot = self.sg.create("Shot", {"code": "tz", "sg_last_review": utc}, ["sg_last_review"])
        self.assertEqual(shot["sg_last_review"].utcoffset(), datetime.timedelta(hours=-4))
        os.environ["TZ"] = "Asia/Tokyo"
        time.tzset()
        try:
            # (The offset is the tzinfo's answer at the time it is asked.)
            back = self.sg.find_one("Shot", [["id", "is", shot["id"]]], ["sg_last_review"])
            self.assertEqual(back["sg_last_review"].hour, 21)
            self.assertEqual(back["sg_last_review"].utcoffset(), datetime.timedelta(hours=9))
            self.assertEqual(back["sg_last_review"], utc)
        finally:
            os.environ["TZ"] = "America/New_York"
            time.tzset()

    def test_without_conversion_datetimes_are_naive_utc(self):
        raw = self.api.Shotgun(
            self.site.url, "sandbox", "sandbox-key", convert_datetimes_to_utc=False
        )
        self.addCleanup(raw.close)
        shot = raw.create(
            "Shot", {"code": "raw", "sg_last_review": datetime.datetime(2024, 7, 1, 12, 0, 0)}
        )
        back = raw.find_one("Shot", [["id", "is", shot["id"]]], ["sg_last_review"])
        self.assertEqual(back["sg_last_review"], datetime.datetime(2024, 7, 1, 12, 0, 0))
        self.assertIsNone(back["sg_last_review"].tzinfo)

    def test_the_repeated_hour_is_told_apart(self):
        # 2024-11-03 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
        first = datetime.datetime(2024, 11, 3, 5, 30, tzinfo=datetime.timezone.utc)
        second = datetime.datetime(2024, 11, 3, 6, 30, tzinfo=datetime.timezone.utc)
        shot = self.sg.create("Shot", {"code": "a", "sg_last_review": first})
        other = self.sg.create("Shot", {"code": "b", "sg_last_review": second})
        got = [
            self.sg.find_one("Shot", [["id", "is", s["id"]]], ["sg_last_review"])[
                "sg_last_review"
            ]
            for s in (shot, other)
        ]
        # (== is always False between zones for a datetime in a fold: PEP 495.)
        self.assertEqual([g.timestamp() for g in got], [first.timestamp(), second.timestamp()])
        self.assertEqual([g.utcoffset().total_seconds() / 3600 for g in got], [-4, -5])
        self.assertEqual([g.replace(tzinfo=None).hour for g in got], [1, 1])
        self.assertEqual([g.fold for g in got], [0, 1])


class ErrorsTest(StandInTestCase):
    def test_the_hierarchy_is_shotgun_api3s(self):
        api = self.api
        self.assertTrue(issubclass(api.Fault, api.ShotgunError))
        for cls in (
            api.AuthenticationFault,
            api.MissingTwoFactorAuthenticationFault,
            api.UserCredentialsNotAllowedForSSOAuthenticationFault,
        ):
            self.assertTrue(issubclass(cls, api.Fault))
        # As in shotgun_api3, where they are xmlrpc.client's classes.
        self.assertTrue(issubclass(api.ProtocolError, api.Error))
        self.assertTrue(issubclass(api.ResponseError, api.Error))
        self.assertFalse(issubclass(api.ProtocolError, api.ShotgunError))

    def test_a_bad_key_is_an_authentication_fault(self):
        bad = self.api.Shotgun(self.site.url, "sandbox", "wrong-key")
        self.addCleanup(bad.close)
        with self.assertRaises(self.api.AuthenticationFault) as caught:
            bad.find("Shot", [])
        self.assertIn("sandbox", str(caught.exception))
        self.assertNotIn("wrong-key", str(caught.exception))

    def test_a_refused_request_is_a_fault(self):
        with self.assertRaises(self.api.Fault) as caught:
            self.sg.find("NoSuchType", [])
        self.assertIs(type(caught.exception), self.api.Fault)

    def test_http_503_is_a_protocol_error(self):
        self.site.fault(kind="status", status=503, methods=["read"])
        with self.assertRaises(self.api.ProtocolError) as caught:
            self.sg.find("Shot", [])
        e = caught.exception
        self.assertEqual(e.errcode, 503)
        self.assertEqual(e.url, self.sg.config.server)
        self.assertIn("down for maintenance", e.errmsg)
        self.assertEqual(e.headers, "HTTP error from server")
        self.assertTrue(str(e).startswith("<ProtocolError for %s: 503 " % self.sg.config.server))

    def test_html_instead_of_json_is_a_response_error(self):
        self.site.fault(kind="not_json", methods=["read"])
        with self.assertRaises(self.api.ResponseError):
            self.sg.find("Shot", [])

    def test_bad_arguments_are_value_errors_with_shotgun_api3s_messages(self):
        with self.assertRaisesRegex(ValueError, "api_key provided without script_name"):
            self.api.Shotgun(self.site.url, api_key="k", connect=False)
        with self.assertRaisesRegex(ValueError, "must provide login/password"):
            self.api.Shotgun(self.site.url)
        with self.assertRaisesRegex(ValueError, "cannot provide both session_token"):
            self.api.Shotgun(self.site.url, "s", "k", session_token="t")

    def test_config_timeout_applies_to_the_next_call(self):
        self.sg.config.timeout_secs = 0.3
        self.site.fault(kind="slow", delay_ms=2000, methods=["read"])
        start = time.monotonic()
        with self.assertRaises(TimeoutError):
            self.sg.find("Shot", [])
        self.assertLess(time.monotonic() - start, 1.5)
        self.sg.config.timeout_secs = None
        self.assertEqual(self.sg.find("Shot", []), [])

    def test_values_json_cannot_carry_are_type_errors(self):
        with self.assertRaisesRegex(TypeError, "not JSON serializable"):
            self.sg.create("Shot", {"code": object()})
        loop = []
        loop.append(loop)
        with self.assertRaises(ValueError):
            self.sg.create("Shot", {"sg_data": loop})


class GilTest(StandInTestCase):
    def test_other_threads_run_while_a_call_waits_on_the_network(self):
        self.sg.find("Shot", [])  # connected, so only the slow reply is timed
        self.site.fault(kind="slow", delay_ms=500, methods=["read"])
        ticks = []
        done = threading.Event()

        def tick():
            while not done.is_set():
                ticks.append(time.monotonic())
                # A pure-Python busy loop: it only advances when it holds the GIL.
                sum(range(2000))

        thread = threading.Thread(target=tick)
        thread.start()
        try:
            time.sleep(0.05)
            start = time.monotonic()
            self.sg.find("Shot", [])
            end = time.monotonic()
        finally:
            done.set()
            thread.join()
        self.assertGreaterEqual(end - start, 0.45)
        during = [t for t in ticks if start + 0.05 < t < end - 0.05]
        self.assertGreater(len(during), 100, "the other thread stalled during the call")


@unittest.skipUnless(os.path.isdir(support.API_GIT), "no python-api mirror at " + support.API_GIT)
class SameAsOfficialTest(StandInTestCase):
    """The stand-in and the official client, side by side on one site, answer alike."""

    def setUp(self):
        StandInTestCase.setUp(self)
        self.official = support.load_official(_shared["tmp"])
        self.real = self.official.Shotgun(self.site.url, "sandbox", "sandbox-key")
        self.addCleanup(self.real.close)

    def shape(self, value):
        """Values with datetimes as (wall clock, offset, fold): tz classes differ by name."""
        if isinstance(value, datetime.datetime):
            return (value.replace(tzinfo=None), value.utcoffset(), value.tzinfo is None)
        if isinstance(value, dict):
            return {k: self.shape(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.shape(v) for v in value]
        return (type(value).__name__, value)

    def test_reads_and_writes_answer_the_same(self):
        project = self.sg.create("Project", {"name": "Same"})
        for i in range(3):
            self.real.create(
                "Shot",
                {
                    "code": "sh%d" % i,
                    "project": project,
                    "sg_last_review": datetime.datetime(2024, 6, 1, 10, i),
                    "sg_due_date": datetime.date(2024, 6, i + 1),
                    "sg_frame_rate": 24.0 + i,
                },
            )
        fields = ["code", "project", "sg_last_review", "sg_due_date", "sg_frame_rate",
                  "created_at", "created_by", "tasks"]
        calls = [
            ("find", ("Shot", [["project", "is", project]], fields), {"order": [
                {"field_name": "code", "direction": "desc"}]}),
            ("find_one", ("Shot", [["code", "is", "sh1"]], fields), {}),
            ("find", ("EventLogEntry", [], ["event_type", "meta", "entity", "created_at",
                                             "user", "session_uuid", "attribute_name"]), {}),
            ("summarize", ("Shot", [], [{"field": "sg_frame_rate", "type": "average"}]),
             {"grouping": [{"field": "code", "type": "exact", "direction": "asc"}]}),
            ("schema_field_read", ("Shot",), {}),
            ("schema_entity_read", (), {}),
            ("info", (), {}),
        ]
        for name, args, kwargs in calls:
            with self.subTest(call=name, args=args[:1]):
                ours = getattr(self.sg, name)(*args, **kwargs)
                theirs = getattr(self.real, name)(*args, **kwargs)
                self.assertEqual(self.shape(ours), self.shape(theirs))

        created = self.sg.create("Shot", {"code": "new", "project": project}, ["created_at"])
        official = self.real.create("Shot", {"code": "new", "project": project}, ["created_at"])
        self.assertEqual(list(created), list(official))
        self.assertEqual(
            self.sg.update("Shot", created["id"], {"code": "x"}).keys(),
            self.real.update("Shot", official["id"], {"code": "x"}).keys(),
        )

    def test_errors_have_the_same_names_and_text(self):
        def failure(sg, call):
            try:
                call(sg)
            except Exception as e:
                return type(e).__name__, str(e)
            self.fail("no error")

        cases = [
            lambda sg: sg.find("NoSuchType", []),
            lambda sg: sg.find("Shot", [], limit=-1),
            lambda sg: sg.find("Shot", {"filter_operator": "all", "filters": []},
                               filter_operator="any"),
        ]
        for case in cases:
            self.assertEqual(failure(self.sg, case), failure(self.real, case))
        self.site.fault(kind="status", status=503, methods=["read"], count=2)
        ours = failure(self.sg, lambda sg: sg.find("Shot", []))
        theirs = failure(self.real, lambda sg: sg.find("Shot", []))
        self.assertEqual(ours, theirs)
        bad = [
            cls(self.site.url, "sandbox", "wrong-key")
            for cls in (self.api.Shotgun, self.official.Shotgun)
        ]
        self.assertEqual(
            failure(bad[0], lambda sg: sg.find("Shot", [])),
            failure(bad[1], lambda sg: sg.find("Shot", [])),
        )


if __name__ == "__main__":
    unittest.main()
