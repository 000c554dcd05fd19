"""The protocol's pipes: one JSON object per line each way (docs/plugin-protocol.md).

Standard output belongs to the protocol alone, yet plugins print, spawn programs and load C
extensions that write to file descriptor 1. So the channel takes private copies of descriptors 0
and 1 and points the originals elsewhere: fd 0 at /dev/null (a plugin's ``input()`` or child
process can never eat protocol lines) and fd 1 at the worker's stderr (which the daemon logs at
WARNING). Python-level ``print()`` is handled separately (logbridge.PrintRedirect).

Reading is done with ``os.read`` in large chunks into our own line buffer rather than with a
file object's readline: one decode and one split per chunk, and the worker knows whether more
complete lines are already waiting, which lets it hold small results back and send all those
of one chunk with one write while the daemon is pipelining (see Writer).
"""

import os
import threading
from collections import deque

_READ_SIZE = 1 << 20


def take_standard_streams():
    """Return (in_fd, out_fd): private protocol descriptors; fds 0 and 1 are repointed."""
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    for fd in (in_fd, out_fd):
        # Children the plugins start must not inherit the protocol pipes (keeping them open
        # would hide the worker's death from the daemon).
        os.set_inheritable(fd, False)
    return in_fd, out_fd


class LineReader(object):
    """Splits the daemon's byte stream into lines.

    Each ``os.read`` takes whatever is waiting (up to 1 MiB); the complete lines of it are
    decoded from UTF-8 with one call and split with one call, and queued in ``lines`` as str
    (without the newline). A line that is not valid UTF-8 is queued as its bytes, for the
    caller to report. The bytes after the last newline wait for the next read.
    """

    def __init__(self, fd):
        self._fd = fd
        self.lines = deque()  # complete lines not read yet (public: cheap to test)
        self._partial = []  # pieces of an unfinished line (bytes)
        self.eof = False

    def rebind(self, fd):
        """Read from ``fd`` from now on, with nothing buffered (a worker adopted after a fork,
        warmup.py)."""
        self._fd = fd
        self.lines.clear()
        self._partial = []
        self.eof = False

    def has_line(self):
        """True when a complete line is already buffered (reading it will not block)."""
        return bool(self.lines)

    def fill(self):
        """Read once (blocking) and queue the complete lines; False at end of input."""
        if self.eof:
            return False
        chunk = os.read(self._fd, _READ_SIZE)
        partial = self._partial
        if not chunk:
            self.eof = True
            if not partial:
                return False
            # A last line without its newline is still a line.
            self._queue(b"".join(partial))
            self._partial = []
            return True
        last = chunk.rfind(b"\n")
        if last < 0:
            partial.append(chunk)
            return True
        if partial:
            partial.append(chunk[:last])
            whole = b"".join(partial)
            self._partial = partial = []
        else:
            whole = chunk[:last]
        if last + 1 < len(chunk):
            partial.append(chunk[last + 1:])
        self._queue(whole)
        return True

    def _queue(self, whole):
        try:
            self.lines.extend(whole.decode("utf-8").split("\n"))
        except UnicodeDecodeError:
            for line in whole.split(b"\n"):
                try:
                    self.lines.append(line.decode("utf-8"))
                except UnicodeDecodeError:
                    self.lines.append(line)

    def readline(self):
        """The next non-empty line (str, or bytes if it is not UTF-8), or None at the end."""
        lines = self.lines
        while True:
            while lines:
                line = lines.popleft()
                if line:
                    return line
            if not self.fill():
                return None


class Writer(object):
    """Writes protocol lines to the daemon; safe to use from plugin threads.

    ``send(line, hold=True)`` lets the caller keep a message in memory to be written together
    with the next ones (results while more events are waiting); ``flush()`` writes everything
    held with one ``write``. Anything not held is written at once.
    """

    def __init__(self, fd):
        self._fd = fd
        self.held = []  # messages kept for the next write (public: cheap to test)
        self._lock = threading.Lock()
        self.closed = False

    def rebind(self, fd):
        """Write to ``fd`` from now on, with nothing held (see LineReader.rebind); -1: write
        nowhere and behave as closed (log records then go to stderr, see logbridge). One
        locked step, so no other thread writes to a stale fd in between."""
        with self._lock:
            self._fd = fd
            del self.held[:]
            self.closed = fd < 0

    def send(self, line, hold=False):
        """Send one message (a str that already ends with a newline)."""
        with self._lock:
            self.held.append(line)
            if not hold:
                self._write_held()

    def flush(self):
        with self._lock:
            if self.held:
                self._write_held()

    def _write_held(self):
        held = self.held
        data = (held[0] if len(held) == 1 else "".join(held)).encode("utf-8")
        del held[:]
        if self.closed:
            return
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except (BrokenPipeError, OSError):
            # The daemon is gone: nobody can be told anything any more.
            self.closed = True
            os._exit(0)
