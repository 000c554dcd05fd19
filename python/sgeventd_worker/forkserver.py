"""The fork server (docs/python-plugins.md): one interpreter that imports what every worker
needs, then forks a worker per request, so that workers share those pages and start in
milliseconds.

The daemon starts ``<interpreter> sgeventd-python-worker --fork-server [--path DIRS]
[--preload MODULES] [--prepare]`` with a Unix SOCK_SEQPACKET socket on fd 0. With --prepare
its first message is ``{"config": {...}}``, the config sections every worker's hello carries.
The server imports, warms up (warmup.py: a worker built and run over a sample plugin), fills
the allocator's holes, and says ``ready`` (with the preloads' problems and ``warm_up``: null,
or why the warm-up failed). Each request is one message: JSON ``{"argv": [...]}`` (the
worker's arguments) with three descriptors attached (SCM_RIGHTS), the worker's stdin, stdout
and stderr. The server forks twice: the intermediate child forks the worker and exits at once,
so the worker is reparented to the daemon (a child subreaper), which then owns it as if it had
spawned it: waits for it, signals it, limits it. The answer is ``{"pid": N}`` or ``{"error": "..."}``. The server exits
when the daemon closes the socket.

What a worker gets from the fork, and what not:
- shared: the interpreter, the worker runtime, shotgun_api3 and the preloaded modules, as
  imported by the server (frozen with gc.freeze(), so the collector leaves their pages alone),
  and the worker the warm-up built (its logging handler, print() redirection, the parser of
  ``logger.config``), which the forked worker adopts;
- its own: everything after the fork, plugins first (loaded by the worker, as before), its
  process group, its descriptors (0, 1, 2 from the daemon; every other one of the server's is
  closed), a fresh ``random`` seed (CPython reseeds after fork), default signal handling as a
  fresh interpreter has it, sys.argv as if it had been started on its own.
"""

import array
import gc
import json
import os
import re
import signal
import socket
import sys

MAX_REQUEST = 64 * 1024
# The config message (--prepare); the daemon sends at most one socket buffer (a few 100 KiB).
MAX_PREPARE = 1 << 20


def _close_from_3():
    """Closes every descriptor above 2 (the open ones only: a limit of a million would make
    os.closerange slow before Python 3.10)."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(3, 65536)
        return
    for fd in fds:
        if fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own descriptor, already gone


GONE = object()  # what _receive returns when the daemon has closed the socket


def _receive(sock, size=MAX_REQUEST):
    """(request, [fds]) for the next message: the request is a dict, None when the message is
    not a JSON object, GONE when the daemon has gone."""
    fds = array.array("i")
    msg, ancdata, _flags, _addr = sock.recvmsg(size, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if not msg:
        for fd in fds:
            os.close(fd)
        return GONE, []
    try:
        request = json.loads(msg.decode("utf-8"))
    except ValueError:
        request = None
    return (request if isinstance(request, dict) else None), list(fds)


def _answer(sock, answer):
    sock.send(json.dumps(answer).encode("utf-8"))


def _become_worker(sock, fds, script, argv):
    """In the worker (the grandchild): its own group, the daemon's pipes as 0-2, nothing else."""
    os.setpgid(0, 0)
    sock.close()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)  # dup2 leaves the new descriptor inheritable, as a spawn would
    _close_from_3()
    # The server ignored SIGINT (a Ctrl-C meant for the daemon); a fresh interpreter would
    # raise KeyboardInterrupt, and the worker decides for itself (it ignores it too).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = [script] + list(argv)


