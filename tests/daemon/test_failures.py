"""Plugins misbehaving: crashing, crash-looping, hanging, leaking, failing with and without
stopOnError, retries, dead letters, reactivation. The other plugins never notice."""

import os
import re
import sqlite3
import time

from harness import SLOWDOWN, DaemonTestCase, wait_for


def dead_letters(d):
    with sqlite3.connect("file:%s?mode=ro" % d.state_file, uri=True) as db:
        return db.execute("SELECT event_id, callback, error FROM dead_letters ORDER BY event_id").fetchall()


def plugin_row(d, name):
    with sqlite3.connect("file:%s?mode=ro" % d.state_file, uri=True) as db:
        return db.execute("SELECT cursor, status, reason FROM plugins WHERE name = ?",
                          (name,)).fetchone()


class PluginFailures(DaemonTestCase):
    def test_a_crashing_worker_is_restarted_and_the_event_sent_again(self):
        d = self.daemon({"crashy": "--crash-on 30", "calm": ""})
        d.start()
        ids = self.site.generate(50)
        wait_for(lambda: len(d.records("crashy")) >= len(ids) and len(d.records("calm")) >= len(ids))
        d.stop()
        self.assert_exactly_once_in_order(d.records("calm"), ids)
        # The 30th event killed the first process before it was recorded: the restarted worker
        # got it again (with the others in flight); nothing was skipped or repeated.
        self.assert_exactly_once_in_order(d.records("crashy"), ids)
        self.assertIn("signal 6", d.plugin_log("crashy"))

    def test_a_crash_loop_is_quarantined_and_the_others_keep_going(self):
        d = self.daemon({"broken": "--crash-every", "calm": ""})
        d.start()
        ids = self.site.generate(30)
        wait_for(lambda: "quarantined" in d.log(), what="quarantine")
        more = self.site.generate(30)
        wait_for(lambda: len(d.records("calm")) >= len(ids + more))
        # The status is published every second: wait for the one that shows the quarantine.
        # From then on `status` is a failing health check that names the plugin.
        wait_for(lambda: [p for p in d.status()[1]["plugins"] if p["name"] == "broken"][0]["worker"]
                 == "quarantined", what="the status to show the quarantine")
        code, status = d.status()
        self.assertEqual(code, 1)
        self.assertFalse(status["healthy"])
        self.assertTrue(any(p.startswith("plugin broken: its worker is quarantined")
                            for p in status["problems"]), status["problems"])
        self.assertFalse(any("calm" in p for p in status["problems"]), status["problems"])
        d.stop()
        self.assert_exactly_once_in_order(d.records("calm"), ids + more)
        self.assertEqual(d.records("broken"), [])
        # Its cursor never moved past what it did not handle.
        self.assertLess(plugin_row(d, "broken")[0], ids[0])

    def test_reload_brings_back_a_quarantined_plugin(self):
        d = self.daemon({"broken": "--crash-every", "calm": ""})
        d.start()
        self.site.generate(10)
        wait_for(lambda: "quarantined" in d.log(), what="quarantine")
        ended = "Worker %s ended" % os.path.join(d.plugin_dir, "broken.plugin")
        self.assertEqual(d.cli("reload").returncode, 0)
        # Started again (as docs/cli.md says): it crashes on the next event, a new end.
        wait_for(lambda: ended in d.log().split("Reloading every plugin", 1)[-1],
                 what="the quarantined worker to be started again by the reload")

    def test_a_flooding_plugin_is_rate_limited_and_says_how_much_it_dropped(self):
        noise = "noise-" + "x" * 100
        d = self.daemon({"noisy": "--stderr %s --log-level 20" % noise, "calm": ""},
                        {"plugin_log_lines_per_second": "20"})
        started = time.monotonic()
        d.start()
        ids = self.site.generate(400)
        wait_for(lambda: len(d.records("noisy")) >= len(ids) and len(d.records("calm")) >= len(ids))
        wait_for(lambda: "Dropped " in d.plugin_log("noisy"), what="the dropped-output line")
        elapsed = time.monotonic() - started
        d.stop()
        self.assert_exactly_once_in_order(d.records("noisy"), ids)  # delivery is not limited
        log = d.plugin_log("noisy")
        written = log.count(noise) + log.count("handled event ")
        # Two lines per event (a stderr line and a log message): 20 a second plus a burst of 20
        # let through.
        self.assertLessEqual(written, 20 * (elapsed + 1))
        self.assertGreater(written, 0)
        # Every line dropped is counted in a "Dropped" line (the last when the worker stopped).
        dropped = [int(n) for n in re.findall(r"Dropped (\d+) lines", log)]
        self.assertEqual(sum(dropped) + written, 2 * len(d.records("noisy")))

    def test_a_hung_callback_is_killed_and_the_event_parked(self):
        d = self.daemon({"hangs": "--hang-on 12", "calm": ""}, {"callback_timeout": "1"})
        d.start()
        ids = self.site.generate(20)
        wait_for(lambda: len(d.records("hangs")) >= len(ids) - 1 and len(d.records("calm")) >= len(ids))
        d.stop()
        self.assert_exactly_once_in_order(d.records("calm"), ids)
        # The test worker registers stopOnError=False: the event that hung is a dead letter,
        # the rest went on.
        letters = dead_letters(d)
        self.assertEqual([row[0] for row in letters], [ids[11]])
        self.assertIn("Timeout", letters[0][2])
        self.assertEqual(sorted(d.records("hangs")), [i for i in ids if i != ids[11]])

    def test_a_leaking_worker_is_restarted_at_its_memory_limit(self):
        d = self.daemon({"leaky": "--leak-mb 8 --sleep-ms 50", "calm": ""}, {"worker_memory_limit": "60"})
        d.start()
        ids = self.site.generate(40)
        wait_for(lambda: len(set(d.records("leaky"))) >= len(ids) and len(d.records("calm")) >= len(ids))
        d.stop()
        self.assert_exactly_once_in_order(d.records("calm"), ids)
        self.assertEqual(set(d.records("leaky")), set(ids))
        self.assertIn("memory", d.plugin_log("leaky").lower())

    def test_stop_on_error_deactivates_until_the_plugin_is_fixed(self):
        d = self.daemon({"strict": "--fail-on 3 --stop-on-error", "calm": ""})
        d.start()
        ids = self.site.generate(20)
        wait_for(lambda: "deactivated" in d.plugin_log("strict"))
        wait_for(lambda: len(d.records("calm")) >= len(ids))
        self.assertEqual(d.records("strict"), ids[:3])  # stopped at the failing event
        self.assertEqual(plugin_row(d, "strict")[1], "deactivated")
        # The fix: the plugin's manifest changes; it comes back from the failing event.
        d.add_plugin("strict", "--stop-on-error")
        more = self.site.generate(10)
        wait_for(lambda: len(d.records("strict")) >= 3 + len(ids[2:] + more))
        d.stop()
        received = d.records("strict")
        self.assertEqual(received[:3], ids[:3])
        self.assert_exactly_once_in_order(received[3:], ids[2:] + more)
        self.assertEqual(plugin_row(d, "strict")[1], "active")

    def test_a_late_event_that_came_while_deactivated_reaches_the_plugin_after_the_fix(self):
        d = self.daemon({"strict": "--fail-on 3 --stop-on-error", "calm": ""})
        d.start()
        reserved = self.site.reserve(1)  # a long transaction: an id gap below what follows
        ids = self.site.generate(10)
        wait_for(lambda: "deactivated" in d.plugin_log("strict"))
        wait_for(lambda: len(d.records("calm")) >= len(ids))
        # The gap's event commits while "strict" is deactivated: only "calm" can take it now.
        self.site.commit(reserved)
        wait_for(lambda: reserved[0] in d.records("calm"), what="the late event for calm")
        self.assertNotIn(reserved[0], d.records("strict"))
        # The fix. Replaying from the failing event does not reach the late id (it is below
        # it), so the daemon must look for it again.
        d.add_plugin("strict", "--stop-on-error")
        wait_for(lambda: reserved[0] in d.records("strict") and
                 set(ids) <= set(d.records("strict")), what="strict to get everything")
        d.stop()
        received = d.records("strict")
        self.assertEqual(received[:3], ids[:3])  # the third failed and stopped it
        self.assertEqual(sorted(received[3:]), sorted(ids[2:] + reserved))
        self.assertEqual(sorted(d.records("calm")), sorted(ids + reserved))

    def test_a_gap_above_the_failing_event_comes_once_after_the_fix(self):
        # generate(n) writes n events and those of the Shot they edit: learn how many, before
        # the daemon starts (a new plugin starts after the newest event, so these are not its).
        per_call = len(self.site.generate(2))
        fail_on = per_call + 1  # strict fails on the first event after the next batch
        d = self.daemon({"strict": "--fail-on %d --stop-on-error" % fail_on, "calm": ""})
        d.start()
        first = self.site.generate(2)
        self.assertEqual(len(first), per_call)
        wait_for(lambda: d.records("strict") == first, what="strict's first events")
        reserved = self.site.reserve(1)  # a gap just above strict's cursor ...
        after = self.site.generate(5)  # ... and strict fails on the first event after it
        wait_for(lambda: "deactivated" in d.plugin_log("strict"))
        self.site.commit(reserved)
        wait_for(lambda: reserved[0] in d.records("calm"), what="the late event for calm")
        # Back from the failing event: catching up reads the late id again in order, so it
        # must not also be looked for as a gap (it would come twice).
        d.add_plugin("strict", "--stop-on-error")
        wait_for(lambda: set(reserved + after) <= set(d.records("strict")), what="strict")
        tail = self.site.generate(1)  # read after any look for gaps: a twin would be here
        # generate(1) may write more than one event (the Shot's own): wait for all of them.
        wait_for(lambda: set(tail) <= set(d.records("strict")), what="strict to rejoin the feed")
        wait_for(lambda: set(tail) <= set(d.records("calm")), what="calm to get the tail")
        d.stop()
        received = d.records("strict")
        self.assertEqual(received[:fail_on], first + after[:1])  # that one failed
        self.assertEqual(sorted(received[fail_on:]), sorted(reserved + after + tail))
        self.assertEqual(sorted(d.records("calm")), sorted(first + reserved + after + tail))

    def test_retries_then_success_leave_no_dead_letter(self):
        d = self.daemon({"flaky": "--fail-on 3"}, {"retries": "2", "retry_backoff": "0.1"})
        d.start()
        ids = self.site.generate(10)
        wait_for(lambda: len(d.records("flaky")) >= len(ids) + 1)
        d.stop()
        received = d.records("flaky")
        self.assertEqual(received, ids[:3] + ids[2:])  # the 3rd event ran twice, in place
        self.assertEqual(dead_letters(d), [])
        self.assertIn("attempt 1", d.plugin_log("flaky"))

    def test_without_stop_on_error_the_event_is_parked_and_the_plugin_goes_on(self):
        d = self.daemon({"lenient": "--fail-on 4"})
        d.start()
        ids = self.site.generate(10)
        wait_for(lambda: len(d.records("lenient")) >= len(ids))
        wait_for(lambda: plugin_row(d, "lenient")[0] == ids[-1], what="the cursor to pass it")
        d.stop()
        self.assertEqual([row[0] for row in dead_letters(d)], [ids[3]])

    def test_reactivation_delay_brings_a_deactivated_plugin_back(self):
        d = self.daemon({"strict": "--fail-on 2 --stop-on-error"}, {"reactivation": "1"})
        d.start()
        ids = self.site.generate(10)
        wait_for(lambda: "reactivated" in d.plugin_log("strict"))
        wait_for(lambda: set(d.records("strict")) >= set(ids))
        d.stop()
        received = d.records("strict")
        # The failing event came back first after reactivation, then the rest in order.
        self.assertEqual(received[:2], ids[:2])
        self.assertEqual(received[2:], ids[1:])

    def test_an_edited_plugin_is_reloaded_without_replaying(self):
        d = self.daemon({"a": ""})
        d.start()
        ids = self.site.generate(100)
        wait_for(lambda: len(d.records("a")) >= len(ids))
        time.sleep(0.01)
        d.add_plugin("a", "--callbacks 2")  # the edit
        wait_for(lambda: "Reloading worker" in d.log(), what="the reload")
        more = self.site.generate(100)
        wait_for(lambda: len(d.records("a")) >= len(ids + more))
        d.stop()
        self.assert_exactly_once_in_order(d.records("a"), ids + more)


    def test_a_plugin_that_never_answers_its_load_does_not_hold_the_others_back(self):
        # It never says hello: polling used to wait 60 s for it. The others start within a
        # few seconds; it catches up on its own if it ever loads.
        d = self.daemon({"mute": "--no-hello", "calm": ""})
        started = time.monotonic()
        d.start()
        took = time.monotonic() - started
        ids = self.site.generate(5)
        wait_for(lambda: d.records("calm") == ids, what="calm to get every event")
        self.assertLess(took, 15 * SLOWDOWN, "polling waited %.1f s for the plugin that never loads" % took)
        self.assertEqual(d.records("mute"), [])
