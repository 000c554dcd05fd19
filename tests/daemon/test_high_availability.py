"""High availability on PostgreSQL (issue 16, docs/high-availability.md): two daemons share one
state in a real PostgreSQL server (Debian's package, started by tests/support/pg_server.sh in a
folder of this module's, a Unix socket only). One leads and delivers; the other stands by and
takes over when the leader dies, freezes or stops, resuming from the committed cursors.

Both daemons load the same plugin folder (a plugin is its path and name), and each records what
it delivered in a file of its own (the test worker's --record-suffix-env), so a test can tell
which daemon delivered an event.
"""

import collections
import os
import signal
import subprocess
import time
import unittest

from harness import DaemonTestCase, SLOWDOWN, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PG_SCRIPT = os.path.join(HERE, "..", "support", "pg_server.sh")
# This module's own server: it restarts it, which the other tests' server must not suffer.
PG_DIR = os.environ.get("SGEVENTD_TEST_PG_DIR", "/tmp/sgeventd-test-pg") + "-ha"
LEASE = 3  # seconds: short, so failovers are quick to test
SERVER_URL = None


def pg(action, folder=PG_DIR):
    out = subprocess.run([PG_SCRIPT, action, folder], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("pg_server.sh %s failed: %s" % (action, out.stderr))
    return out.stdout.strip()


def psql(url, sql):
    out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("psql failed: %s" % out.stderr)
    return out.stdout.strip()


def setUpModule():
    global SERVER_URL
    SERVER_URL = pg("start")


def tearDownModule():
    pg("destroy")


class HighAvailabilityTest(DaemonTestCase):
    count = 0

    def setUp(self):
        super().setUp()
        HighAvailabilityTest.count += 1
        self.db = "ha_%d_%d" % (os.getpid(), HighAvailabilityTest.count)
        psql(SERVER_URL, "CREATE DATABASE %s" % self.db)
        self.url = SERVER_URL.replace("/postgres?", "/%s?" % self.db)
        self.plugins = os.path.join(self.tmp, "plugins")
        os.makedirs(self.plugins)

    def tearDown(self):
        super().tearDown()
        psql(SERVER_URL, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db)

    def node(self, name, url=None, lease=LEASE, keys=None, state_extra=""):
        d = self.daemon({}, daemon_keys=keys, name=name, plugin_dir=self.plugins,
                        extra="[state]\nurl = %s\nlease_seconds = %s\n%s"
                        % (url or self.url, lease, state_extra))
        d.node = name
        return d

    def add_plugin(self, d, name="p"):
        d.add_plugin(name, "--record-suffix-env SGEVENTD_TEST_NODE")

    def start(self, d, lead):
        d.start(wait=False, env={"SGEVENTD_TEST_NODE": d.node})
        line = "Polling " if lead else "Standing by"
        wait_for(lambda: line in d.log() or d.proc.poll() is not None,
                 what="%s to %s" % (d.node, "lead" if lead else "stand by"))
        if d.proc.poll() is not None:
            raise AssertionError("%s exited:\n%s" % (d.node, d.log()[-3000:]))

    def received(self, d, name="p"):
        try:
            with open(d.record_file(name) + "." + d.node) as f:
                return [int(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def assert_all_delivered(self, ids, *nodes, bound=0):
        """Every id delivered by one of the nodes, and at most `bound` of them twice."""
        got = []
        for n in nodes:
            got += self.received(n)
        counts = collections.Counter(got)
        missing = sorted(set(ids) - set(counts))
        self.assertEqual(missing, [], "lost events")
        twice = sorted(i for i, c in counts.items() if c > 1)
        self.assertLessEqual(len(twice), bound, "events delivered more than once: %s" % twice[:20])
        return twice

    def wait_delivered(self, ids, *nodes, timeout=60):
        want = set(ids)
        wait_for(lambda: want <= set(sum((self.received(n) for n in nodes), [])),
                 timeout=timeout * SLOWDOWN, what="%d events delivered" % len(want))

    def wait_committed(self, ids):
        wait_for(lambda: int(psql(self.url, "SELECT coalesce(min(cursor), 0) FROM "
                                            "sgeventd_plugins") or 0) >= max(ids),
                 what="the cursors committed up to %d" % max(ids))

    def test_the_standby_takes_over_from_a_killed_leader_and_nothing_is_lost(self):
        a, b = self.node("a"), self.node("b")
        self.add_plugin(a)
        self.start(a, lead=True)
        self.start(b, lead=False)
        # The standby's worker is up with the plugin loaded (warm), and has delivered nothing.
        wait_for(lambda: "Loaded " in b.plugin_log("p"), what="the standby to load its plugin")
        # The status is written every second: wait for the one that lists the plugin.
        wait_for(lambda: [p["name"] for p in b.status()[1].get("plugins", [])] == ["p"],
                 what="the standby's status to list its loaded plugin")
        self.assertEqual(b.status()[1].get("role"), "standby")
        first = self.site.generate(200)
        self.wait_delivered(first[:50], a)
        self.assertEqual(self.received(b), [])
        a.kill9()
        killed = time.monotonic()
        committed = int(psql(self.url, "SELECT coalesce(min(cursor), 0) FROM sgeventd_plugins"))
        wait_for(lambda: "Leading state" in b.log(), timeout=(LEASE + 10) * SLOWDOWN,
                 interval=0.02, what="b to take the lease")
        took = time.monotonic() - killed
        self.assertLessEqual(took, (LEASE + 2) * SLOWDOWN,
                             "the standby took %.1f s to lead (lease %d s)" % (took, LEASE))
        second = self.site.generate(100)
        self.wait_delivered(first + second, a, b)
        # Duplicates: only what was in flight at a when it died, the events after its committed
        # cursor (a no-op plugin finishes 200 events within one commit interval, so that may be
        # all of them).
        twice = self.assert_all_delivered(first + second, a, b, bound=len(first))
        self.assertEqual([i for i in twice if i <= committed], [],
                         "events at or below the committed cursor %d delivered again" % committed)
        wait_for(lambda: b.status()[1].get("role") == "leader", what="b's status to say leader")
        self.assertEqual(b.plugin_log("p").count("Loaded "), 1,
                         "the warm worker led without loading the plugin again")
        status = b.status()[1]
        self.assertEqual(status["lease_epoch"], 2)
        self.assertLess(status["lease_age_ms"], LEASE * 1000)

    def test_a_frozen_leader_is_fenced_and_delivers_nothing_after_it_wakes(self):
        a, b = self.node("a"), self.node("b")
        self.add_plugin(a)
        self.start(a, lead=True)
        self.start(b, lead=False)
        first = self.site.generate(50)
        self.wait_delivered(first, a)
        # Committed before the freeze: then anything delivered twice would be a fencing failure,
        # not the in-flight events a crash may repeat.
        self.wait_committed(first)
        a.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: "Leading state" in b.log(), timeout=(LEASE + 10) * SLOWDOWN,
                     what="b to take the lease from the frozen leader")
            second = self.site.generate(50)
            self.wait_delivered(second, b)
        finally:
            a.proc.send_signal(signal.SIGCONT)
        woke_with = len(self.received(a))
        # It finds its lease gone (the deadline, before any send; then the fenced renewal) and
        # stands by again, while b goes on delivering.
        wait_for(lambda: "no longer the leader" in a.log(), timeout=30 * SLOWDOWN,
                 what="a to notice it lost the lease")
        third = self.site.generate(50)
        self.wait_delivered(third, b)
        self.assertEqual(len(self.received(a)), woke_with,
                         "the old leader delivered after it woke")
        self.assertIn("Standing by", a.log().split("no longer the leader", 1)[1])
        self.assert_all_delivered(first + second + third, a, b, bound=0)
        wait_for(lambda: a.status()[1].get("role") == "standby", what="a's status to say standby")
        refused = a.cli("disable", "p")
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("stands by for state", refused.stderr)
        self.assertEqual(a.status()[1].get("leader"), b.status()[1].get("daemon_id"))

    def test_a_stopped_leader_hands_over_at_once(self):
        a, b = self.node("a", lease=30), self.node("b", lease=30)
        self.add_plugin(a)
        self.start(a, lead=True)
        self.start(b, lead=False)
        first = self.site.generate(30)
        self.wait_delivered(first, a)
        self.assertEqual(a.stop(), 0)
        stopped = time.monotonic()
        wait_for(lambda: "Leading state" in b.log(), timeout=20 * SLOWDOWN,
                 what="b to lead after a clean stop")
        self.assertLess(time.monotonic() - stopped, 5 * SLOWDOWN,
                        "a released lease is taken without waiting out its 30 s")
        second = self.site.generate(30)
        self.wait_delivered(first + second, a, b)
        self.assert_all_delivered(first + second, a, b, bound=0)

    def test_daemons_started_together_elect_one_leader(self):
        a, b = self.node("a"), self.node("b")
        self.add_plugin(a)
        a.start(wait=False, env={"SGEVENTD_TEST_NODE": "a"})
        b.start(wait=False, env={"SGEVENTD_TEST_NODE": "b"})
        wait_for(lambda: ("Polling " in a.log()) + ("Polling " in b.log()) >= 1
                 and ("Standing by" in a.log()) + ("Standing by" in b.log()) >= 1,
                 what="one leader and one standby")
        ids = self.site.generate(40)
        leader = a if "Polling " in a.log() else b
        other = b if leader is a else a
        self.wait_delivered(ids, leader)
        self.assertNotIn("Polling ", other.log())
        self.assertEqual(self.received(other), [])
        self.assertEqual(int(psql(self.url, "SELECT count(*) FROM sgeventd_lease")), 1)

    def test_the_leader_rides_through_a_terminated_connection_and_a_database_restart(self):
        a, b = self.node("a", lease=10), self.node("b", lease=10)
        self.add_plugin(a)
        self.start(a, lead=True)
        self.start(b, lead=False)
        ids = self.site.generate(50)
        self.wait_delivered(ids, a)
        psql(self.url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ids += self.site.generate(50)
        self.wait_delivered(ids, a)
        pg("restart")
        ids += self.site.generate(50)
        self.wait_delivered(ids, a)
        self.assertNotIn("Leading state", b.log(), "a lease of 10 s outlasts the restart")
        self.assert_all_delivered(ids, a, b, bound=0)
        # The cursor reached the database again after the restart.
        wait_for(lambda: int(psql(self.url, "SELECT max(cursor) FROM sgeventd_plugins") or 0)
                 >= max(ids), what="the cursor committed after the restart")

    def test_an_unreachable_database_at_start_is_retried_until_it_answers(self):
        os.chmod(self.tmp, 0o755)  # the server runs as "postgres" under root
        folder = os.path.join(self.tmp, "late-pg")
        url = "postgresql:///postgres?host=%s&port=5432&user=sgeventd" % folder
        a = self.node("a", url=url)
        self.add_plugin(a)
        a.start(wait=False, env={"SGEVENTD_TEST_NODE": "a"})
        try:
            wait_for(lambda: a.log().count("The state's database is unreachable") >= 2,
                     what="the daemon to report the database unreachable, twice")
            self.assertIsNone(a.proc.poll(), "it keeps trying rather than exit")
            self.assertIn("attempt 1", a.log())
            pg("start", folder)
            wait_for(lambda: "Polling " in a.log(), what="a to lead once the database answers")
            ids = self.site.generate(20)
            self.wait_delivered(ids, a)
        finally:
            a.stop()
            pg("destroy", folder)

    def test_check_config_says_whether_the_database_can_be_used(self):
        a = self.node("a")
        self.add_plugin(a)
        fresh = a.cli("check-config")
        self.assertEqual(fresh.returncode, 0, fresh.stderr)
        self.assertIn("no sgeventd tables yet: the daemon makes them", fresh.stdout)
        self.start(a, lead=True)
        led = a.cli("check-config")
        self.assertEqual(led.returncode, 0, led.stderr)
        self.assertIn("schema version 1, rights to read and write; led by", led.stdout)
        a.stop()

        role = "ha_reader_%d" % os.getpid()
        psql(self.url, "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN" % (role, role))
        try:
            as_role = self.url.split("user=")[0] + "user=" + role
            ro = self.node("ro", url=as_role)
            denied = ro.cli("check-config")
            self.assertEqual(denied.returncode, 2)
            self.assertIn("StateUnwritable: ERROR:  permission denied for table sgeventd_", denied.stderr)
            empty_db = "%s_empty" % self.db
            psql(SERVER_URL, "CREATE DATABASE %s" % empty_db)
            try:
                none = self.node("none", url=SERVER_URL.replace("/postgres?", "/%s?" % empty_db)
                                 .split("user=")[0] + "user=" + role)
                cannot = none.cli("check-config")
                self.assertEqual(cannot.returncode, 2)
                self.assertIn("may not create them in schema public", cannot.stderr)
            finally:
                psql(SERVER_URL, "DROP DATABASE %s WITH (FORCE)" % empty_db)
        finally:
            psql(self.url, "DROP OWNED BY %s; DROP ROLE %s" % (role, role))

        # A password from [state] password_file (this role must give one: pg_server.sh).
        psql(self.url, "DROP ROLE IF EXISTS sgeventd_password; CREATE ROLE sgeventd_password "
                       "LOGIN SUPERUSER PASSWORD 'right horse'")
        password_file = os.path.join(self.tmp, "pg-password")
        with open(password_file, "w") as f:
            f.write("right horse\n")
        as_pw = self.url.split("user=")[0] + "user=sgeventd_password"
        no_pw = self.node("nopw", url=as_pw).cli("check-config")
        self.assertEqual(no_pw.returncode, 2)
        with_pw = self.node("pw", url=as_pw, state_extra="password_file = %s\n" % password_file)
        self.add_plugin(with_pw)
        ok = with_pw.cli("check-config")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.start(with_pw, lead=True)
        self.assertNotIn("right horse", with_pw.log())
        with_pw.stop()

        gone = self.node("gone", url="postgresql://sgeventd:s3cret@/x?host=%s/nowhere" % self.tmp)
        unreachable = gone.cli("check-config")
        self.assertEqual(unreachable.returncode, 2)
        self.assertIn("StateUnreachable: cannot connect", unreachable.stderr)
        self.assertIn("sgeventd:***@", unreachable.stderr)
        self.assertNotIn("s3cret", unreachable.stderr)

    def test_import_state_moves_an_sqlite_state_into_postgresql(self):
        # A daemon on SQLite delivers 30 events and stops.
        solo = self.daemon({}, name="solo", plugin_dir=self.plugins)
        solo.node = "solo"
        self.add_plugin(solo)
        self.start(solo, lead=True)
        first = self.site.generate(30)
        self.wait_delivered(first, solo)
        self.assertEqual(solo.stop(), 0)

        a = self.node("a")
        dry = a.cli("import-state", solo.state_file, "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn("after event %d" % max(first), dry.stdout)
        done = a.cli("import-state", solo.state_file)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("copied 1 plugin(s)", done.stdout)
        again = a.cli("import-state", solo.state_file)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already holds plugins: --force replaces it", again.stderr)
        forced = a.cli("import-state", solo.state_file, "--force")
        self.assertEqual(forced.returncode, 0, forced.stderr)

        # The daemon on PostgreSQL resumes where the SQLite one stopped: nothing again.
        self.start(a, lead=True)
        second = self.site.generate(20)
        self.wait_delivered(second, a)
        self.assertEqual(sorted(self.received(a)), sorted(second))
        busy = a.cli("import-state", solo.state_file, "--force")
        self.assertEqual(busy.returncode, 1)
        self.assertIn("a daemon leads state", busy.stderr)
        self.assertEqual(a.stop(), 0)

        # A shotgunEvents state (its old one-integer text format) replaces it with --force.
        legacy = os.path.join(self.tmp, "shotgunEvents.id")
        with open(legacy, "w") as f:
            f.write("%d\n" % max(second))
        old = a.cli("import-state", legacy, "--force")
        self.assertEqual(old.returncode, 0, old.stderr)
        self.assertIn("imported 0 plugin cursor(s)", old.stdout)
        self.assertEqual(psql(self.url, "SELECT count(*) FROM sgeventd_plugins"), "0")
        self.assertEqual(psql(self.url, "SELECT folder || '=' || cursor FROM "
                                        "sgeventd_legacy_defaults"), "=%d" % max(second))


if __name__ == "__main__":
    unittest.main()
