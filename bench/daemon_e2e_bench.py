#!/usr/bin/env python3
"""End-to-end benchmarks of the daemon (issue 4): the real sgeventd against a real sandbox
site over loopback, with compiled no-op exec plugins (sgeventd-test-worker). Prints JSON.

  python3 bench/daemon_e2e_bench.py [--build build] [--events 20000] [--plugins 10]

  throughput   N no-op plugins, E events generated at once: events/s from the write until
               every plugin's committed cursor reached the last event (read from the state);
  slow_beside  9 fast plugins + 1 taking 100 ms per event, 200 events: when the fast ones
               had all 200;
  memory_cpu   the daemon's RSS (workers excluded) under load and idle, and its CPU use over
               30 s idle at fetch_interval 5;
  catch_up     a daemon stopped while E events were written: api3 reads it needs to catch up.
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


def cursors(d):
    try:
        with sqlite3.connect("file:%s?mode=ro" % d.state_file, uri=True, timeout=1) as db:
            return dict(db.execute("SELECT name, cursor FROM plugins").fetchall())
    except sqlite3.Error:
        return {}


def all_reached(d, names, last):
    c = cursors(d)
    return all((c.get(n) or 0) >= last for n in names)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait(condition, timeout=300, interval=0.002):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(interval)


EXTRA = ""  # config text added to every daemon's file (--admin off)


def noop_daemon(h, tmp, site, name, names, keys):
    d = h.Daemon(os.path.join(tmp, name), site.url, {}, keys, extra=EXTRA)
    for n in names:
        with open(os.path.join(d.plugin_dir, n + ".plugin"), "w") as f:
            f.write("[plugin]\ncommand = %s\n" % h.TEST_WORKER)
    return d


def scrape(d, hz, stop, count):
    """GET /status `hz` times a second until `stop` is set (an operator's dashboard)."""
    import urllib.request
    url = None
    while not stop.is_set():
        if url is None:
            try:
                with open(d.pid_file + ".status") as f:
                    url = json.load(f).get("admin")
            except (OSError, ValueError):
                pass
        if url:
            with urllib.request.urlopen(url + "/status", timeout=10) as answer:
                answer.read()
            count[0] += 1
        stop.wait(1.0 / hz)


def bench_throughput(h, tmp, plugins, events, scrape_hz=0, idle=True):
    import threading
    site = h.Sandbox()
    try:
        names = ["noop%d" % i for i in range(plugins)]
        # A short fetch_interval so the first poll does not wait: this measures throughput.
        d = noop_daemon(h, tmp, site, "throughput", names, {"fetch_interval": "0.05"})
        d.start()
        stop, scrapes = threading.Event(), [0]
        scraper = threading.Thread(target=scrape, args=(d, scrape_hz, stop, scrapes))
        if scrape_hz:
            scraper.start()
        peak = rss_kb(d.proc.pid)
        cpu0 = cpu_seconds(d.proc.pid)
        ids = site.generate(events)
        start = time.monotonic()  # the events exist from here
        last = ids[-1]
        while not all_reached(d, names, last):
            peak = max(peak, rss_kb(d.proc.pid))
            time.sleep(0.005)
        elapsed = time.monotonic() - start
        cpu = cpu_seconds(d.proc.pid) - cpu0
        stop.set()
        if scrape_hz:
            scraper.join()
        d.stop()
        result = {"plugins": plugins, "events": len(ids), "seconds": round(elapsed, 3),
                  "events_per_s": round(len(ids) / elapsed), "daemon_cpu_s": round(cpu, 2),
                  "daemon_rss_peak_mb": round(peak / 1024, 1), "status_scrapes": scrapes[0]}
        if not idle:
            return result

        # Idle: the same daemon with the default fetch_interval (5 s).
        idle = noop_daemon(h, tmp, site, "idle", names, {"fetch_interval": "5"})
        idle.start()
        time.sleep(2)
        idle_rss = rss_kb(idle.proc.pid)
        cpu0, t0 = cpu_seconds(idle.proc.pid), time.monotonic()
        time.sleep(30)
        idle_cpu = (cpu_seconds(idle.proc.pid) - cpu0) / (time.monotonic() - t0)
        idle.stop()
        result.update({"daemon_rss_idle_mb": round(idle_rss / 1024, 1),
                       "idle_cpu_percent_fetch_interval_5": round(idle_cpu * 100, 2)})
        return result
    finally:
        site.stop()


def bench_slow_beside(h, tmp):
    site = h.Sandbox()
    try:
        fast = ["fast%d" % i for i in range(9)]
        d = h.Daemon(os.path.join(tmp, "slow"), site.url, {}, {})
        for n in fast + ["slow"]:
            with open(os.path.join(d.plugin_dir, n + ".plugin"), "w") as f:
                f.write("[plugin]\ncommand = %s\nargs = %s\n"
                        % (h.TEST_WORKER, "--sleep-ms 100" if n == "slow" else ""))
        d.start()
        start = time.monotonic()
        ids = site.generate(200)
        wait(lambda: all_reached(d, fast, ids[-1]))
        fast_done = time.monotonic() - start
        slow_cursor = cursors(d).get("slow") or 0
        d.stop()
        return {"events": len(ids), "fast_all_done_s": round(fast_done, 3),
                "slow_events_done_then": max(0, slow_cursor - ids[0] + 1)}
    finally:
        site.stop()


def bench_catch_up(h, tmp, plugins, events):
    site = h.Sandbox()
    try:
        names = ["p%d" % i for i in range(plugins)]
        d = h.Daemon(os.path.join(tmp, "catchup"), site.url, {}, {})
        for n in names:
            with open(os.path.join(d.plugin_dir, n + ".plugin"), "w") as f:
                f.write("[plugin]\ncommand = %s\n" % h.TEST_WORKER)
        d.start()
        d.stop()
        ids = site.generate(events)
        before = site.control("counters")["requests"].get("read", 0)
        start = time.monotonic()
        d.start()
        wait(lambda: all_reached(d, names, ids[-1]))
        elapsed = time.monotonic() - start
        reads = site.control("counters")["requests"].get("read", 0) - before
        d.stop()
        return {"plugins": plugins, "events": len(ids), "reads": reads,
                "seconds_incl_startup": round(elapsed, 3)}
    finally:
        site.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(HERE, os.pardir, "build"))
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--plugins", type=int, default=10)
    parser.add_argument("--only", choices=["throughput", "slow_beside", "catch_up"])
    parser.add_argument("--admin", choices=["on", "off"], default="on",
                        help="[admin] enabled (the admin API's cost: compare the two)")
    parser.add_argument("--scrape-hz", type=float, default=0,
                        help="GET /status this often during the throughput run")
    parser.add_argument("--skip-idle", action="store_true",
                        help="throughput without the 30 s idle measurement after it")
    args = parser.parse_args()
    global EXTRA
    if args.admin == "off":
        EXTRA = "[admin]\nenabled = false\n"
    build = os.path.abspath(args.build)
    os.environ["SGEVENTD_BIN"] = os.path.join(build, "bin", "sgeventd")
    os.environ["SGEVENTD_TEST_WORKER_BIN"] = os.path.join(build, "bin", "sgeventd-test-worker")
    import harness as h  # noqa: E402  (reads the environment above)

    out = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="sgeventd-bench-") as tmp:
        if args.only in (None, "throughput"):
            out["throughput"] = bench_throughput(h, tmp, args.plugins, args.events,
                                                 args.scrape_hz, not args.skip_idle)
        if args.only in (None, "slow_beside"):
            out["slow_beside"] = bench_slow_beside(h, tmp)
        if args.only in (None, "catch_up"):
            out["catch_up"] = bench_catch_up(h, tmp, args.plugins, args.events)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
