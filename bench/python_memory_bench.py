#!/usr/bin/env python3
"""sgeventd beside the original shotgunEvents, in one run: the same config file, the same N
Python plugins (each appends the event id to a file), the same sandbox site. Prints JSON.

Run by hand, not in CI (it needs git mirrors of shotgunEvents and of the official
shotgun_api3, which the original imports):

    python3 bench/python_memory_bench.py --bin build/bin/sgeventd [--plugins 10] [--events 20000]
        [--events-git /work/.mirror/shotgunsoftware+shotgunEvents/repo]
        [--api-git /work/.mirror/shotgunsoftware+python-api/repo] [--skip-original]

For each daemon: start it, wait until every plugin has seen a first event, then write E
events at once (`/_sandbox/generate`) and time until every plugin's file has all of them
(events/s) and the CPU seconds the daemon process and its children (workers, fork server)
spent on them. Memory: the process tree's summed PSS (/proc/PID/smaps_rollup: shared pages split
among the processes that map them), sampled every 0.2 s; peak, and idle once done. For
sgeventd also the daemon process's own PSS, PSS per plugin (a second run with one plugin
more), and worker start to `loaded` for one reload of each plugin in turn (from the daemon's
`Loaded ... in N ms` lines). Both get the real shotgun_api3 on PYTHONPATH, so sgeventd's workers (and fork server)
import what the original imports.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests", "daemon"))

PLUGIN = '''
import os
OUT = os.path.join(os.environ.get("BENCH_OUT", %r), "%s.txt")


def registerCallbacks(reg):
    reg.registerCallback("sandbox", "sandbox-key", append)


def append(sg, logger, event, args):
    with open(OUT, "a") as f:
        f.write("%%d\\n" %% event["id"])
'''

CONFIG = """[daemon]
pidFile: {folder}/daemon.pid
eventIdFile: {folder}/daemon.id
logMode: 1
logPath: {folder}
logFile: daemon.log
logging: 20
timing_log: off
conn_retry_sleep = 1
max_conn_retries = 5
fetch_interval = 1
max_event_batch_size = 500
[shotgun]
server: {url}
name: sandbox
key: sandbox-key
proxy_server:
use_session_uuid: True
[plugins]
paths: {plugins}
[emails]
enabled: False
{extra}"""


def extract(git_dir, what, into):
    archive = subprocess.Popen(["git", "--git-dir", git_dir, "archive", "HEAD", what],
                               stdout=subprocess.PIPE)
    subprocess.check_call(["tar", "-x", "-C", into], stdin=archive.stdout)
    archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit("cannot read %s from %s" % (what, git_dir))


def tree(pid):
    """pid and all its descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(c for c, pp in parents.items() if pp == p)
    return out


