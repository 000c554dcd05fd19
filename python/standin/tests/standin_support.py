"""What the stand-in tests share: the sandbox, the stand-in imported as shotgun_api3 the way the
worker does it, and the official shotgun_api3 from its git mirror under another name."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SGEVENTD = os.environ.get("SGEVENTD_BIN") or os.path.join(ROOT, "build", "bin", "sgeventd")
# The build's lib/sgeventd/python: sgeventd_worker/ and standin/shotgun_api3/.
PYTHON_ROOT = os.environ.get("SGEVENTD_PYTHON_ROOT") or os.path.join(
    ROOT, "build", "lib", "sgeventd", "python"
)
STANDIN_DIR = os.path.join(PYTHON_ROOT, "standin")
API_GIT = os.environ.get(
    "SGEVENTD_SHOTGUN_API3_GIT", "/work/.mirror/shotgunsoftware+python-api/repo"
)


class Sandbox(object):
    """`sgeventd sandbox --port 0 --test-controls`, stopped by stop()."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [SGEVENTD, "sandbox", "--port", "0", "--test-controls"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        first = self.proc.stdout.readline().decode().split()
        if len(first) != 2 or first[0] != "listening":
            self.stop()
            raise AssertionError("the sandbox did not start: %r" % (first,))
        self.url = first[1]

    def control(self, action, body=None):
        request = urllib.request.Request(
            self.url + "/_sandbox/" + action,
            data=json.dumps(body or {}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read().decode() or "{}")

    def fault(self, **fault):
        return self.control("faults", fault)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()


def missing():
    """Why the stand-in tests cannot run here, or None."""
    if not os.access(SGEVENTD, os.X_OK):
        return "no sandbox: %s is not built (set SGEVENTD_BIN)" % SGEVENTD
    if not os.path.isdir(os.path.join(STANDIN_DIR, "shotgun_api3")):
        return "the stand-in is not built in %s (set SGEVENTD_PYTHON_ROOT)" % STANDIN_DIR
    return None


def import_standin():
    """``import shotgun_api3`` through the worker's own hook, with no real package reachable.

    A real shotgun_api3 found on sys.path is taken off it for this process, so the import can
    only be answered by the worker's StandInFinder, as in a worker without the package."""
    if "shotgun_api3" in sys.modules:
        module = sys.modules["shotgun_api3"]
        if getattr(module, "SGEVENTD_STANDIN", False):
            return module
        del sys.modules["shotgun_api3"]
    from importlib.machinery import PathFinder

    while True:
        spec = PathFinder.find_spec("shotgun_api3")
        if spec is None:
            break
        folder = os.path.dirname(os.path.dirname(spec.origin))
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != folder]
    if PYTHON_ROOT not in sys.path:
        sys.path.append(PYTHON_ROOT)
    from sgeventd_worker.connections import install_stand_in

    install_stand_in(STANDIN_DIR)
    import shotgun_api3

    return shotgun_api3


def load_official(into):
    """The official shotgun_api3 from the mirror, imported as ``official_shotgun_api3`` (so it
    lives beside the stand-in in one process), or None when there is no mirror."""
    if "official_shotgun_api3" in sys.modules:
        return sys.modules["official_shotgun_api3"]
    if not os.path.isdir(API_GIT):
        return None
    archive = subprocess.Popen(
        ["git", "--git-dir", API_GIT, "archive", "HEAD", "shotgun_api3"], stdout=subprocess.PIPE
    )
    subprocess.check_call(["tar", "-x", "-C", into], stdin=archive.stdout)
    archive.stdout.close()
    if archive.wait() != 0:
        return None
    package = os.path.join(into, "shotgun_api3")
    spec = importlib.util.spec_from_file_location(
        "official_shotgun_api3",
        os.path.join(package, "__init__.py"),
        submodule_search_locations=[package],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["official_shotgun_api3"] = module
    spec.loader.exec_module(module)
    return module


def temp_dir():
    path = tempfile.mkdtemp(prefix="sgeventd-standin-")
    return path, lambda: shutil.rmtree(path, ignore_errors=True)
