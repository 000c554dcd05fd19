"""The Python worker's own cost per event, measured over its pipes (no daemon). Prints JSON.

One worker, one plugin, a synthetic stream of event lines written as fast as the worker reads
them (the daemon's best case, a deep pipeline), results counted as they come back. For each
plugin the benchmark reports the wall-clock rate and the worker's CPU time per event (from
/proc, between the first event sent and the last result read, so start-up is not counted).

"Overhead" is the worker's CPU per event minus what the same callback costs when this process
calls it directly with an already-built event dict, and minus what building that dict costs
(the C JSON scanner on the event's text, measured here too): what is left is reading, splitting,
parsing the envelope, datetime conversion, dispatching, result encoding and writing. Both are
measured with this interpreter, so give --python only to compare start-up and rates.

    python3 python/bench/worker_pipe_bench.py [--worker build/bin/sgeventd-python-worker]
        [--python /usr/bin/python3] [--events 20000] [--runs 5] [--completions]
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WORKER = os.path.join(os.path.dirname(HERE), "sgeventd-python-worker")

PLUGINS = {
    "trivial": '''
def registerCallbacks(reg):
    reg.registerCallback("bench", "key", noop)

def noop(sg, logger, event, args):
    pass
''',
    # Issue 5's benchmark plugin: open, append the event id and time, close, per event.
    "append": '''
def registerCallbacks(reg):
    reg.registerCallback("bench", "key", appendId, None, {"path": %(out)r})

def appendId(sg, logger, event, args):
    with open(args["path"], "a") as f:
        f.write("%%d %%s\\n" %% (event["id"], event["created_at"].isoformat()))
''',
}

HELLO = {
    "type": "hello",
    "protocol": 1,
    "daemon": "bench",
    "site": {"url": "https://studio.example.com", "proxy": "", "use_session_uuid": True},
    "config": {"daemon": {"logging": "20"}},
    "worker": {"id": "bench", "per": "plugin"},
}


def make_event(seq):
    return {
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
        "created_at": "2024-03-01T%02d:%02d:%02dZ" % ((seq // 3600) % 24, (seq // 60) % 60, seq % 60),
    }


def event_line(seq, plugin):
    return json.dumps(
        {
            "type": "event",
            "seq": seq,
            "late": False,
            "event": make_event(seq),
            "callbacks": [{"plugin": plugin, "index": 0}],
        },
        separators=(",", ":"),
    )


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / float(ticks)  # utime + stime


def write_plugin(folder, kind):
    out = os.path.join(folder, kind + ".out")
    path = os.path.join(folder, kind + ".py")
    with open(path, "w") as f:
        f.write(PLUGINS[kind] % {"out": out})
    return path, out


def completion_file(folder, slots=4096):
    """An empty completion file as the daemon lays it out (src/workers/completion_log.h)."""
    path = os.path.join(folder, "completions")
    with open(path, "wb") as f:
        f.write(struct.pack("<8sIIQ", b"SGEVDONE", 1, slots, 0).ljust(64, b"\0"))
        f.write(b"\0" * (16 * slots))
    return path


def run_once(python, worker, folder, kind, events, completions=False):
    path, out = write_plugin(folder, kind)
    if os.path.exists(out):
        os.unlink(out)
    proc = subprocess.Popen([python, worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(obj):
        proc.stdin.write((json.dumps(obj) + "\n").encode())
        proc.stdin.flush()

    def read_type(kind_):
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the worker closed its output")
            msg = json.loads(line)
            if msg["type"] == kind_:
                return msg

    send(HELLO)
    read_type("hello")
    plugin = {"name": kind, "path": path}
    if completions:
        plugin["completions"] = {"path": completion_file(folder)}
    send({"type": "load", "plugin": plugin})
    read_type("loaded")
    blob = ("\n".join(event_line(i + 1, kind) for i in range(events)) + "\n").encode()

    def feed():
        proc.stdin.write(blob)
        proc.stdin.flush()

    cpu0 = cpu_seconds(proc.pid)
    start = time.perf_counter()
    feeder = threading.Thread(target=feed)
    feeder.start()
    results = failed = 0
    for line in proc.stdout:
        if line.startswith(b'{"type":"result"'):
            results += 1
            if b'"ok":false' in line:
                failed += 1
            if results == events:
                break
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(proc.pid) - cpu0
    feeder.join()
    send({"type": "shutdown", "grace_ms": 1000})
    read_type("bye")
    proc.wait()
    if failed:
        raise RuntimeError("%d callbacks failed" % failed)
    return elapsed, cpu


def callback_cost_us(kind, folder, calls=20000):
    """What the plugin's callback costs called directly (this interpreter), in µs."""
    path, out = write_plugin(folder, kind)
    namespace = {"__name__": kind}
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), namespace)
    registered = []

    class Reg(object):
        def registerCallback(self, name, key, fn, match=None, args=None, stopOnError=True):
            registered.append((fn, args))

    namespace["registerCallbacks"](Reg())
    fn, args = registered[0]
    sys.path.insert(0, os.path.dirname(HERE))
    from sgeventd_worker.events import convert_datetimes  # the worker's own conversion

    line = event_line(1, kind)
    event = convert_datetimes(json.loads(line)["event"], line)
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(None, None, event, args)
        t = (time.perf_counter() - t0) / calls
        best = t if best is None or t < best else best
    if os.path.exists(out):
        os.unlink(out)
    return best * 1e6


def decode_cost_us(calls=20000):
    """What turning the event's JSON text into a dict costs (the C scanner), in µs."""
    scan_once = json.JSONDecoder().scan_once
    texts = [event_line(i + 1, "trivial") for i in range(calls)]
    pairs = [(text, text.index('"event":') + len('"event":')) for text in texts]
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        for text, start in pairs:
            scan_once(text, start)
        t = (time.perf_counter() - t0) / calls
        best = t if best is None or t < best else best
    return best * 1e6


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", default=DEFAULT_WORKER)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--completions", action="store_true",
                        help="give the plugin a completion file, as the daemon does")
    opts = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sgeventd-pipebench-")
    report = {
        "benchmark": "python_worker_pipe",
        "python": opts.python,
        "runtime": subprocess.check_output(
            [opts.python, "-c", "import platform; print(platform.python_version())"]
        ).decode().strip(),
        "events": opts.events,
        "runs": opts.runs,
        "completions": opts.completions,
        "load_average": os.getloadavg()[0],
    }
    same = opts.python == sys.executable
    decode = decode_cost_us() if same else None
    report["event_dict_decode_us"] = None if decode is None else round(decode, 2)
    try:
        for kind in ("trivial", "append"):
            runs = [run_once(opts.python, opts.worker, folder, kind, opts.events,
                             opts.completions) for _ in range(opts.runs)]
            walls = [r[0] for r in runs]
            cpus = [r[1] for r in runs]
            cost = callback_cost_us(kind, folder) if same else None
            cpu_us = median(cpus) / opts.events * 1e6
            report[kind] = {
                "events_per_s_median": round(opts.events / median(walls)),
                "events_per_s_best": round(opts.events / min(walls)),
                "worker_cpu_us_per_event_median": round(cpu_us, 2),
                "worker_cpu_us_per_event_best": round(min(cpus) / opts.events * 1e6, 2),
                "callback_alone_us": None if cost is None else round(cost, 2),
                "worker_overhead_us_per_event": (
                    None if cost is None else round(cpu_us - cost - decode, 2)
                ),
            }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
