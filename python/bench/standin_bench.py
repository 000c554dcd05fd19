"""The shotgun_api3 stand-in against the official shotgun_api3, on the sandbox; prints JSON.

For each client, in a fresh interpreter: the time to ``import shotgun_api3``, the process's RSS
after it, and the time of a find() returning 500 EventLogEntry rows (median of --repeat runs,
one kept-alive connection, the first call excluded).

usage: standin_bench.py [--sgeventd build/bin/sgeventd] [--python /usr/bin/python3]
                        [--repeat 20] [--official-git DIR]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PROBE = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
t = time.perf_counter()
import shotgun_api3
import_s = time.perf_counter() - t
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
rss = rss_kb()
sg = shotgun_api3.Shotgun(sys.argv[2], "sandbox", "sandbox-key")
fields = ["id", "event_type", "attribute_name", "meta", "entity", "user", "project",
          "session_uuid", "created_at"]
def once():
    t = time.perf_counter()
    rows = sg.find("EventLogEntry", [], fields, order=[{"field_name": "id", "direction": "asc"}],
                   limit=500)
    assert len(rows) == 500, len(rows)
    return time.perf_counter() - t
once()
runs = sorted(once() for _ in range(int(sys.argv[3])))
print(json.dumps({"stand_in": bool(getattr(shotgun_api3, "SGEVENTD_STANDIN", False)),
                  "import_ms": round(import_s * 1000, 1), "rss_mb_after_import": round(rss / 1024, 1),
                  "rss_mb_after_finds": round(rss_kb() / 1024, 1),
                  "find_500_ms_median": round(runs[len(runs) // 2] * 1000, 2),
                  "find_500_ms_min": round(runs[0] * 1000, 2)}))
""".replace("import os, sys, time", "import json, os, sys, time")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sgeventd", default=os.path.join(ROOT, "build", "bin", "sgeventd"))
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--official-git", default="/work/.mirror/shotgunsoftware+python-api/repo")
    args = parser.parse_args()
    build = os.path.dirname(os.path.dirname(os.path.abspath(args.sgeventd)))
    standin = os.path.join(build, "lib", "sgeventd", "python", "standin")

    site = subprocess.Popen([args.sgeventd, "sandbox", "--port", "0", "--test-controls"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="sgeventd-standin-bench-")
    try:
        url = site.stdout.readline().decode().split()[1]
        request = urllib.request.Request(url + "/_sandbox/generate",
                                         data=json.dumps({"count": 600}).encode())
        urllib.request.urlopen(request, timeout=60).read()
        clients = {"stand-in": standin}
        if os.path.isdir(args.official_git):
            archive = subprocess.Popen(["git", "--git-dir", args.official_git, "archive", "HEAD",
                                        "shotgun_api3"], stdout=subprocess.PIPE)
            subprocess.check_call(["tar", "-x", "-C", tmp], stdin=archive.stdout)
            archive.wait()
            clients["official"] = tmp
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        results = {}
        for name, path in clients.items():
            out = subprocess.check_output(
                [args.python, "-c", PROBE, path, url, str(args.repeat)], env=env)
            results[name] = json.loads(out)
        print(json.dumps({"python": args.python, "results": results}, indent=2))
    finally:
        site.terminate()
        site.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
