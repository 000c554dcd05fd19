#!/usr/bin/env python3
"""How long a trigger waits: from an event's creation to its callback's start, under the real
daemon against `sgeventd sandbox` on loopback (docs/webhooks.md). Prints JSON. Run by hand:

    python3 bench/latency_bench.py --bin build/bin/sgeventd [--only webhooks|slice|idle]
        [--events 100] [--slice-minutes 10] [--warm-minutes 5] [--seed 1]

- webhooks: the sandbox sends a signed webhook for each event to the daemon's /webhook;
  fetch_interval = 5 with the defaults otherwise. Events are Shot updates made one at a time
  through the api3 client (the shotgun_api3 stand-in: sgeventd's client behind the api3
  interface), 0.3-1.5 s apart; one Python plugin notes the time its callback starts.
- slice: no webhooks. Two daemons on the same site side by side, fixed 5 s poll
  (adaptive_polling = off) and adaptive (the default), for a real slice of the simulated
  working day of bench_poll_schedule (bursts of 1-20 events 0-2 s apart, 5 s to 10 min of
  quiet between them, seeded): latency p50/p95 and the reads each made.
- idle: the daemon's CPU (its whole process tree) over 60 s with nothing happening.
"""

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from python_e2e_bench import Sandbox, wait_for
from python_memory_bench import cpu_s, tree

HERE = os.path.dirname(os.path.abspath(__file__))

