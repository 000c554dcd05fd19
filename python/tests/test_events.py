"""Event decoding: datetimes exactly where shotgun_api3 would make them, in the local zone."""

import json
import os
import subprocess
import sys
import unittest

from harness import HERE

sys.path.insert(0, os.path.dirname(HERE))

from sgeventd_worker import events  # noqa: E402

TZ_CHECK = r"""
import sys
sys.path.insert(0, %r)
from datetime import datetime, timedelta, timezone
from sgeventd_worker import events
start = datetime(2024, 1, 1, tzinfo=timezone.utc)
bad = []
for step in range(366 * 24 * 4):
    t = start + timedelta(minutes=15 * step)
    text = t.strftime("%%Y-%%m-%%dT%%H:%%M:%%SZ")
    d = events.to_datetime(text)
    ref = t.astimezone()  # the C library's answer
    if (d.timestamp() != t.timestamp() or d.isoformat() != ref.isoformat()
            or d.utcoffset() != ref.utcoffset() or d.tzname() != ref.tzname()):
        bad.append((text, d.isoformat(), ref.isoformat()))
print(len(bad), bad[:3])
"""


class DatetimeTest(unittest.TestCase):
    def convert(self, event):
        line = json.dumps({"type": "event", "seq": 1, "event": event})
        decoded = json.loads(line)["event"]
        return events.convert_datetimes(decoded, line)

    def test_created_at_only(self):
        event = self.convert({"id": 1, "created_at": "2024-03-01T10:00:00Z", "meta": {}})
        self.assertEqual(event["created_at"].utcoffset() is not None, True)
        self.assertEqual(
            event["created_at"].astimezone(events.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "2024-03-01T10:00:00Z",
        )

    def test_every_value_anywhere(self):
        event = self.convert(
            {
                "created_at": "2024-03-01T10:00:00Z",
                "meta": {
                    "new_value": "2024-03-02T10:00:00Z",
                    "nested": [{"when": "2024-03-03T10:00:00Z"}, "2024-03-04T10:00:00Z"],
                },
            }
        )
        self.assertEqual(
            [
                type(v).__name__
                for v in (
                    event["created_at"],
                    event["meta"]["new_value"],
                    event["meta"]["nested"][0]["when"],
                    event["meta"]["nested"][1],
                )
            ],
            ["datetime"] * 4,
        )

    def test_no_created_at_but_one_elsewhere(self):
        event = self.convert({"created_at": None, "meta": {"old_value": "2024-03-02T10:00:00Z"}})
        self.assertIsNone(event["created_at"])
        self.assertEqual(type(event["meta"]["old_value"]).__name__, "datetime")

    def test_strings_that_are_not_datetimes_stay(self):
        values = [
            "2024-03-01T10:00:00",  # 19 characters
            "2024-03-01 10:00:00Z",
            "2024-13-01T10:00:00Z",
            "2024-02-30T10:00:00Z",
            "2024-03-01T24:00:00Z",
            "2024-03-01T10:60:00Z",
            "xxxx-03-01T10:00:00Z",
            "2024-03-01",
            "ends with Z",
        ]
        event = self.convert({"meta": {"values": list(values)}, "created_at": "bad Z"})
        self.assertEqual(event["meta"]["values"], values)
        self.assertEqual(event["created_at"], "bad Z")

    def test_keys_are_never_converted(self):
        event = self.convert({"meta": {"2024-03-01T10:00:00Z": 1}})
        self.assertEqual(list(event["meta"]), ["2024-03-01T10:00:00Z"])

    def test_local_zone_matches_the_c_library_across_dst(self):
        package_root = os.path.dirname(HERE)
        for tz in ("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC"):
            if not os.path.exists(os.path.join("/usr/share/zoneinfo", tz)):
                continue
            env = dict(os.environ, TZ=tz)
            out = subprocess.check_output(
                [sys.executable, "-c", TZ_CHECK % package_root], env=env
            ).decode()
            self.assertTrue(out.startswith("0 "), "%s: %s" % (tz, out))

    def test_pickles(self):
        import pickle

        value = events.to_datetime("2024-03-01T10:00:00Z")
        self.assertEqual(pickle.loads(pickle.dumps(value)), value)


if __name__ == "__main__":
    unittest.main()
