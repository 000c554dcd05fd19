"""The worker protocol v1 as docs/plugin-protocol.md states it, seen from the daemon's side."""

import json
import os
import sys
import time

from harness import PLUGINS, WorkerTestCase, make_event


class HandshakeTest(WorkerTestCase):
    def test_hello_names_worker_version_and_runtime(self):
        worker = self.start(hello=False)
        hello = worker.hello()
        self.assertEqual(hello["protocol"], 1)
        self.assertTrue(hello["worker"].startswith("sgeventd-python-worker "))
        self.assertEqual(
            hello["runtime"], "CPython %d.%d.%d" % tuple(sys.version_info[:3])
        )

    def test_worker_version_matches_the_project_version(self):
        import re

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(root, "CMakeLists.txt")) as f:
            project = re.search(r"project\(sgeventd VERSION (\S+)", f.read()).group(1)
        worker = self.start(hello=False)
        self.assertEqual(worker.hello()["worker"], "sgeventd-python-worker " + project)

    def test_unsupported_protocol_is_an_error_and_exit_3(self):
        worker = self.start(hello=False)
        worker.send({"type": "hello", "protocol": 0, "site": {}, "config": {}})
        error = worker.expect("error")
        self.assertIn("protocol", error["message"])
        self.assertEqual(worker.wait(), 3)

    def test_ping_is_answered_with_its_seq(self):
        worker = self.start()
        worker.send({"type": "ping", "seq": 77})
        self.assertEqual(worker.expect("pong")["seq"], 77)

    def test_shutdown_says_bye_and_exits_0(self):
        worker = self.start()
        self.assertEqual(worker.shutdown(), 0)

    def test_end_of_input_exits_0(self):
        worker = self.start()
        worker.proc.stdin.close()
        self.assertEqual(worker.wait(), 0)

    def test_stdout_carries_only_json_objects(self):
        path = self.write_plugin(
            "noisy",
            """
            import os, subprocess, sys
            print("print at import")
            os.write(1, b"raw write to fd 1\\n")
            subprocess.call([sys.executable, "-c", "print('child process output')"])
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                print("print in callback")
                sys.stdout.write("partial")
                os.system("echo from a shell")
            """,
        )
        worker = self.start()
        self.assertEqual(worker.load(path)["type"], "loaded")
        self.assertOk(worker.run_event(make_event(1), [("noisy", 0)]))
        self.assertEqual(worker.shutdown(), 0)
        for line in worker.raw_lines:
            self.assertIsInstance(json.loads(line.decode()), dict)
        printed = self.messages(worker, "plugin.noisy")
        self.assertEqual(printed, ["print at import", "print in callback", "partial"])
        stderr = "".join(worker.stderr_lines)
        for text in ("raw write to fd 1", "child process output", "from a shell"):
            self.assertIn(text, stderr)


class TimingTest(WorkerTestCase):
    PLUGIN = """
def registerCallbacks(reg):
    reg.registerCallback("s", "k", ok)
    reg.registerCallback("s", "k", fails, stopOnError=False)
def ok(sg, logger, event, args):
    pass
def fails(sg, logger, event, args):
    raise ValueError("no")
"""

    def test_with_the_timing_log_on_each_entry_says_when_its_callback_started(self):
        worker = self.start(timing=True)
        worker.load(self.write_plugin("timed", self.PLUGIN))
        before = time.time()
        results = worker.run_event(make_event(1), [("timed", 0), ("timed", 1)])
        after = time.time()
        for entry in results:
            self.assertTrue(before <= entry["started"] <= after, (before, entry, after))
        self.assertFalse(results[1]["ok"])

    def test_without_it_nothing_is_added(self):
        worker = self.start()
        worker.load(self.write_plugin("timed", self.PLUGIN))
        results = worker.run_event(make_event(1), [("timed", 0), ("timed", 1)])
        self.assertEqual([("started" in entry) for entry in results], [False, False])


class MalformedInputTest(WorkerTestCase):
    def test_bad_lines_are_reported_and_the_worker_goes_on(self):
        worker = self.start()
        worker.send(b"this is not json\n")
        self.assertIn("not a JSON line", worker.expect("error")["message"])
        worker.send(b"[1, 2]\n")
        self.assertIn("JSON object", worker.expect("error")["message"])
        worker.send({"type": "frobnicate", "seq": 9})
        error = worker.expect("error")
        self.assertIn("frobnicate", error["message"])
        self.assertEqual(error["seq"], 9)
        worker.send(b"\n\n")
        worker.sync()

    def test_event_for_unknown_callbacks_fails_those_entries_only(self):
        worker = self.start()
        worker.load(os.path.join(PLUGINS, "shared_state_args.py"))
        results = worker.run_event(
            make_event(1),
            [("shared_state_args", 0), ("nope", 0), ("shared_state_args", 9)],
        )
        self.assertEqual([r["ok"] for r in results], [True, False, False])
        self.assertIn("not loaded", results[1]["error"])
        self.assertIn("no callback 9", results[2]["error"])
        only_unknown = worker.run_event(make_event(2), [("nope", 1)])
        self.assertEqual([r["ok"] for r in only_unknown], [False])
        self.assertEqual(worker.run_event(make_event(3), []), [])
        worker.send({"type": "event", "seq": 99, "callbacks": []})
        self.assertIn("event", worker.expect("error")["message"])