def serve(script, argv):
    """Runs the server until the daemon goes (then exits), or returns a worker's argv in a
    freshly forked worker, which then runs as if it had been started with it."""
    path, preload, prepare = [], [], False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--path" and args:
            path = [p for p in args.pop(0).split(",") if p]
        elif arg == "--preload" and args:
            preload = [m.strip() for m in args.pop(0).split(",") if m.strip()]
        elif arg == "--prepare":
            prepare = True
        else:
            sys.stderr.write("sgeventd fork server: unknown argument %s\n" % arg)
            return None
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    # [python] path as hello puts it first on sys.path, so the server imports what a worker
    # would (the real shotgun_api3 when one is there).
    for entry in reversed(path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    # --prepare: the daemon's first message is {"config": <the sections every hello carries>}
    # (over the socket: the config holds secrets, which a command line would show to anyone).
    config = {}
    if prepare:
        request, fds = _receive(sock, MAX_PREPARE)
        for fd in fds:
            os.close(fd)
        if request is GONE:
            sys.exit(0)
        if request is not None and isinstance(request.get("config"), dict):
            config = request["config"]
    problems = _preload(preload)
    from sgeventd_worker import warmup

    warm_up = warmup.prepare(config)  # None, or why it could not (it never raises)
    gc.collect()
    try:
        _fill_partly_used_pools()
        _give_back_free_heap()
    except BaseException as e:  # memory only: never a reason for the server to stop
        sys.stderr.write("sgeventd fork server: cannot tidy its memory: %s\n" % e)
    gc.freeze()
    _answer(sock, {"ready": True, "pid": os.getpid(), "problems": problems, "warm_up": warm_up})
    while True:
        try:
            request, fds = _receive(sock)
        except OSError as e:
            sys.stderr.write("sgeventd fork server: %s\n" % e)
            sys.exit(1)
        if request is GONE:
            sys.exit(0)
        worker_argv = request.get("argv", []) if request is not None else None
        if (
            len(fds) != 3
            or not isinstance(worker_argv, list)
            or not all(isinstance(a, str) for a in worker_argv)
        ):
            for fd in fds:
                os.close(fd)
            _answer(sock, {"error": 'a request is {"argv": [strings]} with three descriptors'})
            continue
        pid, error = _fork_worker(sock, fds, script, worker_argv)
        if pid == 0:
            return worker_argv  # the worker: its descriptors are set up already
        for fd in fds:
            os.close(fd)
        _answer(sock, {"pid": pid} if error is None else {"error": error})


def _fork_worker(sock, fds, script, argv):
    """(worker pid, None) in the server, (0, None) in the worker, (-1, error) on failure."""
    read_end, write_end = os.pipe()
    try:
        middle = os.fork()
    except OSError as e:
        os.close(read_end)
        os.close(write_end)
        return -1, "fork: %s" % e
    if middle == 0:
        # Never back into the server's loop from here: whatever happens, this process exits.
        worker = -1
        try:
            os.close(read_end)
            worker = os.fork()
            if worker == 0:
                try:
                    os.close(write_end)
                    _become_worker(sock, fds, script, argv)
                except BaseException as e:
                    try:
                        sys.stderr.write("sgeventd fork server: cannot become a worker: %s\n" % e)
                    finally:
                        os._exit(1)
                return 0, None
            os.write(write_end, str(worker).encode())
        finally:
            if worker != 0:
                os._exit(0 if worker > 0 else 1)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        text = f.read()
    os.waitpid(middle, 0)  # once it is gone, the worker's parent is the daemon
    if not text:
        return -1, "fork: the second fork failed"
    return int(text), None


# Objects that fill the free slots of the allocator's partly used pools (see below); never used.
_BALLAST = []
_POOL_ROW = re.compile(r"^\s*\d+\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s*$", re.M)


def _fill_partly_used_pools():
    """Occupies every free block of CPython's small-object pools (pymalloc) that are partly in
    use, so that a worker's own allocations go to pools of its own. Otherwise each of them lands
    in a hole between the server's objects, and the worker copies that whole shared page to
    write one small object: about 0.35 MB per worker on 3.11, for 0.65 MB once here.

    The free counts come from sys._debugmallocstats() (CPython's, on stderr, one row per size
    class); a bytes object of n bytes takes a block of the class just above 33 + n. Any
    surprise (another interpreter, another layout) and nothing is filled."""
    stats = getattr(sys, "_debugmallocstats", None)
    debug = hasattr(sys, "gettotalrefcount") or "debug" in os.environ.get("PYTHONMALLOC", "")
    if stats is None or debug:
        return  # a debug allocator pads every block: the sizes below would be wrong
    import tempfile

    saved = os.dup(2)  # OSError: the caller's
    try:
        with tempfile.TemporaryFile() as f:
            os.dup2(f.fileno(), 2)
            try:
                stats()
            finally:
                os.dup2(saved, 2)
            f.seek(0)
            text = f.read().decode("ascii", "replace")
    except OSError:
        return
    finally:
        os.close(saved)
    empty = sys.getsizeof(b"")
    for row in _POOL_ROW.finditer(text):
        size, free = int(row.group(1)), int(row.group(2))
        if size <= empty:
            continue  # a class too small for any bytes object
        length = size - empty  # > 1: a new object each time, not a cached one
        _BALLAST.extend(b"\0" * length for _ in range(free))


def _give_back_free_heap():
    """Returns the C heap's free pages to the system (glibc's malloc_trim): what the imports
    allocated and freed would otherwise stay in the server's memory, counted once for all."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (ImportError, OSError, AttributeError):
        pass


def _preload(names):
    """Imports the worker runtime, shotgun_api3 and `names`; what of `names` failed."""
    problems = []
    from sgeventd_worker import worker  # noqa: F401  (the runtime itself)
    from sgeventd_worker import siteconfig  # noqa: F401  (imported by the first load)
    from sgeventd_worker.connections import install_stand_in
    import pprint  # noqa: F401  (a failing callback's locals)

    install_stand_in(worker._stand_in_folder())
    try:
        import shotgun_api3  # noqa: F401
    except Exception:
        pass  # as in a spawned worker: a connection says why when a plugin uses it
    for name in names:
        try:
            __import__(name)
        except Exception as e:  # the daemon logs it; the workers import it again if they do
            problems.append("%s: %s: %s" % (name, type(e).__name__, e))
    import threading

    if threading.active_count() > 1:
        # A thread would not survive the fork, and could leave a lock held in every worker.
        problems.append(
            "the imports started %d thread(s): workers forked from this server may hang on "
            "a lock one of them held; preload less, or set [python] fork_server = off"
            % (threading.active_count() - 1)
        )
    return problems
