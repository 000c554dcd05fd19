"""Secrets and files, tried as a hostile user would (issue 11): an exec plugin gets none of the
daemon's credentials unless its manifest names them; errors that quote a secret are masked in
the dead letters, the status file, `sgeventd status` and every log; the state, the status file
and the logs are not world-readable; links planted at the pid file and at the status file's
temporary name are not written through."""

import glob
import json
import os
import sqlite3
import stat
import subprocess

from harness import BIN, TEST_WORKER, DaemonTestCase, wait_for

KEY = "sandbox-key"  # the daemon's script key (harness.py)
SMTP = "Smtp-S3cret-pw"
OWN = "Plugins-Own-K3y"  # a plugin's own script key, named by its worker in loaded/load_failed
EMAILS = "[emails]\nserver = 127.0.0.1\nusername = alerts\npassword = %s\n" % SMTP


def manifest(d, name, args, credentials=None):
    with open(os.path.join(d.plugin_dir, name + ".plugin"), "w") as f:
        f.write("[plugin]\ncommand = %s\nargs = --record %s %s\n"
                % (TEST_WORKER, d.record_file(name), args))
        if credentials:
            f.write("credentials = %s\n" % credentials)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


class Secrets(DaemonTestCase):
    def test_an_exec_plugin_gets_no_credential_unless_its_manifest_names_it(self):
        d = self.daemon({}, extra=EMAILS)
        plain, named = os.path.join(d.folder, "hello.plain"), os.path.join(d.folder, "hello.named")
        manifest(d, "plain", "--record-hello %s" % plain)
        manifest(d, "named", "--record-hello %s" % named, credentials="shotgun.key")
        d.start()
        wait_for(lambda: os.path.exists(plain) and os.path.exists(named), what="both hellos")
        d.stop()
        text = read(plain)
        self.assertNotIn(KEY, text)
        self.assertNotIn(SMTP, text)
        hello = json.loads(text)
        # Everything else is there: the site, the plugin's own sections, the script's name.
        self.assertEqual(hello["config"]["shotgun"]["name"], "sandbox")
        self.assertEqual(hello["config"]["emails"]["username"], "alerts")
        self.assertNotIn("key", hello["config"]["shotgun"])
        self.assertTrue(hello["site"]["url"].startswith("http://127.0.0.1:"))
        hello = json.loads(read(named))
        self.assertEqual(hello["config"]["shotgun"]["key"], KEY)
        self.assertNotIn("password", hello["config"]["emails"])

    def test_errors_that_quote_secrets_are_masked_everywhere_they_are_kept(self):
        d = self.daemon({}, extra=EMAILS)
        leak = "'RuntimeError: login with %s, %s and %s refused'" % (KEY, SMTP, OWN)
        manifest(d, "leaky", "--secret %s --fail-on 2 --error %s --stderr 'stderr: %s'"
                 % (OWN, leak, OWN))
        manifest(d, "broken", "--secret %s --load-fail --error %s" % (OWN, leak))
        d.start()
        ids = self.site.generate(4)
        wait_for(lambda: len(d.records("leaky")) >= len(ids), what="leaky to get every event")

        def letters():
            with sqlite3.connect("file:%s?mode=ro" % d.state_file, uri=True) as db:
                return db.execute("SELECT error FROM dead_letters").fetchall()

        wait_for(lambda: letters(), what="the dead letter")
        status_file = d.pid_file + ".status"
        wait_for(lambda: os.path.exists(status_file) and "broken" in read(status_file)
                 and "refused" in read(status_file), what="the load failure in the status")
        plain = d.cli("status")
        as_json = d.cli("status", "--json")
        status_text = read(status_file)  # removed at stop
        d.stop()
        self.assertIn("********", letters()[0][0])
        kept = {"dead letter": letters()[0][0], "status file": status_text,
                "status": plain.stdout + plain.stderr, "status --json": as_json.stdout}
        for log in glob.glob(os.path.join(d.folder, "sgeventd.log*")) + \
                glob.glob(os.path.join(d.folder, "plugin.*")):
            kept[os.path.basename(log)] = read(log)
        self.assertIn("refused", kept["status --json"])
        self.assertIn("refused", kept["dead letter"])
        self.assertIn("stderr: ********", kept["plugin.leaky"])
        for where, text in kept.items():
            self.assertNotIn(KEY, text, where)
            self.assertNotIn(SMTP, text, where)
            self.assertNotIn(OWN, text, where)

    def test_the_state_the_status_and_the_logs_are_not_world_readable(self):
        d = self.daemon({"p": ""})
        d.start()
        ids = self.site.generate(2)
        wait_for(lambda: d.records("p") == ids, what="the events")
        status_file = d.pid_file + ".status"
        wait_for(lambda: os.path.exists(status_file), what="the status file")
        files = [d.state_file, status_file, d.log_file, os.path.join(d.folder, "plugin.p")]
        files += glob.glob(d.state_file + "-wal")
        modes = {f: stat.S_IMODE(os.stat(f).st_mode) for f in files}
        d.stop()
        for f, mode in modes.items():
            self.assertEqual(mode & 0o007, 0, "%s is %o" % (f, mode))

    def test_links_planted_at_the_pid_file_and_the_status_temp_file_are_not_followed(self):
        victim = os.path.join(self.tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        d = self.daemon({"p": ""})
        os.symlink(victim, d.pid_file)
        refused = subprocess.run([BIN, "foreground", "-c", d.config], capture_output=True,
                                 text=True, timeout=60)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("pid file", refused.stderr + refused.stdout)
        self.assertEqual(read(victim), "precious\n")

        os.remove(d.pid_file)
        status_file = d.pid_file + ".status"
        os.symlink(victim, status_file + ".tmp")
        d.start()
        wait_for(lambda: os.path.exists(status_file), what="a status written")
        d.stop()
        self.assertEqual(read(victim), "precious\n")