PLUGIN = '''
import os, time
OUT = os.environ["BENCH_OUT"] + "/%s.txt"


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", seen, {"Shotgun_Shot_Change": ["description"]})


def seen(sg, logger, event, args):
    started = time.time()
    with open(OUT, "a") as f:
        f.write("%%s %%.6f\\n" %% (event["meta"]["new_value"], started))
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(condition, timeout=120):
    return wait_for(condition, timeout, interval=0.01)


class Daemon:
    def __init__(self, binary, tmp, name, site, keys, admin_port, secret=""):
        self.folder = os.path.join(tmp, name)
        self.name = name
        plugins = os.path.join(self.folder, "plugins")
        os.makedirs(plugins)
        with open(os.path.join(plugins, "latency.py"), "w") as f:
            f.write(PLUGIN % name)
        self.out = os.path.join(tmp, name + ".txt")
        self.admin = "http://127.0.0.1:%d" % admin_port
        lines = ["[daemon]", "pidFile = %s/d.pid" % self.folder,
                 "eventIdFile = %s/state" % self.folder, "logPath = %s" % self.folder,
                 "logFile = d.log"] + ["%s = %s" % kv for kv in keys.items()]
        lines += ["[shotgun]", "server = " + site, "name = sandbox", "key = sandbox-key",
                  "[plugins]", "paths = " + plugins,
                  "[admin]", "port = %d" % admin_port, "webhook_secret = " + secret]
        self.config = os.path.join(self.folder, "d.conf")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        env = dict(os.environ, BENCH_OUT=tmp)
        self.proc = subprocess.Popen([binary, "foreground", "-c", self.config], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait(lambda: "Polling " in self.log())

    def log(self):
        try:
            with open(os.path.join(self.folder, "d.log")) as f:
                return f.read()
        except OSError:
            return ""

    def status(self):
        with urllib.request.urlopen(self.admin + "/status", timeout=10) as answer:
            return json.loads(answer.read())

    def seen(self):
        """{token: callback start time}."""
        out = {}
        try:
            with open(self.out) as f:
                for line in f:
                    token, t = line.split()
                    out[token] = float(t)
        except OSError:
            pass
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def api3(site):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(args.bin)), "..", "lib",
                                    "sgeventd", "python", "standin"))
    import shotgun_api3
    sg = shotgun_api3.Shotgun(site, "sandbox", "sandbox-key")
    project = sg.create("Project", {"name": "bench"})
    shot = sg.create("Shot", {"code": "sh010", "project": project})
    return sg, shot["id"]


def percentiles(waits):
    waits = sorted(waits)
    if not waits:
        return {}
    at = lambda p: waits[min(len(waits) - 1, int(p * (len(waits) - 1) + 0.5))]
    return {"events": len(waits), "p50_ms": round(at(0.5) * 1000, 1),
            "p95_ms": round(at(0.95) * 1000, 1), "max_ms": round(waits[-1] * 1000, 1)}


def bench_webhooks(tmp, events):
    secret = "bench-secret"
    port = free_port()
    site = Sandbox(args.bin, ["--webhook-url", "http://127.0.0.1:%d/webhook" % port,
                              "--webhook-secret", secret])
    try:
        sg, shot = api3(site.url)
        d = Daemon(args.bin, tmp, "webhooks", site.url, {"fetch_interval": "5"}, port, secret)
        time.sleep(2)
        rng = random.Random(args.seed)
        created = {}
        for i in range(events):
            token = "w%d" % i
            created[token] = time.time()
            sg.update("Shot", shot, {"description": token})
            time.sleep(rng.uniform(0.3, 1.5))
        wait(lambda: len(d.seen()) >= events, timeout=60)
        seen = d.seen()
        wait(lambda: d.status()["webhook_reads"] >= events, timeout=10)  # the next snapshot
        status = d.status()
        d.stop()
        out = percentiles([seen[t] - created[t] for t in created])
        out.update({"polls": status["polls"], "webhook_reads": status["webhook_reads"],
                    "webhooks": status.get("webhooks")})
        return out
    finally:
        site.stop()


def working_day(seed, minutes):
    """bench_poll_schedule's pattern (source/poll_simulation.cpp), in seconds from 0."""
    rng = random.Random(seed)
    out, t, end = [], 0.0, minutes * 60
    while True:
        t += rng.uniform(5, 600)
        for _ in range(rng.randint(1, 20)):
            if t >= end:
                return out
            out.append(t)
            t += rng.uniform(0, 2)


def bench_slice(tmp, minutes):
    site = Sandbox(args.bin)
    try:
        sg, shot = api3(site.url)
        fixed = Daemon(args.bin, tmp, "fixed", site.url,
                       {"fetch_interval": "5", "adaptive_polling": "off"}, free_port())
        adaptive = Daemon(args.bin, tmp, "adaptive", site.url, {"fetch_interval": "5"},
                          free_port())
        # A slice of the day, not a fresh start: the daemons have run a while (a quiet spell
        # of --warm-minutes) when the slice begins, as a daemon that runs all day has.
        for d in (fixed, adaptive):
            wait(lambda: "polls" in d.status())
        time.sleep(args.warm_minutes * 60)
        polls0 = {d.name: d.status()["polls"] for d in (fixed, adaptive)}
        times = working_day(args.seed, minutes)
        start = time.time()
        created = {}
        for i, at in enumerate(times):
            delay = start + at - time.time()
            if delay > 0:
                time.sleep(delay)
            token = "s%d" % i
            created[token] = time.time()
            sg.update("Shot", shot, {"description": token})
        rest = start + minutes * 60 - time.time()
        if rest > 0:
            time.sleep(rest)
        out = {"minutes": minutes, "warm_minutes": args.warm_minutes, "events": len(times)}
        for d in (fixed, adaptive):
            wait(lambda: len(d.seen()) >= len(times), timeout=60)
            seen = d.seen()
            r = percentiles([seen[t] - created[t] for t in created])
            r["reads"] = d.status()["polls"] - polls0[d.name]
            out[d.name] = r
            d.stop()
        # The model (source/poll_simulation.h) on the same creation times, to hold the daemon
        # to it: the day-long numbers of bench_poll_schedule rest on it. It starts fresh at the
        # slice's start (no warm-up, its own phase), so compare it with a cold slice
        # (--warm-minutes 0) for a close match.
        model = os.path.join(os.path.dirname(os.path.abspath(args.bin)), "bench_poll_schedule")
        times_file = os.path.join(tmp, "times.txt")
        with open(times_file, "w") as f:
            f.write("\n".join("%.3f" % t for t in times) + "\n")
        if os.path.exists(model):
            out["model"] = json.loads(subprocess.run([model, "--times", times_file],
                                                     capture_output=True, text=True).stdout)
        out["ratio"] = {"p50": round(out["adaptive"]["p50_ms"] / out["fixed"]["p50_ms"], 3),
                        "p95": round(out["adaptive"]["p95_ms"] / out["fixed"]["p95_ms"], 3),
                        "reads": round(out["adaptive"]["reads"] / out["fixed"]["reads"], 3)}
        return out
    finally:
        site.stop()


def tree_cpu_s(pid):
    """User + system CPU seconds of pid and all its descendants (the fork server's workers are
    its grandchildren), the live ones."""
    return sum(cpu_s(p) for p in tree(pid))


def bench_idle(tmp):
    site = Sandbox(args.bin)
    try:
        d = Daemon(args.bin, tmp, "idle", site.url, {"fetch_interval": "5"}, free_port())
        time.sleep(10)
        before, t0 = tree_cpu_s(d.proc.pid), time.monotonic()
        time.sleep(60)
        used, elapsed = tree_cpu_s(d.proc.pid) - before, time.monotonic() - t0
        status = d.status()
        d.stop()
        return {"seconds": round(elapsed, 1), "cpu_s": round(used, 3),
                "cpu_percent": round(100 * used / elapsed, 3), "polls": status["polls"]}
    finally:
        site.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="sgeventd-latency-")
    out = {"machine": os.uname().nodename, "cores": os.cpu_count()}
    try:
        if args.only in (None, "webhooks"):
            out["webhooks"] = bench_webhooks(tmp, args.events)
        if args.only in (None, "slice"):
            out["slice"] = bench_slice(tmp, args.slice_minutes)
        if args.only in (None, "idle"):
            out["idle"] = bench_idle(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin", "sgeventd"))
    parser.add_argument("--only", choices=["webhooks", "slice", "idle"])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--slice-minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warm-minutes", type=float, default=5,
                        help="slice: how long the daemons run before the slice starts")
    args = parser.parse_args()
    main()
