"""Completion records (protocol feature "completions", docs/plugin-protocol.md).

The daemon names a file per plugin in ``load``; after an event's callbacks of that plugin all
succeeded, the worker notes the event's id there, before it answers. The file is memory-mapped,
so a note is two stores into shared pages that outlive every process: a daemon killed before it
read the answer learns at its next start what was finished and sends only the rest again.

Layout (little-endian; the daemon lays it out, src/workers/completion_log.h): a 64-byte header
(magic ``SGEVDONE``, u32 version 1, u32 slots, u64 count of records written) and ``slots``
records of (i64 event id, u64 ordinal = position + 1). Record n goes to slot n % slots, then the
count becomes n + 1, so a record the worker was killed in the middle of is never counted.

The worker holds a POSIX lock on the file while it lives: a daemon that finds it still held
knows a worker of its predecessor is running and stops it before reading.
"""

import fcntl
import mmap
import os
import struct

_MAGIC = b"SGEVDONE"
_HEADER = 64
_RECORD = 16
_VERSION = 1
_head = struct.Struct("<8sIIQ")


class CompletionLog(object):
    """One plugin's completion file, mapped; ``note(log, event_id)`` records a finished
    event."""

    __slots__ = ("_fd", "_map", "words", "slots", "n")

    def __init__(self, path):
        """Opens and locks the file; OSError or ValueError when it cannot be used."""
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            size = os.fstat(fd).st_size
            if size < _HEADER:
                raise ValueError("%s is not a completion file" % path)
            mapped = mmap.mmap(fd, size)
            magic, version, slots, count = _head.unpack_from(mapped, 0)
            if magic != _MAGIC or version != _VERSION or not slots or (
                size != _HEADER + _RECORD * slots
            ):
                mapped.close()
                raise ValueError("%s is not a completion file" % path)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._map = mapped
        # The file as 64-bit words: an item assignment is one aligned store, several times
        # cheaper than struct.pack_into on the map.
        self.words = memoryview(mapped).cast("q")
        self.slots = slots
        self.n = count

    def close(self):
        try:
            self.words.release()
            self._map.close()
        finally:
            os.close(self._fd)


def note(log, event_id):
    """Record that ``event_id`` is finished. A function, not a method: it runs once per event,
    and a bound method costs a third more (docs/python-plugins.md)."""
    n = log.n
    at = 8 + 2 * (n % log.slots)  # word 8 is byte 64, the first record
    words = log.words
    words[at] = event_id
    n += 1
    words[at + 1] = n  # the record's ordinal
    log.n = n
    words[2] = n  # the count (byte 16), last: the record is whole by then
