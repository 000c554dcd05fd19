#!/usr/bin/env python3
"""High availability on PostgreSQL (issue 16): the real sgeventd on a real PostgreSQL server
(Debian's package, started here in a temp folder by tests/support/pg_server.sh with PostgreSQL's
durable defaults: fsync on) against a real sandbox. Prints JSON.

  python3 bench/ha_bench.py [--build build] [--only throughput|failover] [--events 20000]
                            [--plugins 10] [--lease 10]

  throughput  N no-op exec plugins, E events written at once: events/s from the write until
              every plugin's committed cursor reached the last event, with the state in SQLite
              and in PostgreSQL, side by side in one run (the ratio is what counts);
  failover    a leader and a standby (lease_seconds = --lease, one plugin), an event written every
              100 ms: the time from kill -9 of the leader, and from SIGSTOP of the leader, to the
              standby's first delivery of an event written after it; after SIGSTOP, whether the
              old leader delivered anything once woken (SIGCONT).

State commit latency (p50/p99 of one pass's commit of 10 cursor advances) is bench_state_commit:
  build/bin/bench_state_commit --url "postgresql:///postgres?host=DIR&port=5432&user=sgeventd"
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "daemon"))
import daemon_e2e_bench as e2e  # noqa: E402

PG_SCRIPT = os.path.join(HERE, os.pardir, "tests", "support", "pg_server.sh")


def pg(action, folder):
    env = dict(os.environ, SGEVENTD_PG_DURABLE="1")
    out = subprocess.run([PG_SCRIPT, action, folder], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    return out.stdout.strip()


def psql(url, sql):
    return subprocess.run(["psql", "-X", "-q", "-t", "-A", url, "-c", sql], capture_output=True,
                          text=True, timeout=60, check=True).stdout.strip()


def new_database(server, name):
    psql(server, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    psql(server, "CREATE DATABASE %s" % name)
    return server.replace("/postgres?", "/%s?" % name)


class Session:
    """One psql process kept open: a query costs a round trip, not a process start (which,
    every few milliseconds on 2 cores, would slow the daemon it measures)."""

    def __init__(self, url):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-t", "-A", url], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def value(self, sql):
        self.proc.stdin.write(sql + ";\n")
        return self.proc.stdout.readline().strip()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def bench_throughput(h, tmp, server, plugins, events):
    site = h.Sandbox()
    try:
        names = ["noop%d" % i for i in range(plugins)]
        result = {"plugins": plugins, "events": events}
        for store in ("sqlite", "postgresql"):
            extra = ""
            if store == "postgresql":
                url = new_database(server, "bench_throughput")
                extra = "[state]\nurl = %s\n" % url
            e2e.EXTRA = extra
            d = e2e.noop_daemon(h, tmp, site, "throughput-" + store, names,
                                {"fetch_interval": "0.05"})
            d.start()
            ids = site.generate(events)
            start = time.monotonic()
            last = ids[-1]
            if store == "sqlite":
                reached = lambda: e2e.all_reached(d, names, last)  # noqa: E731
            else:
                session = Session(url)
                # Every plugin has a row with its cursor at or past the last event.
                query = ("SELECT count(*) FROM sgeventd_plugins WHERE cursor >= %d" % last)
                reached = lambda: int(session.value(query) or 0) >= len(names)  # noqa: E731
            while not reached():
                time.sleep(0.005)
            elapsed = time.monotonic() - start
            if store == "postgresql":
                session.close()
            d.stop()
            result[store + "_seconds"] = round(elapsed, 3)
            result[store + "_events_per_s"] = round(len(ids) / elapsed)
        result["postgresql_over_sqlite"] = round(
            result["postgresql_events_per_s"] / result["sqlite_events_per_s"], 3)
        return result
    finally:
        e2e.EXTRA = ""
        site.stop()


def received(path):
    try:
        with open(path) as f:
            return [int(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def lease_to_poll_ms(log):
    """From the log line of taking the lease to the one of the first poll: the new leader's
    own start-up (its workers warm, the cursors read again)."""
    def at(marker):
        for line in log.splitlines():
            if marker in line:
                stamp = line.split(" - ", 1)[0]
                clock, _, ms = stamp.partition(",")
                h, m, sec = clock.split(" ")[1].split(":")
                return (int(h) * 3600 + int(m) * 60 + int(sec)) * 1000 + int(ms)
        return None
    lead, poll = at("Leading state"), at("Polling ")
    return None if lead is None or poll is None else poll - lead


def bench_failover(h, tmp, server, lease, how):
    site = h.Sandbox()
    url = new_database(server, "bench_failover")
    plugins = os.path.join(tmp, "failover-" + how, "plugins")
    os.makedirs(plugins)
    extra = "[state]\nurl = %s\nlease_seconds = %s\n" % (url, lease)
    nodes = []
    try:
        for name in ("a", "b"):
            d = h.Daemon(os.path.join(tmp, "failover-" + how, name), site.url, {}, None, extra,
                         plugin_dir=plugins)
            d.node = name
            nodes.append(d)
        a, b = nodes
        a.add_plugin("p", "--record-suffix-env SGEVENTD_TEST_NODE")
        record = a.record_file("p")
        a.start(wait=False, env={"SGEVENTD_TEST_NODE": "a"})
        h.wait_for(lambda: "Polling " in a.log(), what="a to lead")
        b.start(wait=False, env={"SGEVENTD_TEST_NODE": "b"})
        h.wait_for(lambda: "Standing by" in b.log(), what="b to stand by")
        stop = threading.Event()
        written = []

        def write():
            while not stop.is_set():
                written.append((time.monotonic(), site.generate(1)[-1]))
                stop.wait(0.1)

        writer = threading.Thread(target=write)
        writer.start()
        h.wait_for(lambda: len(received(record + ".a")) >= 10, what="a to deliver")
        if how == "kill":
            a.kill9()
        else:
            a.proc.send_signal(signal.SIGSTOP)
        cut = time.monotonic()

        def standby_delivered_new():
            new = {i for t, i in list(written) if t > cut}
            return bool(new & set(received(record + ".b")))

        h.wait_for(standby_delivered_new, timeout=120, interval=0.01,
                   what="b to deliver an event written after the cut")
        took = time.monotonic() - cut
        result = {"how": "kill -9" if how == "kill" else "SIGSTOP", "lease_seconds": lease,
                  "failover_s": round(took, 2),
                  "lease_to_poll_ms": lease_to_poll_ms(b.log())}
        if how == "stop":
            woke_with = len(received(record + ".a"))
            a.proc.send_signal(signal.SIGCONT)
            h.wait_for(lambda: "no longer the leader" in a.log(), what="a to step down")
            time.sleep(2)
            result["delivered_by_old_leader_after_waking"] = len(received(record + ".a")) - woke_with
        stop.set()
        writer.join()
        h.wait_for(lambda: {i for _, i in written} <=
                   set(received(record + ".a")) | set(received(record + ".b")),
                   what="every event delivered")
        both = received(record + ".a") + received(record + ".b")
        result["events"] = len(written)
        result["delivered_twice"] = len(both) - len(set(both))
        return result
    finally:
        for d in nodes:
            if d.proc and d.proc.poll() is None:
                d.proc.send_signal(signal.SIGCONT)
                d.stop()
        site.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(HERE, os.pardir, "build"))
    parser.add_argument("--only", choices=["throughput", "failover"])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--plugins", type=int, default=10)
    parser.add_argument("--lease", type=float, default=10)
    args = parser.parse_args()
    bin_dir = os.path.join(os.path.abspath(args.build), "bin")
    os.environ["SGEVENTD_BIN"] = os.path.join(bin_dir, "sgeventd")
    os.environ["SGEVENTD_TEST_WORKER_BIN"] = os.path.join(bin_dir, "sgeventd-test-worker")
    import harness as h
    h.BIN, h.TEST_WORKER = os.environ["SGEVENTD_BIN"], os.environ["SGEVENTD_TEST_WORKER_BIN"]
    tmp = tempfile.mkdtemp(prefix="sgeventd-ha-bench-")
    os.chmod(tmp, 0o755)  # the server runs as "postgres" under root
    server = pg("start", os.path.join(tmp, "pg"))
    results = {"benchmark": "ha"}
    try:
        if args.only in (None, "throughput"):
            results["throughput"] = bench_throughput(h, tmp, server, args.plugins, args.events)
        if args.only in (None, "failover"):
            results["failover_kill"] = bench_failover(h, tmp, server, args.lease, "kill")
            results["failover_freeze"] = bench_failover(h, tmp, server, args.lease, "stop")
    finally:
        pg("destroy", os.path.join(tmp, "pg"))
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
