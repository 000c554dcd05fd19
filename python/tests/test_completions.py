"""Protocol feature "completions" (docs/plugin-protocol.md): the worker notes, in the file the
daemon names in ``load``, every event whose callbacks of that plugin all succeeded, before it
answers; it holds a lock on the file while it lives."""

import os
import struct
import subprocess
import sys

from harness import PLUGINS, WorkerTestCase, make_event

STOP = os.path.join(PLUGINS, "stop_on_error.py")
ALL = [("stop_on_error", 0), ("stop_on_error", 1), ("stop_on_error", 2)]
SLOTS = 8
GOOD = """
def registerCallbacks(reg):
    reg.registerCallback("s", "k", cb)
def cb(sg, logger, event, args):
    pass
"""


def lay_out(path, slots=SLOTS):
    """The file as the daemon lays it out (src/workers/completion_log.cpp)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<8sIIQ", b"SGEVDONE", 1, slots, 0).ljust(64, b"\0"))
        f.write(b"\0" * 16 * slots)
    return path


def noted(path):
    """The ids the file records, oldest first, checked as the daemon checks them."""
    with open(path, "rb") as f:
        data = f.read()
    magic, version, slots, count = struct.unpack_from("<8sIIQ", data, 0)
    assert magic == b"SGEVDONE" and version == 1, data[:24]
    ids = []
    for n in range(max(0, count - slots), count):
        event_id, ordinal = struct.unpack_from("<qQ", data, 64 + 16 * (n % slots))
        if ordinal == n + 1:
            ids.append(event_id)
    return ids


class CompletionsTest(WorkerTestCase):
    def load(self, worker, path, name=None, completions=None):
        name = name or os.path.splitext(os.path.basename(path))[0]
        ref = {"name": name, "path": path}
        if completions:
            ref["completions"] = {"path": completions}
        worker.send({"type": "load", "plugin": ref})
        message = worker.next()
        self.assertEqual(message["type"], "loaded", message)
        return message

    def test_hello_announces_the_feature(self):
        worker = self.start(hello=False)
        self.assertIn("completions", worker.hello()["features"])

    def test_successful_events_are_noted_before_their_answer_and_failures_are_not(self):
        done = lay_out(os.path.join(self.tmp, "p.done"))
        worker = self.start()
        self.load(worker, STOP, completions=done)
        self.assertOk(worker.run_event(make_event(1, meta={}), ALL))
        self.assertEqual(noted(done), [1], "noted by the time the answer came")
        worker.run_event(make_event(2, meta={"fail": "soft"}), ALL)
        self.assertOk(worker.run_event(make_event(3, meta={}), ALL))
        self.assertEqual(noted(done), [1, 3], "an event a callback failed on runs again")
        worker.run_event(make_event(4, meta={"fail": "hard"}), ALL)  # stops the plugin
        worker.run_event(make_event(5, meta={}), ALL)  # answered skipped, never run
        self.assertEqual(noted(done), [1, 3])

    def test_the_ring_keeps_the_newest_and_a_new_worker_goes_on_after_the_old_one(self):
        done = lay_out(os.path.join(self.tmp, "p.done"))
        worker = self.start()
        self.load(worker, STOP, completions=done)
        for event_id in range(1, 11):
            worker.run_event(make_event(event_id, meta={}), ALL)
        self.assertEqual(worker.shutdown(), 0)
        again = self.start()
        self.load(again, STOP, completions=done)
        again.run_event(make_event(11, meta={}), ALL)
        self.assertEqual(noted(done), list(range(4, 12)))

    def test_each_plugin_of_a_folder_worker_notes_only_its_own_successes(self):
        good = self.write_plugin("good", GOOD)
        done_good = lay_out(os.path.join(self.tmp, "good.done"))
        done_stop = lay_out(os.path.join(self.tmp, "stop.done"))
        worker = self.start(per="path")
        self.load(worker, good, completions=done_good)
        self.load(worker, STOP, completions=done_stop)
        worker.run_event(make_event(7, meta={"fail": "soft"}), [("good", 0)] + ALL)
        self.assertEqual(noted(done_good), [7])
        self.assertEqual(noted(done_stop), [])

    def test_only_the_plugins_an_event_was_for_note_it(self):
        good = self.write_plugin("good", GOOD)
        done_good = lay_out(os.path.join(self.tmp, "good.done"))
        worker = self.start(per="path")
        self.load(worker, good, completions=done_good)
        self.load(worker, STOP)  # no completion file
        worker.run_event(make_event(1, meta={}), ALL)  # for the other plugin only
        worker.run_event(make_event(2, meta={}), [("good", 0)])
        worker.run_event(make_event(3, meta={}), [("good", 7)])  # no such callback: failed
        self.assertEqual(noted(done_good), [2])

    def test_the_worker_holds_the_lock_while_it_lives(self):
        done = lay_out(os.path.join(self.tmp, "p.done"))
        worker = self.start()
        self.load(worker, STOP, completions=done)
        worker.sync()
        probe = (
            "import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDWR)\n"
            "try:\n"
            "    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "except OSError:\n"
            "    sys.exit(3)\n"
        )
        held = subprocess.call([sys.executable, "-c", probe, done])
        self.assertEqual(held, 3, "another process could take the lock")
        self.assertEqual(worker.shutdown(), 0)
        self.assertEqual(subprocess.call([sys.executable, "-c", probe, done]), 0)

    def test_a_file_it_cannot_use_is_a_warning_and_events_still_run(self):
        bad = os.path.join(self.tmp, "not-laid-out.done")
        with open(bad, "wb") as f:
            f.write(b"short")
        worker = self.start()
        self.load(worker, STOP, completions=bad)
        self.assertOk(worker.run_event(make_event(1, meta={}), ALL))
        worker.sync()
        warnings = [m["message"] for m in worker.logs if m["level"] == 30]
        self.assertTrue(any("Cannot note completed events" in w for w in warnings), warnings)
        link = os.path.join(self.tmp, "link.done")
        os.symlink(lay_out(os.path.join(self.tmp, "target.done")), link)
        other = self.start()
        self.load(other, STOP, completions=link)
        self.assertOk(other.run_event(make_event(2, meta={}), ALL))
        self.assertEqual(noted(os.path.join(self.tmp, "target.done")), [], "symlink followed")


if __name__ == "__main__":
    import unittest

    unittest.main()
