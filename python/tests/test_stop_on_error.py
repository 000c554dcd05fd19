"""Protocol feature "stop_on_error" (docs/plugin-protocol.md): once a callback registered with
stopOnError=True raises, the worker runs none of that plugin's callbacks any more, and answers
each of them as skipped, in its place, until the worker is restarted."""

import json
import os

from harness import PLUGINS, WorkerTestCase, make_event

STOP = os.path.join(PLUGINS, "stop_on_error.py")
ALL = [("stop_on_error", 0), ("stop_on_error", 1), ("stop_on_error", 2)]


def skipped(plugin, index):
    return {
        "plugin": plugin,
        "index": index,
        "ok": False,
        "skipped": True,
        "duration_ms": 0,
        "error": "skipped: plugin %s stopped after an error" % plugin,
    }


class StopOnErrorTest(WorkerTestCase):
    def test_hello_announces_the_feature(self):
        worker = self.start(hello=False)
        hello = worker.hello()
        self.assertIn("stop_on_error", hello["features"])
        self.assertIsInstance(hello["features"], list)

    def test_later_events_are_answered_skipped_without_calling(self):
        worker = self.start()
        worker.load(STOP)
        self.assertOk(worker.run_event(make_event(1, meta={}), ALL))
        first = worker.run_event(make_event(2, meta={"fail": "hard"}), ALL)
        self.assertFalse(first[0]["ok"])
        self.assertNotIn("skipped", first[0])
        self.assertIn("traceback", first[0])
        self.assertEqual(first[1:], [skipped("stop_on_error", 1), skipped("stop_on_error", 2)])
        for event_id in (3, 4):
            results = worker.run_event(make_event(event_id, meta={}), ALL)
            self.assertEqual(results, [skipped("stop_on_error", i) for i in range(3)])
        # Only the callbacks the event lists are answered, in the order it lists them.
        results = worker.run_event(make_event(5), [("stop_on_error", 2), ("stop_on_error", 0)])
        self.assertEqual(results, [skipped("stop_on_error", 2), skipped("stop_on_error", 0)])
        worker.sync()
        self.assertEqual(
            self.messages(worker, "plugin.stop_on_error.afterwards"), ["afterwards ran on 1"]
        )

    def test_skipped_entries_are_exactly_the_spec(self):
        worker = self.start()
        worker.load(STOP)
        worker.run_event(make_event(1, meta={"fail": "hard"}), ALL)
        worker.event(make_event(2), [("stop_on_error", 1)])
        worker.expect("result")
        line = [raw for raw in worker.raw_lines if b'"seq":2,' in raw.replace(b" ", b"")][0]
        entry = json.loads(line.decode())["results"][0]
        self.assertEqual(entry, skipped("stop_on_error", 1))
        self.assertNotIn("traceback", entry)
        self.assertNotIn("locals", entry)

    def test_a_failure_without_stop_on_error_does_not_stop_the_plugin(self):
        worker = self.start()
        worker.load(STOP)
        soft = worker.run_event(make_event(1, meta={"fail": "soft"}), ALL)
        self.assertEqual([r["ok"] for r in soft], [True, False, True])
        self.assertOk(worker.run_event(make_event(2, meta={}), ALL))
        self.assertEqual(
            self.messages(worker, "plugin.stop_on_error.afterwards"),
            ["afterwards ran on 1", "afterwards ran on 2"],
        )

    def test_system_exit_counts_as_an_error(self):
        path = self.write_plugin(
            "exits",
            """
            import sys
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                logger.info("ran %d", event["id"])
                sys.exit(2)
            """,
        )
        worker = self.start()
        worker.load(path)
        self.assertIn("SystemExit", worker.run_event(make_event(1), [("exits", 0)])[0]["error"])
        self.assertEqual(worker.run_event(make_event(2), [("exits", 0)]), [skipped("exits", 0)])
        self.assertEqual(self.messages(worker, "plugin.exits.cb"), ["ran 1"])

    def test_other_plugins_of_the_worker_keep_running(self):
        folder = os.path.join(self.tmp, "folder")
        other = self.write_plugin(
            "other",
            """
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                logger.info("other ran %d", event["id"])
            """,
            folder=folder,
        )
        worker = self.start(per="path")
        worker.load(other)
        worker.load(STOP)
        refs = [("other", 0), ("stop_on_error", 0), ("stop_on_error", 2), ("other", 0)]
        first = worker.run_event(make_event(1, meta={"fail": "hard"}), refs)
        self.assertEqual([r["ok"] for r in first], [True, False, False, True])
        self.assertEqual(first[2], skipped("stop_on_error", 2))
        second = worker.run_event(make_event(2, meta={}), refs)
        self.assertEqual([r["ok"] for r in second], [True, False, False, True])
        self.assertEqual(second[1:3], [skipped("stop_on_error", 0), skipped("stop_on_error", 2)])
        self.assertEqual(
            self.messages(worker, "plugin.other.cb"),
            ["other ran 1", "other ran 1", "other ran 2", "other ran 2"],
        )

    def test_pipelined_events_after_the_failure_are_skipped_in_order(self):
        worker = self.start()
        worker.load(STOP)
        lines = []
        for i in range(1, 51):
            meta = {"fail": "hard"} if i == 10 else {}
            lines.append(
                json.dumps(
                    {
                        "type": "event",
                        "seq": i,
                        "late": False,
                        "event": make_event(i, meta=meta),
                        "callbacks": [{"plugin": p, "index": x} for p, x in ALL],
                    }
                )
            )
        worker.send(("\n".join(lines) + "\n").encode())
        for i in range(1, 51):
            result = worker.expect("result")
            self.assertEqual(result["seq"], i)
            if i < 10:
                self.assertOk(result["results"])
            elif i > 10:
                self.assertEqual(result["results"], [skipped("stop_on_error", x) for x in range(3)])
        worker.sync()
        self.assertEqual(len(self.messages(worker, "plugin.stop_on_error.afterwards")), 9)

    def test_a_new_worker_runs_the_plugin_again(self):
        worker = self.start()
        worker.load(STOP)
        worker.run_event(make_event(1, meta={"fail": "hard"}), ALL)
        self.assertEqual(worker.shutdown(), 0)
        restarted = self.start()
        restarted.load(STOP)
        self.assertOk(restarted.run_event(make_event(2, meta={}), ALL))