def cpu_s(pid):
    """User + system CPU seconds of one process so far."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.peak_own, self.stopped = pid, 0, 0, False

    def run(self):
        while not self.stopped:
            self.peak = max(self.peak, sum(pss_kb(p) for p in tree(self.pid)))
            self.peak_own = max(self.peak_own, pss_kb(self.pid))
            time.sleep(0.2)


def lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def run_one(name, argv, env, folder, site, plugins, events, out):
    log = open(os.path.join(folder, name + ".stdout"), "w")
    began = time.time()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
    sampler = Sampler(proc.pid)
    sampler.start()
    files = [os.path.join(out, "%s.txt" % p) for p in plugins]
    try:
        # Ready: every plugin has seen one event (the original starts at the newest event, so
        # keep writing single events until each plugin got one).
        deadline = time.time() + 120
        while not all(lines(f) for f in files):
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit("%s did not deliver; see %s" % (name, log.name))
            site.generate(1)
            time.sleep(0.5)
        ready_s = time.time() - began
        base = {f: lines(f) for f in files}
        cpu_before = {p: cpu_s(p) for p in tree(proc.pid)}
        start = time.time()
        site.generate(events)
        while not all(lines(f) - base[f] >= events for f in files):
            if proc.poll() is not None or time.time() - start > 600:
                raise SystemExit("%s stopped delivering; see %s" % (name, log.name))
            time.sleep(0.05)
        elapsed = time.time() - start
        # CPU spent on the E events: the daemon's own, and its children's (workers, server).
        main_cpu = cpu_s(proc.pid) - cpu_before.get(proc.pid, 0.0)
        children_cpu = sum(cpu_s(p) - cpu_before.get(p, 0.0) for p in tree(proc.pid)
                           if p != proc.pid)
        # Idle: past the daemon's malloc_trim, every 10 s, which gives a burst's pages back.
        time.sleep(12)
        idle = sum(pss_kb(p) for p in tree(proc.pid))
        idle_own = pss_kb(proc.pid)
        processes = len(tree(proc.pid))
        reloads = reload_times(folder, plugins) if name.startswith("sgeventd") else []
    finally:
        sampler.stopped = True
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    reload_stats = {}
    if reloads:
        reloads.sort()
        reload_stats = {"reload_to_loaded_ms": {
            "min": reloads[0], "median": reloads[len(reloads) // 2], "max": reloads[-1],
            "all": reloads}}
    return {**reload_stats, "events_per_s": round(events / elapsed), "ready_s": round(ready_s, 2),
            "tree_pss_peak_mb": round(sampler.peak / 1024, 1),
            "tree_pss_idle_mb": round(idle / 1024, 1),
            "main_pss_peak_mb": round(sampler.peak_own / 1024, 1),
            "main_pss_idle_mb": round(idle_own / 1024, 1), "processes": processes,
            "cpu_s_main": round(main_cpu, 2), "cpu_s_children": round(children_cpu, 2)}


LOADED_MS = re.compile(r"Loaded \S+ with \d+ callback\(s\) in ([0-9.]+) ms")


def reload_times(folder, plugins):
    """Worker start to `loaded`, as the daemon logs it, for one reload of each plugin in turn
    (an edited file: the daemon stops its worker and starts a new one, forked when the fork
    server is on)."""
    out = []
    for p in plugins:
        log = os.path.join(folder, "plugin." + p)
        with open(log) as f:
            before = len(LOADED_MS.findall(f.read()))
        path = os.path.join(folder, "plugins", p + ".py")
        os.utime(path, (time.time() + 1, time.time() + 1))  # a later mtime: a reload
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(log) as f:
                found = LOADED_MS.findall(f.read())
            if len(found) > before:
                out.append(float(found[-1]))
                break
            time.sleep(0.05)
        time.sleep(0.3)  # one reload at a time: each start is measured alone
    return out


def setup(root, name, url, count, extra=""):
    folder = os.path.join(root, name)
    plugins = os.path.join(folder, "plugins")
    out = os.path.join(folder, "out")
    os.makedirs(plugins)
    os.makedirs(out)
    names = ["p%02d" % i for i in range(count)]
    for p in names:
        with open(os.path.join(plugins, p + ".py"), "w") as f:
            f.write(PLUGIN % (out, p))
    config = os.path.join(folder, "shotgunEventDaemon.conf")
    with open(config, "w") as f:
        f.write(CONFIG.format(folder=folder, url=url, plugins=plugins, extra=extra))
    return folder, config, names, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="build/bin/sgeventd")
    parser.add_argument("--plugins", type=int, default=10)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--events-git",
                        default="/work/.mirror/shotgunsoftware+shotgunEvents/repo")
    parser.add_argument("--api-git", default="/work/.mirror/shotgunsoftware+python-api/repo")
    parser.add_argument("--skip-original", action="store_true")
    parser.add_argument("--fork-server", default="on", help="[python] fork_server for sgeventd")
    args = parser.parse_args()
    os.environ["SGEVENTD_BIN"] = os.path.abspath(args.bin)
    import harness  # noqa: E402  (reads SGEVENTD_BIN)

    root = tempfile.mkdtemp(prefix="sgeventd-membench-")
    extract(args.api_git, "shotgun_api3", root)
    env = dict(os.environ, PYTHONPATH=root, PYTHONDONTWRITEBYTECODE="1")
    site = harness.Sandbox()
    result = {"plugins": args.plugins, "events": args.events, "fork_server": args.fork_server}
    try:
        python = "[python]\nfork_server = %s\n" % args.fork_server
        for label, count in (("sgeventd", args.plugins), ("sgeventd_plus_one", args.plugins + 1)):
            folder, config, names, out = setup(root, label, site.url, count, python)
            result[label] = run_one(label, [harness.BIN, "foreground", "-c", config], env, folder,
                                    site, names, args.events, out)
        # From the peaks (a burst's transients included, so noisy) and from the idle trees.
        more, base = result["sgeventd_plus_one"], result["sgeventd"]
        result["sgeventd_pss_per_plugin_mb"] = round(
            more["tree_pss_peak_mb"] - base["tree_pss_peak_mb"], 1)
        result["sgeventd_pss_per_plugin_idle_mb"] = round(
            more["tree_pss_idle_mb"] - base["tree_pss_idle_mb"], 1)
        if not args.skip_original:
            folder, config, names, out = setup(root, "original", site.url, args.plugins)
            extract(args.events_git, "src", folder)
            src = os.path.join(folder, "src")
            os.rename(config, os.path.join(src, "shotgunEventDaemon.conf"))
            result["original"] = run_one(
                "original", ["/usr/bin/python3", os.path.join(src, "shotgunEventDaemon.py"),
                             "foreground"], env, folder, site, names, args.events, out)
            o, s = result["original"], result["sgeventd"]
            result["ratios"] = {
                "throughput": round(s["events_per_s"] / o["events_per_s"], 2),
                "tree_pss_peak": round(s["tree_pss_peak_mb"] / o["tree_pss_peak_mb"], 2),
            }
    finally:
        site.stop()
    result["folder"] = root
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
