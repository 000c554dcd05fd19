"""Benchmark of sgeventd-python-worker alone (no daemon): start time, memory, events per second.

Prints one JSON object. Events are written to each worker as fast as it reads them (a deep
pipeline, which is the daemon's best case) and results are counted; the plugin is issue 5's
benchmark plugin: append the event id and time to a file, opening and closing it per event.

    python3 python/bench/worker_bench.py [--worker build/bin/sgeventd-python-worker]
        [--python /usr/bin/python3] [--events 20000] [--workers 10]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WORKER = os.path.join(os.path.dirname(HERE), "sgeventd-python-worker")

APPEND_PLUGIN = '''
import datetime

def registerCallbacks(reg):
    reg.registerCallback("bench", "key", appendId, None, {"path": %r})

def appendId(sg, logger, event, args):
    with open(args["path"], "a") as f:
        f.write("%%d %%s\\n" %% (event["id"], event["created_at"].isoformat()))
'''

TRIVIAL_PLUGIN = '''
def registerCallbacks(reg):
    reg.registerCallback("bench", "key", noop)

def noop(sg, logger, event, args):
    pass
'''

HELLO = {
    "type": "hello",
    "protocol": 1,
    "daemon": "bench",
    "site": {"url": "https://studio.example.com", "proxy": "", "use_session_uuid": True},
    "config": {"daemon": {"logging": "20"}},
    "worker": {"id": "bench", "per": "plugin"},
}


def event_line(seq, plugin):
    event = {
        "type": "EventLogEntry",
        "id": 1000000 + seq,
        "event_type": "Shotgun_Task_Change",
        "attribute_name": "sg_status_list",
        "meta": {
            "type": "attribute_change",
            "attribute_name": "sg_status_list",
            "entity_type": "Task",
            "entity_id": 12,
            "field_data_type": "status_list",
            "old_value": "wtg",
            "new_value": "ip",
        },
        "entity": {"type": "Task", "id": 12, "name": "Layout"},
        "user": {"type": "HumanUser", "id": 5, "name": "Ann Artist"},
        "project": {"type": "Project", "id": 70, "name": "Demo"},
        "session_uuid": "5a1d49b0-0c69-11e0-a24c-003048d17544",
        "created_at": "2024-03-01T10:%02d:%02dZ" % ((seq // 60) % 60, seq % 60),
    }
    return json.dumps(
        {
            "type": "event",
            "seq": seq,
            "late": False,
            "event": event,
            "callbacks": [{"plugin": plugin, "index": 0}],
        },
        separators=(",", ":"),
    )


class Proc(object):
    def __init__(self, python, worker, env=None):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [python, worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )

    def send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()

    def read_type(self, kind):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("worker closed its output")
            msg = json.loads(line)
            if msg["type"] == kind:
                return msg

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.send({"type": "shutdown", "grace_ms": 1000})
        self.read_type("bye")
        self.proc.wait()


def start_and_load(python, worker, path, name):
    p = Proc(python, worker)
    p.send(HELLO)
    p.read_type("hello")
    hello_s = time.perf_counter() - p.started
    p.send({"type": "load", "plugin": {"name": name, "path": path}})
    msg = p.read_type("loaded")
    loaded_s = time.perf_counter() - p.started
    return p, hello_s, loaded_s, msg


def run_throughput(python, worker, folder, events, workers):
    procs = []
    for w in range(workers):
        out = os.path.join(folder, "out%d.txt" % w)
        path = os.path.join(folder, "append%d.py" % w)
        with open(path, "w") as f:
            f.write(APPEND_PLUGIN % out)
        p, _, _, _ = start_and_load(python, worker, path, "append%d" % w)
        procs.append(p)
    blobs = [
        ("\n".join(event_line(i + 1, "append%d" % w) for i in range(events)) + "\n").encode()
        for w in range(workers)
    ]
    counts = [0] * workers

    def feed(p, blob):
        p.proc.stdin.write(blob)
        p.proc.stdin.flush()

    def drain(i, p):
        n = 0
        for line in p.proc.stdout:
            if line.startswith(b'{"type":"result"'):
                n += 1
                if n == events:
                    break
        counts[i] = n

    start = time.perf_counter()
    threads = []
    for i, p in enumerate(procs):
        for target, args in ((feed, (p, blobs[i])), (drain, (i, p))):
            t = threading.Thread(target=target, args=args)
            t.start()
            threads.append(t)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for p in procs:
        p.stop()
    assert counts == [events] * workers, counts
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", default=DEFAULT_WORKER)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=10)
    opts = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sgeventd-pybench-")
    try:
        trivial = os.path.join(folder, "trivial.py")
        with open(trivial, "w") as f:
            f.write(TRIVIAL_PLUGIN)
        starts = []
        for _ in range(5):
            p, hello_s, loaded_s, _ = start_and_load(opts.python, opts.worker, trivial, "trivial")
            rss = p.rss_kb()
            p.stop()
            starts.append((loaded_s, hello_s, rss))
        starts.sort()
        loaded_s, hello_s, rss = starts[len(starts) // 2]
        one = run_throughput(opts.python, opts.worker, folder, opts.events, 1)
        many = run_throughput(opts.python, opts.worker, folder, opts.events, opts.workers)
        print(
            json.dumps(
                {
                    "benchmark": "python_worker",
                    "python": opts.python,
                    "runtime": sys.version.split()[0] if opts.python == sys.executable else "",
                    "start_to_hello_ms": round(hello_s * 1000, 1),
                    "start_to_loaded_ms": round(loaded_s * 1000, 1),
                    "rss_after_trivial_plugin_mb": round(rss / 1024.0, 1),
                    "events": opts.events,
                    "one_worker_events_per_s": round(opts.events / one),
                    "workers": opts.workers,
                    "all_workers_wall_s": round(many, 3),
                    "events_per_s_end_to_end": round(opts.events / many),
                    "callbacks_per_s_total": round(opts.events * opts.workers / many),
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
