#!/usr/bin/env python3
"""The Python worker's cost per event for completion records (protocol feature "completions"):
the block Worker.dispatch runs after an event's callbacks (find the event's id, note it in each
plugin's memory-mapped file), timed in-process against the same call doing nothing. Prints
JSON with a machine-speed probe (this VM's speed drifts).

  python3 python/bench/completion_note_bench.py     # under the interpreter to measure
"""

import json
import os
import struct
import sys
import tempfile
import time
import timeit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from sgeventd_worker.completions import CompletionLog, note  # noqa: E402


def probe():
    started = time.perf_counter()
    total = 0
    for i in range(3000000):
        total += i
    return time.perf_counter() - started


def main():
    folder = tempfile.mkdtemp(prefix="sgeventd-note-")
    path = os.path.join(folder, "p.done")
    with open(path, "wb") as f:
        f.write(struct.pack("<8sIIQ", b"SGEVDONE", 1, 4096, 0).ljust(64, b"\0"))
        f.write(b"\0" * 16 * 4096)
    log = CompletionLog(path)

    class Plugin(object):
        completions = log
        stopped = False

    resolved = [(Plugin(), object(), None)]
    event = {"id": 12345}
    failed = None

    only = resolved[0][0]

    def alone():  # as Worker.dispatch does it for a worker's one plugin (the default)
        if only is not None:
            if failed is None and not only.stopped and event.__class__ is dict:
                event_id = event.get("id")
                if event_id.__class__ is int:
                    note(only.completions, event_id)

    def with_note():  # as Worker.dispatch does it for a folder's plugins (worker_per = path)
        if event.__class__ is dict:
            event_id = event.get("id")
            if event_id.__class__ is int:
                noted = None
                for plugin, cb, missing in resolved:
                    if plugin is None or plugin is noted:
                        continue
                    noted = plugin
                    completions = plugin.completions
                    if completions is not None and not plugin.stopped and (
                        failed is None or plugin not in failed
                    ):
                        note(completions, event_id)

    def without():
        pass

    n = 500000
    before = probe()
    one = min(timeit.repeat(alone, number=n, repeat=7)) / n
    noted = min(timeit.repeat(with_note, number=n, repeat=7)) / n
    empty = min(timeit.repeat(without, number=n, repeat=7)) / n
    print(json.dumps({
        "python": sys.version.split()[0],
        "machine_probe_s": {"before": round(before, 3), "after": round(probe(), 3)},
        "per_event_us_one_plugin": round((one - empty) * 1e6, 3),
        "per_event_us_folder_worker": round((noted - empty) * 1e6, 3),
    }))
    log.close()
    os.remove(path)
    os.rmdir(folder)


if __name__ == "__main__":
    main()
