#!/usr/bin/env python3
"""What server-side filters save the site: the real sgeventd against a real sandbox over
loopback, one exec plugin (sgeventd-test-worker) taking only Shot description changes, and E
events of which 1 in 100 matches (Asset changes otherwise). Prints JSON.

  python3 bench/filter_read_bench.py [--build build] [--events 10000]

For server_side_filters off and on: the api3 read requests the daemon made and the bytes of
their answers (the sandbox's counters, before compression), from the first event written until
the plugin's committed cursor passed the last one, and the gap rows left in the state.
"""

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "daemon"))

MATCH = """--match '{"Shotgun_Shot_Change": ["description"]}'"""


def state(d, query):
    try:
        with sqlite3.connect("file:%s?mode=ro" % d.state_file, uri=True, timeout=1) as db:
            return db.execute(query).fetchall()
    except sqlite3.Error:
        return []


def run(h, tmp, filters, events):
    site = h.Sandbox()
    try:
        d = h.Daemon(os.path.join(tmp, "filters-" + filters), site.url, {"shots": MATCH},
                     {"server_side_filters": filters, "fetch_interval": "1"})
        d.start()
        site.control("counters")  # warm
        before = site.control("counters")
        start = time.monotonic()
        last = 0
        for _ in range(events // 100):
            site.control("generate", {"count": 99, "entity_type": "Asset"})
            last = site.control("generate", {"count": 1})["last_id"]
        deadline = time.monotonic() + 300
        while not any((c or 0) >= last for (c,) in state(d, "SELECT cursor FROM plugins")):
            if time.monotonic() > deadline:
                raise SystemExit("timed out")
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        after = site.control("counters")
        gaps = state(d, "SELECT COUNT(*) FROM gaps")[0][0]
        d.stop()
        delivered = len(d.records("shots"))
        return {
            "server_side_filters": filters,
            "events_written": site.last_id(),
            "delivered": delivered,
            "read_requests": after["requests"].get("read", 0) - before["requests"].get("read", 0),
            "reply_bytes": after["reply_bytes"] - before["reply_bytes"],
            "gap_rows_at_the_end": gaps,
            "seconds": round(elapsed, 2),
        }
    finally:
        site.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(HERE, os.pardir, "build"))
    parser.add_argument("--events", type=int, default=10000)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    os.environ["SGEVENTD_BIN"] = os.path.join(build, "bin", "sgeventd")
    os.environ["SGEVENTD_TEST_WORKER_BIN"] = os.path.join(build, "bin", "sgeventd-test-worker")
    import harness as h  # noqa: E402  (reads the environment above)

    out = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="sgeventd-bench-") as tmp:
        for filters in ("off", "on"):
            out["runs"].append(run(h, tmp, filters, args.events))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
