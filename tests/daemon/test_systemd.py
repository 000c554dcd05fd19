"""The systemd notify protocol (sd_notify(3), docs/deploy.md) against a datagram socket of the
test's own, as systemd would hold it for a Type=notify service: READY=1 once the daemon polls,
WATCHDOG=1 at half of WATCHDOG_USEC while its loops are alive and none while a read hangs,
STATUS= lines that follow the site, STOPPING=1 on SIGTERM."""

import os
import socket
import threading
import time

from harness import SLOWDOWN, DaemonTestCase, wait_for


class NotifySocket:
    """A bound AF_UNIX datagram socket; every message received, with its arrival time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, text)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def texts(self):
        with self.lock:
            return [m for _, m in self.messages]

    def times_of(self, text):
        with self.lock:
            return [t for t, m in self.messages if m == text]

    def close(self):
        self.done.set()
        self.thread.join()
        self.sock.close()


class Systemd(DaemonTestCase):
    def notify_socket(self):
        path = os.path.join(self.tmp, "notify.sock")
        s = NotifySocket(path)
        self.addCleanup(s.close)
        return path, s

    def test_ready_after_the_first_poll_watchdog_pings_and_stopping(self):
        path, notify = self.notify_socket()
        d = self.daemon({"p": ""})
        d.start(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
        wait_for(lambda: "READY=1" in notify.texts(), what="READY=1")
        # Ready once it polls: the log says it polls before systemd hears it is ready.
        self.assertIn("Polling ", d.log())
        wait_for(lambda: any(m.startswith("STATUS=polling: 1 plugin(s) active")
                             for m in notify.texts()), what="a polling status")
        wait_for(lambda: len(notify.times_of("WATCHDOG=1")) >= 6, what="watchdog pings")
        pings = notify.times_of("WATCHDOG=1")
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        # Half of the 1 s asked for, from a loop that looks every 200 ms.
        self.assertLess(max(gaps), 0.9 * SLOWDOWN, gaps)
        self.assertGreater(min(gaps), 0.4, gaps)
        ids = self.site.generate(3)
        wait_for(lambda: d.records("p") == ids, what="the events")
        self.assertEqual(d.stop(), 0)
        wait_for(lambda: "STOPPING=1" in notify.texts(), what="STOPPING=1")
        self.assertEqual(notify.texts().count("READY=1"), 1)

    def test_no_watchdog_ping_while_a_read_hangs_and_the_status_says_so(self):
        path, notify = self.notify_socket()
        d = self.daemon({"p": ""})
        d.start(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1500000"})
        wait_for(lambda: len(notify.times_of("WATCHDOG=1")) >= 3, what="watchdog pings")
        # The next read of the event log hangs for 6 s, then fails: its connection closes after
        # 3 s, and the request libcurl sends again on a new one hangs 3 s more and closes too.
        hang_start = time.monotonic()
        self.site.control("faults", {"kind": "hang", "delay_ms": 3000, "count": 2,
                                     "methods": ["read"]})
        wait_for(lambda: any(m.startswith("STATUS=site unreachable") for m in notify.texts()),
                 what="the status to say the site is unreachable", timeout=30)
        # Some ping came after the read failed (the loop is alive again) ...
        wait_for(lambda: len([t for t in notify.times_of("WATCHDOG=1")
                              if t > hang_start + 5]) >= 2, what="pings after the hang")
        pings = notify.times_of("WATCHDOG=1")
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        # ... and while the read hung past the 1.5 s interval, none: systemd would have
        # restarted the daemon.
        self.assertGreater(max(gaps), 3.0, gaps)
        wait_for(lambda: any(m.startswith("STATUS=polling") for m in notify.texts()[-3:]),
                 what="polling again")
        ids = self.site.generate(2)
        wait_for(lambda: d.records("p") == ids, what="the events after the hang")
        self.assertEqual(d.stop(), 0)

    def test_the_status_says_catching_up_while_a_plugin_trails(self):
        path, notify = self.notify_socket()
        d = self.daemon({"fast": "", "slow": "--sleep-ms 20"})
        d.start(env={"NOTIFY_SOCKET": path})
        wait_for(lambda: "STATUS=polling: 2 plugin(s) active" in notify.texts(), what="polling")
        ids = self.site.generate(150)  # 3 s of work for slow
        wait_for(lambda: "STATUS=catching up: 1 of 2 plugin(s) behind" in notify.texts(),
                 what="the catching-up status")
        wait_for(lambda: d.records("slow") == ids, what="slow to catch up")
        wait_for(lambda: notify.texts()[-1] == "STATUS=polling: 2 plugin(s) active",
                 what="polling again")
        self.assertEqual(d.stop(), 0)

    def test_workers_never_see_the_notify_socket(self):
        # A plugin process inherits no NOTIFY_SOCKET: it cannot speak for the daemon.
        path, notify = self.notify_socket()
        d = self.daemon({"p": "--record-env NOTIFY_SOCKET"})
        d.start(env={"NOTIFY_SOCKET": path})
        ids = self.site.generate(1)
        wait_for(lambda: d.records("p") == ids, what="the event")
        self.assertEqual(d.stop(), 0)
        self.assertTrue(notify.texts(), "the daemon itself did speak")
        with open(d.record_file("p") + ".env") as f:
            self.assertEqual(f.read().strip(), "NOTIFY_SOCKET=")
