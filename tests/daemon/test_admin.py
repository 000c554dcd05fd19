"""The admin HTTP API (docs/admin-api.md) against a running daemon: /healthz and /status, the
token, the loopback rule, and slow clients that must not stall it."""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

from harness import BIN, SLOWDOWN, DaemonTestCase, wait_for


def admin_url(d):
    """The admin API's URL, from the status file the daemon writes every second."""
    def read():
        try:
            with open(d.pid_file + ".status") as f:
                return json.load(f).get("admin")
        except (OSError, ValueError):
            return None
    return wait_for(read, what="the admin URL in the status file")


def metrics(url):
    """{(name, labels text): value} from GET /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as answer:
        text = answer.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        series, value = line.rsplit(" ", 1)
        name, _, labels = series.partition("{")
        out[(name, labels.rstrip("}"))] = float(value)
    return out


def get(url, token=None):
    """(HTTP status, decoded JSON body)."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


class AdminApi(DaemonTestCase):
    def test_healthz_and_status_follow_the_plugins(self):
        d = self.daemon({"good": "", "fragile": "--stop-on-error --fail-on 10"})
        d.start()
        url = admin_url(d)
        self.assertTrue(url.startswith("http://127.0.0.1:"), url)
        self.assertRegex(d.log(), r"Admin API on http://127\.0\.0\.1:\d+")
        ids = self.site.generate(1)
        wait_for(lambda: d.records("good") == ids, what="the first events")
        wait_for(lambda: get(url + "/healthz")[0] == 200, what="a healthy daemon")
        self.assertEqual(get(url + "/healthz")[1], {"healthy": True, "problems": []})

        code, status = get(url + "/status")
        self.assertEqual(code, 200)
        self.assertEqual(status["pid"], d.proc.pid)
        self.assertTrue(status["healthy"])
        self.assertEqual(sorted(p["name"] for p in status["plugins"]), ["fragile", "good"])
        self.assertIn("version", status)

        more = self.site.generate(10)  # the tenth event deactivates "fragile"
        wait_for(lambda: d.records("good") == ids + more, what="the later events")
        wait_for(lambda: get(url + "/healthz")[0] == 503, what="an unhealthy daemon")
        code, health = get(url + "/healthz")
        self.assertFalse(health["healthy"])
        self.assertEqual(len(health["problems"]), 1, health)
        self.assertIn("plugin fragile is deactivated", health["problems"][0])

        # The metrics follow the real progress: every event "good" recorded is counted.
        wait_for(lambda: metrics(url).get(("sgeventd_plugin_events_handled_total",
                                           'plugin="good"')) == len(ids + more),
                 what="handled_total to count good's events")
        m = metrics(url)
        self.assertEqual(m[("sgeventd_plugin_state", 'plugin="fragile",state="deactivated"')], 1)
        self.assertEqual(m[("sgeventd_plugin_lag_event_ids", 'plugin="good"')], 0)
        self.assertEqual(m[("sgeventd_plugin_cursor_event_id", 'plugin="good"')], more[-1])
        # Every callback run is in its duration histogram.
        self.assertEqual(m[("sgeventd_plugin_callback_duration_seconds_count", 'plugin="good"')],
                         len(ids + more))
        self.assertEqual(m[("sgeventd_plugin_worker_restarts_total", 'plugin="good"')], 0)
        self.assertGreater(m[("sgeventd_state_commit_duration_seconds_count", "")], 0)

        code, missing = get(url + "/nothing-here")
        self.assertEqual(code, 404)
        self.assertIn("no such endpoint", missing["error"])
        d.stop()

    def test_lag_rises_while_a_slow_plugin_falls_behind_and_returns_to_zero(self):
        d = self.daemon({"fast": "", "slow": "--sleep-ms 20"})
        d.start()
        url = admin_url(d)
        ids = self.site.generate(150)  # 3 s of work for slow
        lag = lambda name: metrics(url).get(("sgeventd_plugin_lag_event_ids",
                                             'plugin="%s"' % name))
        wait_for(lambda: (lag("slow") or 0) > 20, what="slow's lag to rise")
        # In matching events too: what was read for it and is not resolved yet.
        wait_for(lambda: metrics(url).get(("sgeventd_plugin_lag_events", 'plugin="slow"'), 0) > 20,
                 what="slow's lag in events to rise")
        self.assertEqual(metrics(url).get(("sgeventd_plugin_lag_seconds", 'plugin="fast"'), 0),
                         0)
        wait_for(lambda: d.records("fast") == ids, what="fast to finish")
        wait_for(lambda: d.records("slow") == ids, what="slow to catch up")
        wait_for(lambda: lag("slow") == 0 and lag("fast") == 0, what="the lags back to 0")
        wait_for(lambda: metrics(url).get(("sgeventd_plugin_lag_events", 'plugin="slow"')) == 0,
                 what="slow's lag in events back to 0")
        m = metrics(url)
        self.assertEqual(m[("sgeventd_plugin_lag_seconds", 'plugin="slow"')], 0)
        self.assertEqual(m[("sgeventd_plugin_events_handled_total", 'plugin="slow"')], len(ids))
        self.assertEqual(m[("sgeventd_plugin_cursor_event_id", 'plugin="slow"')], ids[-1])
        self.assertEqual(d.stop(), 0)

    def test_open_gaps_their_age_and_the_bytes_read(self):
        d = self.daemon({"p": ""})
        d.start()
        url = admin_url(d)
        first = self.site.generate(2)
        wait_for(lambda: d.records("p") == first, what="the first events")
        read_before = metrics(url)[("sgeventd_site_read_bytes_total", "")]
        self.assertGreater(read_before, 0)
        self.assertEqual(metrics(url)[("sgeventd_gap_event_ids", "")], 0)
        self.assertNotIn(("sgeventd_gap_oldest_age_seconds", ""), metrics(url))

        held = self.site.reserve(2)  # committed later: two ids the feed passes over
        after = self.site.generate(3)
        wait_for(lambda: d.records("p") == first + after, what="the events above the gap")
        wait_for(lambda: metrics(url).get(("sgeventd_gap_event_ids", "")) == 2,
                 what="the two held ids as an open gap")
        wait_for(lambda: metrics(url).get(("sgeventd_gap_oldest_age_seconds", ""), 0) >= 1,
                 what="the gap to age")
        self.assertGreater(metrics(url)[("sgeventd_site_read_bytes_total", "")], read_before)

        self.site.commit(held)
        wait_for(lambda: sorted(d.records("p")) == sorted(first + after + held),
                 what="the late events")
        wait_for(lambda: metrics(url).get(("sgeventd_gap_event_ids", "")) == 0,
                 what="the gap to close")
        self.assertNotIn(("sgeventd_gap_oldest_age_seconds", ""), metrics(url))
        self.assertEqual(d.stop(), 0)

    def test_poll_errors_are_counted_by_kind(self):
        d = self.daemon({"p": ""})
        d.start()
        url = admin_url(d)
        errors = lambda kind: metrics(url).get(("sgeventd_poll_errors_total",
                                                'kind="%s"' % kind), 0)
        self.site.control("faults", {"kind": "status", "status": 503, "count": 2})
        wait_for(lambda: errors("ProtocolError") >= 2, what="503s counted as ProtocolError")
        self.site.control("faults", {"kind": "not_json", "count": 1})
        wait_for(lambda: errors("ResponseError") >= 1, what="a body not JSON as ResponseError")
        self.site.control("clear_faults")
        ids = self.site.generate(3)
        wait_for(lambda: d.records("p") == ids, what="the events after the outage")
        wait_for(lambda: metrics(url).get(("sgeventd_events_read_total", "")) >= len(ids),
                 what="events_read")
        self.assertGreater(metrics(url)[("sgeventd_polls_total", "")], 0)
        self.assertEqual(d.stop(), 0)

    def test_a_token_is_required_when_set_and_the_answers_are_masked(self):
        token = "Admin-T0ken-For-Tests"
        d = self.daemon({"p": "--fail-on 1 --error 'RuntimeError: seen %s'" % token},
                        extra="[admin]\ntoken = %s\n" % token)
        d.start()
        url = admin_url(d)
        self.site.generate(1)
        self.assertEqual(get(url + "/status")[0], 401)
        self.assertEqual(get(url + "/healthz", "wrong")[0], 401)
        wait_for(lambda: "RuntimeError: seen" in json.dumps(get(url + "/status", token)[1]),
                 what="the error in the status")
        text = json.dumps(get(url + "/status", token)[1])
        self.assertNotIn(token, text)
        self.assertIn("seen ********", text)
        d.stop()

    def test_a_non_loopback_bind_without_a_token_is_refused(self):
        d = self.daemon({"p": ""}, extra="[admin]\nbind = 0.0.0.0\n")
        answer = subprocess.run([BIN, "foreground", "-c", d.config], capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(answer.returncode, 2, answer.stderr)
        self.assertIn("[admin] bind = 0.0.0.0", answer.stderr + answer.stdout)
        self.assertIn("token", answer.stderr + answer.stdout)

    def test_slow_clients_do_not_stall_it(self):
        d = self.daemon({"p": ""})
        d.start()
        url = admin_url(d)
        host, port = url[len("http://"):].split(":")
        slow = []
        for _ in range(40):  # each dribbling half a request, holding a thread of the 64
            s = socket.create_connection((host, int(port)))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        started = time.monotonic()
        code, _ = get(url + "/healthz")
        waited = time.monotonic() - started
        self.assertIn(code, (200, 503))
        # Not behind the slow ones (they are dropped after 5 s without a byte).
        self.assertLess(waited, 3.0 * SLOWDOWN)
        for s in slow:
            s.close()
        d.stop()

    def test_disabled_it_does_not_listen(self):
        d = self.daemon({"p": ""}, extra="[admin]\nenabled = false\n")
        d.start()
        ids = self.site.generate(1)
        wait_for(lambda: d.records("p") == ids, what="the event")
        with open(d.pid_file + ".status") as f:
            self.assertNotIn("admin", json.load(f))
        d.stop()
        self.assertNotIn("Admin API on", d.log())
