"""The daemon's verbs as an operator uses them: start (daemonized), status, reload, restart,
stop; and their exit codes (docs/cli.md)."""

import os
import signal

from harness import DaemonTestCase, wait_for


class Verbs(DaemonTestCase):
    def tearDown(self):
        for d in self.daemons:  # daemonized ones are not our children: stop them by pid
            try:
                with open(d.pid_file) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        super().tearDown()

    def test_start_status_reload_restart_stop(self):
        d = self.daemon({"a": ""})
        started = d.cli("start")
        self.assertEqual(started.returncode, 0, started.stderr)
        self.assertIn("started (pid", started.stdout)
        with open(d.pid_file) as f:
            pid = int(f.read())

        again = d.cli("start")
        self.assertEqual(again.returncode, 1)
        self.assertIn("already running (pid %d" % pid, again.stderr)

        wait_for(lambda: "Polling" in d.log())
        ids = self.site.generate(50)
        wait_for(lambda: len(d.records("a")) >= len(ids))
        wait_for(lambda: d.status()[1].get("plugins", [{}])[0].get("cursor") == ids[-1]
                 and d.status()[1]["plugins"][0].get("committed") == ids[-1],
                 what="status to show the cursor, committed")
        status = d.cli("status")
        self.assertEqual(status.returncode, 0)
        self.assertIn("running (pid %d)" % pid, status.stdout)
        self.assertIn("a: active, cursor %d, committed %d, lag 0" % (ids[-1], ids[-1]),
                      status.stdout)
        self.assertRegex(status.stdout, r"polling adaptive: the pause after the last read "
                                        r"\d+\.\d s; 0 read\(s\) woken by webhooks")

        reload = d.cli("reload")
        self.assertEqual(reload.returncode, 0, reload.stderr)
        wait_for(lambda: "Reloading every plugin" in d.log())
        more = self.site.generate(20)
        wait_for(lambda: len(d.records("a")) >= len(ids + more))

        restarted = d.cli("restart")
        self.assertEqual(restarted.returncode, 0, restarted.stderr)
        with open(d.pid_file) as f:
            self.assertNotEqual(int(f.read()), pid)
        last = self.site.generate(20)
        wait_for(lambda: len(d.records("a")) >= len(ids + more + last))

        stopped = d.cli("stop")
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertIn("stopped", stopped.stdout)
        self.assertFalse(os.path.exists(d.pid_file))
        self.assertEqual(d.cli("status").returncode, 3)
        self.assertEqual(d.cli("stop").returncode, 0)  # stopping a stopped daemon is fine
        self.assertEqual(d.cli("reload").returncode, 3)
        self.assert_exactly_once_in_order(d.records("a"), ids + more + last)

    def test_start_reports_why_the_daemon_could_not_start(self):
        d = self.daemon({"a": ""})
        with open(d.state_file, "wb") as f:
            f.write(b"garbage" * 1000)
        answer = d.cli("start")
        self.assertEqual(answer.returncode, 1)
        self.assertIn("state", answer.stderr)
        self.assertFalse(os.path.exists(d.pid_file))

    def test_bad_config_is_exit_2_for_every_verb_but_stop_and_status(self):
        d = self.daemon({"a": ""}, {"queue_size": "-3"})
        for verb in ("start", "restart", "reload", "foreground"):
            answer = d.cli(verb)
            self.assertEqual(answer.returncode, 2, verb)
            self.assertIn("queue_size", answer.stderr, verb)
        # stop and status need only the pid file.
        for verb, code in (("stop", 0), ("status", 3)):
            answer = d.cli(verb)
            self.assertEqual(answer.returncode, code, (verb, answer.stderr))
            self.assertIn("only its pidFile is needed here", answer.stderr, verb)

    def test_a_missing_plugin_path_is_refused_as_the_original_refuses_it(self):
        d = self.daemon({"a": ""})
        with open(d.config) as f:
            text = f.read()
        missing = os.path.join(d.folder, "no-such-folder")
        with open(d.config, "w") as f:
            f.write(text.replace("paths = %s" % d.plugin_dir,
                                 "paths = %s,%s" % (d.plugin_dir, missing)))
        answer = d.cli("foreground")
        self.assertEqual(answer.returncode, 2, answer.stdout + answer.stderr)
        self.assertIn("%s does not exist" % missing, answer.stdout + answer.stderr)
        self.assertEqual(d.cli("check-config").returncode, 2)

    def test_stop_and_status_work_with_a_secret_unset_in_this_shell(self):
        d = self.daemon({"a": ""})
        d.start()
        with open(d.config) as f:
            text = f.read()
        with open(d.config, "w") as f:
            f.write(text.replace("key = sandbox-key", "key = %(SG_ED_API_KEY_NOT_SET)s"))
        status = d.cli("status")
        self.assertEqual(status.returncode, 0, status.stdout + status.stderr)
        self.assertIn("sgeventd is running (pid %d)" % d.proc.pid, status.stdout)
        self.assertNotIn("problem:", status.stdout)
        stopped = d.cli("stop")
        self.assertEqual(stopped.returncode, 0, stopped.stderr)
        self.assertEqual(d.proc.wait(30), 0)

    def test_sigusr1_reopens_the_log_files_after_logrotate_moved_them(self):
        d = self.daemon({"a": ""})
        d.start()
        ids = self.site.generate(1)
        wait_for(lambda: d.records("a") == ids, what="the first event")
        plugin_log = os.path.join(d.folder, "plugin.a")
        for path in (d.log_file, plugin_log):
            os.rename(path, path + ".1")  # what logrotate does (without copytruncate)
        os.kill(d.proc.pid, signal.SIGUSR1)
        wait_for(lambda: os.path.exists(d.log_file) and "Log files reopened" in d.log(),
                 what="a new main log")
        d.add_plugin("a", "")  # its worker restarts: the plugin logs that it loaded
        wait_for(lambda: os.path.exists(plugin_log) and "Loaded" in d.plugin_log("a"),
                 what="a new plugin log")
        more = self.site.generate(1)
        wait_for(lambda: d.records("a") == ids + more, what="events after the rotation")
        self.assertIsNone(d.proc.poll(), "SIGUSR1 never kills the daemon")
        with open(d.log_file + ".1") as f:
            self.assertNotIn("Log files reopened", f.read(), "nothing more in the moved file")
        self.assertEqual(d.stop(), 0)

    def test_status_is_a_health_check(self):
        d = self.daemon({"good": "", "fragile": ""})
        d.start()
        self.site.generate(1)
        wait_for(lambda: d.status() == (0, d.status()[1]) and d.status()[1].get("healthy"),
                 what="a healthy status")
        # fragile, edited to fail (its worker restarts), fails on the next event it gets and
        # is deactivated.
        d.add_plugin("fragile", "--fail-on 1 --stop-on-error")
        wait_for(lambda: self.site.generate(1) and d.cli("status").returncode == 1,
                 what="status to report the problem")
        out = d.cli("status")
        self.assertIn("problem: plugin fragile is deactivated", out.stdout)
        answer = d.status()
        self.assertEqual(answer[0], 1)
        self.assertFalse(answer[1]["healthy"])
        # A daemon that stops refreshing its status file (stopped with SIGSTOP) is reported.
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            wait_for(lambda: "may be stuck" in d.cli("status").stdout, timeout=30,
                     what="the stale status file")
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        self.assertEqual(d.stop(), 0)
