#!/usr/bin/env python3
"""How many events a plugin gets again after kill -9 of the daemon, with default settings: the
real sgeventd against a real sandbox over loopback, P Python plugins that each append the event
id to a file, E events written at once, K kills at random moments while they are delivered.
Prints JSON.

  python3 bench/kill9_replay_bench.py [--build build] [--plugins 10] [--events 5000] [--kills 5]

Per plugin: events received, distinct ones (must equal E: nothing lost) and duplicates; the
worst plugin's duplicates per kill is the number to compare (the pipeline window bounds it
without completion records; the running callback, with them).
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "daemon"))

PLUGIN = '''
import os
RECORDS = os.path.join(os.environ["RECORD_DIR"], "%s.ids")
def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", handle)
def handle(sg, logger, event, args):
    with open(RECORDS, "a") as f:
        f.write("%%d\\n" %% event["id"])
'''


def received(d, name):
    try:
        with open(os.path.join(d.out_dir, name + ".ids")) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(HERE, os.pardir, "build"))
    parser.add_argument("--plugins", type=int, default=10)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    os.environ["SGEVENTD_BIN"] = os.path.join(build, "bin", "sgeventd")
    os.environ["SGEVENTD_TEST_WORKER_BIN"] = os.path.join(build, "bin", "sgeventd-test-worker")
    import harness as h  # noqa: E402  (reads the environment above)
    import python_harness as ph  # noqa: E402

    names = ["p%02d" % i for i in range(args.plugins)]
    site = h.Sandbox()
    try:
        with tempfile.TemporaryDirectory(prefix="sgeventd-bench-") as tmp:
            d = ph.PythonDaemon(os.path.join(tmp, "d"), site.url)
            for n in names:
                d.install(n, PLUGIN % n)
            d.start()
            ids = site.generate(args.events)
            kills_mid_stream = 0
            for _ in range(args.kills):
                while not received(d, names[0]):
                    time.sleep(0.01)
                time.sleep(random.uniform(0.1, 0.4))
                d.kill9()
                kills_mid_stream += len(set(received(d, names[-1]))) < len(ids)
                d.start()
            deadline = time.monotonic() + 300
            while not all(len(set(received(d, n))) >= len(ids) for n in names):
                if time.monotonic() > deadline:
                    raise SystemExit("timed out")
                time.sleep(0.05)
            d.stop()
            per_plugin = {}
            for n in names:
                r = received(d, n)
                per_plugin[n] = {"received": len(r), "distinct": len(set(r)),
                                 "duplicates": len(r) - len(set(r))}
    finally:
        site.stop()
    worst = max(p["duplicates"] for p in per_plugin.values())
    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()},
        "events": len(ids), "kills": args.kills, "kills_mid_stream": kills_mid_stream,
        "lost": sum(len(ids) - p["distinct"] for p in per_plugin.values()),
        "worst_plugin_duplicates": worst,
        "worst_duplicates_per_kill": round(worst / max(1, args.kills), 2),
        "per_plugin": per_plugin,
    }, indent=2))


if __name__ == "__main__":
    main()
