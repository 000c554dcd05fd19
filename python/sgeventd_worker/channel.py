"""The protocol's pipes: one JSON object per line each way (docs/plugin-protocol.md).

Standard output belongs to the protocol alone, yet plugins print, spawn programs and load C
extensions that write to file descriptor 1. So the channel takes private copies of descriptors 0
and 1 and points the originals elsewhere: fd 0 at /dev/null (a plugin's ``input()`` or child
process can never eat protocol lines) and fd 1 at the worker's stderr (which the daemon logs at
WARNING). Python-level ``print()`` is handled separately (logbridge.PrintRedirect).

Reading is done with ``os.read`` into our own line buffer rather than a file object: the worker
then knows whether more complete lines are already waiting, which lets it hold small results
back and send several with one write while the daemon is pipelining (see Writer).
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
    """Splits the daemon's byte stream into lines (bytes, without the newline)."""

    def __init__(self, fd):
        self._fd = fd
        self.lines = deque()  # complete lines not read yet (public: cheap to test)
        self._partial = []  # pieces of an unfinished line
        self.eof = False

    def has_line(self):
        """True when a complete line is already buffered (reading it will not block)."""
        return bool(self.lines)

    def readline(self):
        """The next non-empty line, or None at end of input."""
        lines = self.lines
        while True:
            while lines:
                line = lines.popleft()
                if line:
                    return line
            if self.eof:
                return None
            chunk = os.read(self._fd, _READ_SIZE)
            if not chunk:
                self.eof = True
                # A last line without its newline is still a line.
                if self._partial:
                    lines.append(b"".join(self._partial))
                    self._partial = []
                continue
            if b"\n" not in chunk:
                self._partial.append(chunk)
                continue
            parts = chunk.split(b"\n")
            if self._partial:
                self._partial.append(parts[0])
                parts[0] = b"".join(self._partial)
                self._partial = []
            tail = parts.pop()
            if tail:
                self._partial.append(tail)
            lines.extend(parts)


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
