"""The plugin author's kit against real processes: a studio's schema in the sandbox
(`sandbox --schema`, `[sandbox] schema`), `schema dump` and `record`. The dry run `try` is in
test_try.py (its Python plugins need the shotgun_api3 stand-in: not in sanitizer builds)."""

import json
import os
import pickle
import subprocess
import sys

from harness import BIN, DaemonTestCase, Sandbox, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "schema")
READ_METHODS = {"info", "read", "schema_read", "schema_entity_read", "schema_field_read"}


def run(*args, site=None, check=True):
    env = dict(os.environ)
    if site:
        env.update(SGEVENTD_SERVER=site.url, SGEVENTD_SCRIPT_NAME="sandbox",
                   SGEVENTD_SCRIPT_KEY="sandbox-key")
    done = subprocess.run([BIN] + list(args), env=env, capture_output=True, text=True,
                          timeout=60)
    if check and done.returncode != 0:
        raise AssertionError("sgeventd %s: exit %d\n%s" % (" ".join(args), done.returncode,
                                                          done.stderr))
    return done


def api(site, *args):
    return json.loads(run("api", "--compact", *args, site=site).stdout)


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


class StudioSchema(DaemonTestCase):
    def test_mockguns_pickle_pair_gives_the_studios_types_and_fields(self):
        site = Sandbox(["--schema", os.path.join(FIXTURE, "schema.pickle"),
                        "--schema-entity", os.path.join(FIXTURE, "schema_entity.pickle")])
        try:
            types = api(site, "schema_entity_read")
            self.assertEqual(types["CustomEntity01"]["name"]["value"], "Episode")
            self.assertNotIn("Sequence", types)  # the starter's, not the studio's
            shot = api(site, "schema_field_read", "Shot")
            self.assertEqual(shot["sg_complexity"]["properties"]["valid_values"]["value"],
                             ["Simple", "Medium", "Hero"])
            self.assertEqual(shot["sg_bid_cost"]["data_type"]["value"], "currency")
            # Writes follow the studio's schema, and make the events a site would.
            episode = api(site, "create", "CustomEntity01", '{"code": "ep01"}')
            created = api(site, "create", "Shot", json.dumps(
                {"code": "sh010", "sg_episode": {"type": "CustomEntity01", "id": episode["id"]},
                 "sg_complexity": "Hero"}))
            self.assertEqual(created["sg_status_list"], "wtg")  # the studio's default
            events = api(site, "find", "EventLogEntry", '[["entity", "type_is", "Shot"]]',
                         "--fields", "event_type,attribute_name")
            self.assertIn(("Shotgun_Shot_Change", "sg_complexity"),
                          {(e["event_type"], e["attribute_name"]) for e in events})
            refused = run("api", "create", "Shot", '{"sg_complexity": "Epic"}', site=site,
                          check=False)
            self.assertEqual(refused.returncode, 1)
            self.assertIn("sg_complexity", refused.stderr)
        finally:
            site.stop()

    def test_dump_writes_what_mockgun_and_the_sandbox_read_back_the_same(self):
        out = os.path.join(self.tmp, "dump")
        original = Sandbox()
        try:
            api(original, "schema_field_create", json.dumps(
                {"type": "Shot", "data_type": "text",
                 "properties": [{"property_name": "name", "value": "Vendor Notes"}]}))
            run("schema", "dump", "--out", out, site=original)
            before = api(original, "schema_read")
            before_types = api(original, "schema_entity_read")
            counters = original.control("counters")["requests"]
        finally:
            original.stop()
        self.assertLessEqual(set(counters), READ_METHODS | {"schema_field_create"})
        # Python's own pickle loads the pair as mockgun would, and it equals the JSON.
        pickled = {}
        for name in ("schema", "schema_entity"):
            with open(os.path.join(out, name + ".pickle"), "rb") as f:
                pickled[name] = pickle.load(f)
            with open(os.path.join(out, name + ".json")) as f:
                self.assertEqual(pickled[name], json.load(f))
        self.assertEqual(pickled["schema"], before)
        self.assertEqual(pickled["schema_entity"], before_types)
        self.assertEqual(pickled["schema"]["Shot"]["sg_vendor_notes"]["name"]["value"],
                         "Vendor Notes")
        # A sandbox on the dump answers schema_read exactly as the site it came from.
        copy = Sandbox(["--schema", out])
        try:
            self.assertEqual(api(copy, "schema_read"), before)
            self.assertEqual(api(copy, "schema_entity_read"), before_types)
        finally:
            copy.stop()

    def test_bad_schema_files_stop_the_sandbox_with_the_reason(self):
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"Shot": {"name": {"value": "Shot"}, "visible": {"value": true}}}')
        done = subprocess.run([BIN, "sandbox", "--port", "0", "--schema", bad],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 1)
        self.assertIn("schema_entity_read answer", done.stderr)
        evil = os.path.join(self.tmp, "evil.pickle")
        with open(evil, "wb") as f:
            f.write(b"\x80\x02cos\nsystem\nX\x05\x00\x00\x00touch\x85R.")
        done = subprocess.run([BIN, "sandbox", "--port", "0", "--schema", evil],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 1)
        self.assertIn("refusing global os.system", done.stderr)

    def test_the_daemons_embedded_sandbox_takes_the_schema_from_its_config(self):
        d = self.daemon({"calm": ""}, extra="[sandbox]\nschema = %s\n" % FIXTURE)
        # The daemon's config names server = sandbox in place of the test's own site.
        with open(d.config) as f:
            text = f.read()
        with open(d.config, "w") as f:
            f.write(text.replace("server = %s" % self.site.url, "server = sandbox"))
        self.assertEqual(d.cli("check-config").returncode, 0, d.cli("check-config").stderr)
        d.start()
        wait_for(lambda: "The sandbox has the schema of " + FIXTURE in d.log(),
                 what="the schema line in the log")
        self.assertIn("Shot.sg_bid_cost: data type 'currency' is not emulated", d.log())
        d.stop()


