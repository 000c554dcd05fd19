"""Delivery promises: every event once, in order, to every plugin; a clean stop and restart
replays nothing; kill -9 replays only what was in flight; slow plugins do not hold fast ones."""

import os
import random
import sqlite3
import time

from harness import SLOWDOWN, DaemonTestCase, wait_for


class Delivery(DaemonTestCase):
    def test_every_plugin_gets_every_event_once_in_order(self):
        d = self.daemon({"a": "", "b": "--callbacks 3", "c": ""})
        d.start()
        ids = self.site.generate(1500)
        for name in "abc":
            wait_for(lambda: len(d.records(name)) >= len(ids), what="plugin %s" % name)
        self.assertEqual(d.stop(), 0)
        for name in "abc":
            self.assert_exactly_once_in_order(d.records(name), ids)

    def test_a_new_plugin_starts_at_the_newest_event(self):
        before = self.site.generate(50)
        d = self.daemon({"a": ""})
        d.start()
        after = self.site.generate(20)
        wait_for(lambda: len(d.records("a")) >= len(after))
        d.stop()
        self.assertFalse(set(before) & set(d.records("a")))
        self.assert_exactly_once_in_order(d.records("a"), after)

    def test_clean_stop_and_restart_replays_nothing(self):
        d = self.daemon({"a": "--sleep-ms 1", "b": ""})
        d.start()
        ids = []
        for round_ in range(4):
            ids += self.site.generate(400)
            time.sleep(random.uniform(0.05, 0.3))  # stop at an arbitrary point of the stream
            self.assertEqual(d.stop(), 0, d.log()[-2000:])
            d.start()
        wait_for(lambda: len(d.records("a")) >= len(ids) and len(d.records("b")) >= len(ids))
        d.stop()
        for name in "ab":
            self.assert_exactly_once_in_order(d.records(name), ids)

    def kill_9_run(self, plugins, keys=None, kills=4, events=2500):
        """kill -9 the daemon `kills` times while `events` are delivered: the duplicates each
        plugin got (after checking that none lost anything)."""
        d = self.daemon(plugins, keys)
        d.start()
        ids = self.site.generate(events)
        first = next(iter(plugins))
        for _ in range(kills):
            wait_for(lambda: len(d.records(first)) > 0)
            time.sleep(random.uniform(0.2, 0.6))
            d.kill9()
            d.start()
        wait_for(lambda: all(set(d.records(name)) >= set(ids) for name in plugins))
        d.stop()
        duplicates = {}
        for name in plugins:
            received = d.records(name)
            self.assertEqual(set(received), set(ids), "%s lost events" % name)
            duplicates[name] = len(received) - len(set(received))
        return duplicates

    def test_kill_9_mid_batch_loses_nothing_and_replays_at_most_the_running_event(self):
        # Default settings (pipeline_window 128): the workers note each finished event in their
        # completion files, so a restart sends again only what was not finished.
        for name, duplicates in self.kill_9_run({"a": "--sleep-ms 2", "b": ""}).items():
            self.assertLessEqual(duplicates, 4, "%s: %d replays for 4 kills" % (name, duplicates))

    def test_without_completion_records_kill_9_replays_what_was_in_flight(self):
        # The same run with workers that do not offer the feature: the bound is the window.
        window = 32
        duplicates = self.kill_9_run({"a": "--sleep-ms 2 --no-completions", "b": "--no-completions"},
                                     {"pipeline_window": str(window)}, kills=2)
        for name, n in duplicates.items():
            self.assertLessEqual(n, 2 * (window + 16), name)

    def test_a_worker_that_dies_with_answers_unwritten_gets_only_the_unfinished_again(self):
        # It dies holding the answers of events it finished (written in one go per batch):
        # its completion records say they are done, so only the rest is sent again.
        d = self.daemon({"dies": "--die-unflushed 30", "calm": ""})
        d.start()
        ids = self.site.generate(50)
        wait_for(lambda: set(d.records("dies")) >= set(ids) and len(d.records("calm")) >= len(ids))
        d.stop()
        self.assertIn("exit code 1", d.plugin_log("dies"))
        self.assert_exactly_once_in_order(d.records("dies"), ids)
        self.assert_exactly_once_in_order(d.records("calm"), ids)

    def test_ids_the_server_side_filters_hide_are_not_gaps(self):
        # 1 event in 100 matches: the rest are read past (ids only), never held as gaps.
        d = self.daemon({"shots": """--match '{"Shotgun_Shot_Change": ["description"]}'"""},
                        {"server_side_filters": "on"})
        d.start()
        expected = []
        for _ in range(10):
            self.site.control("generate", {"count": 99, "entity_type": "Asset"})
            expected.append(self.site.control("generate", {"count": 1})["last_id"])
        wait_for(lambda: set(d.records("shots")) >= set(expected), what="the Shot changes")
        self.assertEqual(d.stop(), 0, d.log()[-2000:])
        self.assert_exactly_once_in_order(d.records("shots"), expected)
        with sqlite3.connect("file:%s?mode=ro" % d.state_file, uri=True) as db:
            gaps = db.execute("SELECT first_id, last_id FROM gaps").fetchall()
        self.assertEqual(gaps, [], "hidden ids became gaps")
        self.assertNotIn("given up", d.log())

    def test_a_slow_plugin_stops_quickly_and_replays_nothing(self):
        # A worker gets about 250 ms of its own recent work in flight, not the whole pipeline
        # window: with 128 events of 200 ms sent ahead, a clean stop would wait out all of
        # shutdown_grace and then kill the callback running, which runs again after restart.
        d = self.daemon({"slow": "--sleep-ms 200"}, {"pipeline_window": "128"})
        d.start()
        ids = self.site.generate(40)
        # Past the first answers (the window starts at 8 until the worker's speed is known).
        wait_for(lambda: len(d.records("slow")) >= 10, what="10 slow events")
        started = time.monotonic()
        self.assertEqual(d.stop(), 0, d.log()[-2000:])
        took = time.monotonic() - started
        self.assertLess(took, 2.0 * SLOWDOWN, "a stop took %.2f s" % took)
        d.start()
        wait_for(lambda: len(d.records("slow")) >= len(ids), what="every event")
        d.stop()
        self.assert_exactly_once_in_order(d.records("slow"), ids)

    def test_slow_plugin_does_not_hold_back_fast_ones(self):
        fast = {"fast%d" % i: "" for i in range(4)}
        d = self.daemon(dict(fast, slow="--sleep-ms 100"))
        d.start()
        ids = self.site.generate(200)
        created = time.monotonic()
        for name in fast:
            wait_for(lambda: len(d.records(name)) >= len(ids), what=name)
        elapsed = time.monotonic() - created
        slow_done = len(d.records("slow"))
        self.assertLess(elapsed, 3.0 * SLOWDOWN, "fast plugins took %.2f s" % elapsed)
        self.assertLess(slow_done, 200, "the slow plugin cannot have finished yet")
        for name in fast:
            self.assert_exactly_once_in_order(d.records(name), ids)
        d.stop()

    def test_worker_over_its_queue_catches_up_on_its_own(self):
        d = self.daemon({"fast": "", "slow": "--sleep-ms 1"},
                        {"queue_size": "100", "max_event_batch_size": "200"})
        d.start()
        ids = self.site.generate(3000)
        wait_for(lambda: len(d.records("fast")) >= len(ids))
        wait_for(lambda: len(d.records("slow")) >= len(ids))
        d.stop()
        self.assertIn("reads on its own", d.log())
        self.assertIn("caught up with the feed", d.log())
        for name in ("fast", "slow"):
            self.assert_exactly_once_in_order(d.records(name), ids)

    def test_a_plugin_file_added_or_removed_while_running_is_picked_up(self):
        empty = self.daemon({}, name="empty")
        started = time.monotonic()
        empty.start()  # no worker to wait for: polling starts at once
        self.assertLess(time.monotonic() - started, 10 * SLOWDOWN)
        empty.stop()
        d = self.daemon({"a": ""})
        d.start()
        first = self.site.generate(30)
        wait_for(lambda: len(d.records("a")) >= len(first))
        d.add_plugin("b")  # dropped into the folder, as with shotgunEvents: no restart
        wait_for(lambda: "New plugin" in d.log(), what="the new plugin to be noticed")
        wait_for(lambda: "Loaded" in d.plugin_log("b"), what="the new plugin to load")
        later = self.site.generate(30)
        wait_for(lambda: len(d.records("b")) >= len(later) and len(d.records("a")) >= len(first + later))
        os.remove(os.path.join(d.plugin_dir, "a.plugin"))
        wait_for(lambda: "is gone" in d.log(), what="the removed plugin to be noticed")
        last = self.site.generate(10)
        wait_for(lambda: len(d.records("b")) >= len(later + last))
        d.stop()
        self.assert_exactly_once_in_order(d.records("b"), later + last)  # from the newest on
        self.assert_exactly_once_in_order(d.records("a"), first + later)

    def test_pid_file_removal_stops_cleanly(self):
        d = self.daemon({"a": ""})
        d.start()
        ids = self.site.generate(300)
        wait_for(lambda: len(d.records("a")) >= len(ids))
        os.remove(d.pid_file)
        self.assertEqual(d.proc.wait(10), 0)
        self.assertIn("pid file", d.log())
        more = self.site.generate(100)
        d.start()
        wait_for(lambda: len(d.records("a")) >= len(ids + more))
        d.stop()
        self.assert_exactly_once_in_order(d.records("a"), ids + more)
