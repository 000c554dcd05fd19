"""The container recipe (packaging/Containerfile) as a plain process: no image can be built
here, so its ENV, ENTRYPOINT and HEALTHCHECK are read from the file and run against the
sandbox. Configuration from the environment alone (no config file), the key from a file (a
container secret), JSON lines on stdout and no log file, the health check, SIGTERM within the
grace period."""

import json
import os
import shlex
import signal
import socket
import subprocess
import time

from harness import BIN, TEST_WORKER, DaemonTestCase, wait_for

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "packaging", "Containerfile")


def recipe():
    """(ENV dict, ENTRYPOINT list, HEALTHCHECK CMD list) of the Containerfile."""
    lines, current = [], ""
    with open(RECIPE) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                current += line[:-1] + " "
                continue
            lines.append(current + line)
            current = ""
    env, entry, health = {}, None, None
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
        elif word == "ENTRYPOINT":
            entry = json.loads(rest)
        elif word == "HEALTHCHECK":
            health = json.loads(rest[rest.index("CMD") + 3:].strip())
    return env, entry, health


def text_of(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container(DaemonTestCase):
    def test_the_recipe_runs_from_the_environment_alone(self):
        env, entry, health = recipe()
        self.assertEqual(entry, ["sgeventd", "foreground"])
        self.assertEqual(env["SGEVENTD_LOG_FILES"], "off")
        # The recipe's paths, moved into this test's folder; its port, to a free one.
        state = os.path.join(self.tmp, "state")
        plugins = os.path.join(self.tmp, "plugins")
        os.makedirs(state)
        os.makedirs(plugins)
        port = free_port()
        env = {k: v.replace("/var/lib/sgeventd", state).replace("/plugins", plugins)
               for k, v in env.items()}
        env["SGEVENTD_ADMIN_PORT"] = str(port)
        key_file = os.path.join(self.tmp, "sg_key")
        with open(key_file, "w") as f:
            f.write("sandbox-key\n")  # the sandbox's script key
        env.update({"SGEVENTD_SERVER": self.site.url, "SGEVENTD_SCRIPT_NAME": "sandbox",
                    "SGEVENTD_SCRIPT_KEY_FILE": key_file, "SGEVENTD_FETCH_INTERVAL": "0.2"})
        record = os.path.join(self.tmp, "received")
        with open(os.path.join(plugins, "p.plugin"), "w") as f:
            f.write("[plugin]\ncommand = %s\nargs = --record %s\n" % (TEST_WORKER, record))
        base = {k: v for k, v in os.environ.items() if not k.startswith("SGEVENTD_")}

        check = subprocess.run([BIN, "check-config"], env=dict(base, **env), cwd=self.tmp,
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("(environment): OK", check.stdout)

        out = open(os.path.join(self.tmp, "stdout"), "w")
        proc = subprocess.Popen([BIN] + entry[1:], env=dict(base, **env), cwd=self.tmp,
                                stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        stdout = os.path.join(self.tmp, "stdout")
        wait_for(lambda: "Polling" in text_of(stdout) or proc.poll() is not None,
                 what="the daemon to poll")
        ids = self.site.generate(3)
        wait_for(lambda: [int(i) for i in text_of(record).split()] == ids, what="the events")

        # The health check as the runtime runs it, against the daemon's port.
        command = [c.replace("8080", str(port)) for c in health]
        wait_for(lambda: subprocess.run(command, capture_output=True, timeout=20).returncode == 0,
                 what="the health check to pass")

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(30), 0)
        self.assertLess(time.monotonic() - started, float(env["SGEVENTD_SHUTDOWN_GRACE"]))
        text = text_of(stdout)
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        self.assertTrue(records)
        self.assertTrue(any("Polling" in r.get("message", "") for r in records), text[-2000:])
        self.assertNotIn("sandbox-key", text)
        # Nothing but the state was written: no log file anywhere in the folder.
        written = sorted(os.listdir(self.tmp))
        self.assertEqual(written, ["plugins", "received", "sg_key", "state", "stdout"])
        self.assertTrue(any(n.startswith("sgeventd.id") for n in os.listdir(state)))