class Record(DaemonTestCase):
    def make_history(self):
        site = self.site
        project = api(site, "create", "Project", '{"name": "Demo"}')
        step = api(site, "create", "Step", '{"code": "Anim"}')
        shot = api(site, "create", "Shot", json.dumps(
            {"code": "sh010", "project": {"type": "Project", "id": project["id"]}}))
        task = api(site, "create", "Task", json.dumps(
            {"content": "anim", "entity": {"type": "Shot", "id": shot["id"]},
             "step": {"type": "Step", "id": step["id"]},
             "project": {"type": "Project", "id": project["id"]}}))
        api(site, "update", "Task", str(task["id"]), '{"sg_status_list": "ip"}')
        return project, step, shot, task

    def test_events_come_out_as_the_daemon_delivers_them_and_nothing_is_written(self):
        self.make_history()
        newest = self.site.last_id()
        before = self.site.control("counters")["requests"]
        out = os.path.join(self.tmp, "all.jsonl")
        done = run("record", "--out", out, site=self.site)
        events = lines(out)
        self.assertEqual([e["id"] for e in events], list(range(1, newest + 1)))
        self.assertEqual(set(events[0]), {"type", "id", "event_type", "attribute_name", "meta",
                                          "entity", "user", "project", "session_uuid",
                                          "created_at"})
        self.assertRegex(events[0]["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIn("%d event(s) (ids 1 to %d)" % (newest, newest), done.stderr)
        after = self.site.control("counters")["requests"]
        self.assertEqual(self.site.last_id(), newest)
        written = {m: n - before.get(m, 0) for m, n in after.items()}
        self.assertEqual({m for m, n in written.items() if n and m not in READ_METHODS}, set())

    def test_filters_since_last_and_limit(self):
        self.make_history()
        newest = self.site.last_id()
        changes = run("record", "--out", "-", "--since", "1h",
                      "--filter", "event_type=Shotgun_Task_Change",
                      "--filter", "attribute_name=sg_status_list", site=self.site).stdout
        changes = [json.loads(line) for line in changes.splitlines()]
        self.assertEqual([e["meta"]["new_value"] for e in changes], ["wtg", "ip"])
        last = [json.loads(x) for x in
                run("record", "--out", "-", "--last", "3", site=self.site).stdout.splitlines()]
        self.assertEqual([e["id"] for e in last], [newest - 2, newest - 1, newest])
        capped = run("record", "--out", "-", "--from", "2", "--limit", "4", site=self.site)
        self.assertEqual([json.loads(x)["id"] for x in capped.stdout.splitlines()], [2, 3, 4, 5])
        self.assertIn("more match", capped.stderr)
        shots = run("record", "--out", "-", "--from", "1", "--filter", "entity_type=Shot,Step",
                    site=self.site).stdout.splitlines()
        self.assertEqual({json.loads(x)["entity"]["type"] for x in shots}, {"Shot", "Step"})
        for bad, why in ((["--filter", "colour=red"], "unknown field 'colour'"),
                         (["--since", "yesterday"], "expected a duration"),
                         (["--filter", "entity=Shot"], "expected Type:ID")):
            done = run("record", "--out", "-", *bad, site=self.site, check=False)
            self.assertEqual(done.returncode, 2, done.stderr)
            self.assertIn(why, done.stderr)

    def test_with_entities_snapshots_what_the_events_name_and_their_single_links(self):
        project, step, shot, task = self.make_history()
        out = os.path.join(self.tmp, "case.jsonl")
        run("record", "--out", out, "--from", "1", "--filter", "entity_type=Task",
            "--with-entities", site=self.site)
        records = lines(out)
        events = [r for r in records if r["type"] == "EventLogEntry"]
        entities = {(r["type"], r["id"]): r for r in records if r["type"] != "EventLogEntry"}
        self.assertTrue(events)
        # The Task and its Project (named by the events), then its Shot and Step (one hop).
        self.assertEqual(set(entities), {("Task", task["id"]), ("Project", project["id"]),
                                         ("Shot", shot["id"]), ("Step", step["id"])})
        snapshot = entities[("Task", task["id"])]
        self.assertEqual(snapshot["sg_status_list"], "ip")  # as it is now
        self.assertIn("due_date", snapshot)  # every field
        self.assertEqual(records[:len(events)], events)  # events first


if __name__ == "__main__":
    sys.exit("run with python3 -m unittest")