class PipelineTest(WorkerTestCase):
    def test_pipelined_events_are_answered_in_order(self):
        worker = self.start()
        worker.load(os.path.join(PLUGINS, "shared_state_args.py"))
        count = 500
        lines = []
        for i in range(1, count + 1):
            lines.append(
                json.dumps(
                    {
                        "type": "event",
                        "seq": i,
                        "late": False,
                        "event": make_event(i),
                        "callbacks": [
                            {"plugin": "shared_state_args", "index": 0},
                            {"plugin": "shared_state_args", "index": 1},
                        ],
                    }
                )
            )
        lines.append(json.dumps({"type": "ping", "seq": count + 1}))
        worker.send(("\n".join(lines) + "\n").encode())
        for i in range(1, count + 1):
            result = worker.expect("result")
            self.assertEqual(result["seq"], i)
            self.assertEqual([r["index"] for r in result["results"]], [0, 1])
            self.assertOk(result["results"])
        self.assertEqual(worker.expect("pong")["seq"], count + 1)
        last = self.messages(worker, "plugin.shared_state_args.reportState")[-1]
        self.assertTrue(last.startswith("calls=%d ids=1,2,3," % count))

    def test_shutdown_after_queued_events_answers_them_first(self):
        path = self.write_plugin(
            "slowish",
            """
            import time
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                time.sleep(0.02)
            """,
        )
        worker = self.start()
        worker.load(path)
        for i in range(1, 6):
            worker.event(make_event(i), [("slowish", 0)])
        worker.send({"type": "shutdown", "grace_ms": 5000})
        for i in range(1, 6):
            self.assertEqual(worker.expect("result")["seq"], i)
        worker.expect("bye")
        self.assertEqual(worker.wait(), 0)

    def test_slow_results_are_not_held_back(self):
        # The result of a slow event must leave before the next event is run.
        path = self.write_plugin(
            "sleepy",
            """
            import time
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                time.sleep(0.3 if event["id"] == 2 else 0.05)
            """,
        )
        worker = self.start()
        worker.load(path)
        for i in range(1, 4):
            worker.event(make_event(i), [("sleepy", 0)])
        start = time.time()
        self.assertEqual(worker.expect("result")["seq"], 1)
        first = time.time() - start
        self.assertLess(first, 0.3, "result 1 waited for event 2")
        for i in (2, 3):
            self.assertEqual(worker.expect("result")["seq"], i)


class LargeAndUnicodeTest(WorkerTestCase):
    def test_large_event(self):
        path = self.write_plugin(
            "sizes",
            """
            def registerCallbacks(reg):
                reg.registerCallback("s", "k", cb)
            def cb(sg, logger, event, args):
                logger.info("len=%d", len(event["meta"]["blob"]))
            """,
        )
        worker = self.start()
        worker.load(path)
        blob = "x" * (8 * 1024 * 1024)
        self.assertOk(worker.run_event(make_event(1, meta={"blob": blob}), [("sizes", 0)]))
        self.assertEqual(self.messages(worker, "plugin.sizes.cb"), ["len=%d" % len(blob)])

    def test_unicode_in_events_logs_and_names(self):
        path = self.write_plugin(
            "unicode_plugin",
            """
            # -*- coding: utf-8 -*-
            def registerCallbacks(reg):
                reg.registerCallback("script_\u00e9t\u00e9", "k", cb)
            def cb(sg, logger, event, args):
                name = event["entity"]["name"]
                logger.info(u"shot %s \u2713", name)
                print(name[::-1])
            """,
        )
        worker = self.start()
        loaded = worker.load(path)
        self.assertEqual(loaded["callbacks"][0]["script_name"], u"script_\u00e9t\u00e9")
        name = u"\u30b7\u30e7\u30c3\u30c8 \U0001F3AC caf\u00e9"
        event = make_event(1, entity={"type": "Shot", "id": 3, "name": name})
        self.assertOk(worker.run_event(event, [("unicode_plugin", 0)]))
        self.assertEqual(
            self.messages(worker, "plugin.unicode_plugin.cb"), [u"shot %s \u2713" % name]
        )
        self.assertEqual(self.messages(worker, "plugin.unicode_plugin"), [name[::-1]])


class DaemonLayoutTest(WorkerTestCase):
    """The daemon's own event layout takes a fast path (worker.on_daemon_event); anything else
    the general one. Both must answer alike."""

    PLUGIN = """
        def registerCallbacks(reg):
            reg.registerCallback("s", "k", first)
            reg.registerCallback("s", "k", second, stopOnError=False)
        def describe(value):
            if isinstance(value, dict):
                return "{" + ",".join("%s:%s" % (k, describe(v)) for k, v in sorted(value.items())) + "}"
            if isinstance(value, list):
                return "[" + ",".join(describe(v) for v in value) + "]"
            return "%s=%r" % (type(value).__name__, value)
        def first(sg, logger, event, args):
            logger.info(describe(event))
        def second(sg, logger, event, args):
            pass
        """

    @staticmethod
    def daemon_line(seq, event, refs, late=False):
        """As src/workers/protocol.cpp append_event writes it."""
        return (
            '{"type":"event","seq":%d,"late":%s,"event":%s,"callbacks":[%s]}\n'
            % (
                seq,
                "true" if late else "false",
                json.dumps(event, separators=(",", ":"), ensure_ascii=False),
                ",".join('{"plugin":%s,"index":%d}' % (json.dumps(p), i) for p, i in refs),
            )
        ).encode("utf-8")

    def test_both_layouts_give_the_same_event_and_answers(self):
        worker = self.start()
        worker.load(self.write_plugin("layout", self.PLUGIN))
        event = make_event(
            7,
            meta={"when": ["2024-03-01T10:00:00Z", {"x": "2024-03-02T11:30:00Z"}], "s": "Z\""},
        )
        refs = [("layout", 0), ("nope", 0), ("layout", 5), ("layout", 1)]
        worker.send(self.daemon_line(1, event, refs, late=True))
        fast = worker.expect("result")
        worker.send((json.dumps({"callbacks": [{"plugin": p, "index": i} for p, i in refs],
                                 "event": event, "seq": 2, "type": "event"}) + "\n").encode())
        general = worker.expect("result")
        self.assertEqual((fast["seq"], general["seq"]), (1, 2))
        for a, b in zip(fast["results"], general["results"]):
            a.pop("duration_ms")
            b.pop("duration_ms")
        self.assertEqual(fast["results"], general["results"])
        self.assertEqual([r["ok"] for r in fast["results"]], [True, False, False, True])
        worker.sync()
        seen = self.messages(worker, "plugin.layout.first")
        self.assertEqual(len(seen), 2)
        self.assertEqual(seen[0], seen[1])
        self.assertIn("created_at:datetime=", seen[0])
        self.assertIn("when:[datetime=", seen[0])
        self.assertIn("x:datetime=", seen[0])

    def test_near_misses_of_the_daemon_layout(self):
        worker = self.start()
        worker.load(self.write_plugin("layout", self.PLUGIN))
        good = self.daemon_line(5, make_event(1), [("layout", 1)])
        # Trailing data after the object is an error, as anywhere.
        worker.send(good[:-1] + b' {"more": 1}\n')
        self.assertIn("not a JSON line", worker.expect("error")["message"])
        # Leading zeros are not JSON.
        worker.send(good.replace(b'"seq":5', b'"seq":05'))
        self.assertIn("not a JSON line", worker.expect("error")["message"])
        # Spaces after the callbacks list are fine; so is a different callbacks text.
        worker.send(good[:-1] + b"  \n")
        self.assertEqual(worker.expect("result")["seq"], 5)
        worker.send(self.daemon_line(6, make_event(2), [("layout", 1), ("layout", 1)]))
        result = worker.expect("result")
        self.assertEqual([r["index"] for r in result["results"]], [1, 1])
        # A seq that is not an integer is refused before any callback runs.
        worker.send(good.replace(b'"seq":5', b'"seq":"5"'))
        self.assertIn("integer seq", worker.expect("error")["message"])

    def test_lines_split_across_reads_and_bytes_that_are_not_utf8(self):
        worker = self.start()
        worker.load(self.write_plugin("layout", self.PLUGIN))
        line = self.daemon_line(1, make_event(1, entity={"type": "Shot", "id": 1,
                                                         "name": u"caf\u00e9 \U0001F3AC"}),
                                [("layout", 1)])
        cut = line.index(b"\xc3") + 1  # in the middle of a UTF-8 character
        worker.send(line[:cut])
        time.sleep(0.2)
        worker.send(line[cut:] + b"\xff\xfe not utf-8\n" + line.replace(b'"seq":1', b'"seq":2'))
        self.assertEqual(worker.expect("result")["seq"], 1)
        self.assertIn("not a JSON line", worker.expect("error")["message"])
        self.assertEqual(worker.expect("result")["seq"], 2)
        # A last line without its newline is still read at end of input.
        worker.send(b'{"type":"shutdown","grace_ms":100}')
        worker.proc.stdin.close()
        worker.expect("bye")
        self.assertEqual(worker.wait(), 0)
