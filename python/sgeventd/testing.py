"""sgeventd.testing: test a trigger against a real local site, in a real worker.

A pytest plugin too (registered as ``sgeventd``; or ``pytest_plugins = ["sgeventd.testing"]``):

    from sgeventd import testing as sgt

    PLUGIN = "plugins/shot_ip_on_task_start.py"

    def test_a_started_task_starts_its_shot(sgeventd_site):
        shot = sgeventd_site.create("Shot", {"code": "sh010"})
        task = sgeventd_site.create("Task", {"content": "anim", "entity": shot})
        outcome = sgt.deliver(PLUGIN, sgt.attribute_change(task, "sg_status_list", "wtg", "ip"),
                              site=sgeventd_site)
        assert outcome.ok, outcome.errors
        assert sgeventd_site.get(shot, "sg_status_list") == "ip"

``Site`` is ``sgeventd sandbox`` in its own process (a studio's schema with ``schema=``, entities
from ``sgeventd record --with-entities`` with ``seed=``). ``deliver`` and ``run_events`` run the
plugin through ``sgeventd try`` against that site: the worker, ``sg``, logger and args are the
daemon's. The event builders make events shaped as ``shotgun_api3`` returns them (docs/
testing-plugins.md). Only the standard library is used; pytest only for the fixtures.

The sgeventd binary: ``$SGEVENTD_BIN``, else ``sgeventd`` on PATH.
"""

import datetime
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request

__all__ = ["Site", "Outcome", "deliver", "run_events", "attribute_change",
           "multi_entity_change", "new_entity", "retirement", "revival", "binary"]

SCRIPT_NAME = "sandbox"
SCRIPT_KEY = "sandbox-key"
_ids = itertools.count(1_000_000)


def binary():
    """The sgeventd to run: $SGEVENTD_BIN, else the one on PATH."""
    path = os.environ.get("SGEVENTD_BIN") or shutil.which("sgeventd")
    if not path:
        raise RuntimeError("sgeventd.testing: set SGEVENTD_BIN or put sgeventd on PATH")
    return path


# ---- the site ----

class SiteError(Exception):
    """The site refused a call (an api3 fault): the message is the site's."""


def _wire(value):
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def _link(entity):
    if entity is None:
        return None
    out = {"type": entity["type"], "id": entity["id"]}
    name = entity.get("name") or entity.get("code") or entity.get("content")
    if name is not None:
        out["name"] = name
    return out


def _fields(data):
    """{field: value} as api3's [{"field_name", "value"}]; an entity given whole (a create's
    answer, say) is sent as its link."""
    return [{"field_name": k, "value": _wire(_link(v) if isinstance(v, dict) and "id" in v
                                             else v)}
            for k, v in data.items()]


def _conditions(filters):
    out = []
    for f in filters:
        field, relation = f[0], f[1]
        values = list(f[2]) if len(f) == 3 and isinstance(f[2], (list, tuple)) and \
            relation in ("in", "not_in", "between", "not_between") else list(f[2:])
        out.append({"path": field, "relation": relation, "values": _wire(values)})
    return {"logical_operator": "and", "conditions": out}


class Site:
    """``sgeventd sandbox`` on a free loopback port, with test controls, until ``stop()``.

    schema: a folder or file for ``--schema`` (a studio's schema; docs/sandbox.md).
    seed: a ``--seed`` file: a seed document or a recording from ``sgeventd record
    --with-entities`` (its entities are created under their own ids).
    scripts: extra ``(name, key)`` pairs the plugins under test register with.
    """

    def __init__(self, schema=None, seed=None, scripts=()):
        command = [binary(), "sandbox", "--port", "0", "--test-controls",
                   "--scripts", ",".join("%s:%s" % s for s in [(SCRIPT_NAME, SCRIPT_KEY)]
                                         + list(scripts))]
        if schema:
            command += ["--schema", str(schema)]
        if seed:
            command += ["--seed", str(seed)]
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
        line = self._proc.stdout.readline().strip()
        if not line.startswith("listening "):
            self._proc.kill()
            _, err = self._proc.communicate()
            raise RuntimeError("sgeventd sandbox did not start: %s" % (err.strip() or line))
        self.url = line.split(" ", 1)[1]

    # api3 over HTTP, as a site answers it
    def call(self, method, params=None):
        auth = {"script_name": SCRIPT_NAME, "script_key": SCRIPT_KEY}
        body = {"method_name": method, "params": [auth] + ([params] if params is not None else [])}
        request = urllib.request.Request(self.url + "/api3/json", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            reply = json.loads(answer.read().decode())
        if isinstance(reply, dict) and reply.get("exception"):
            raise SiteError(reply.get("message"))
        return reply.get("results") if isinstance(reply, dict) and "results" in reply else reply

    def find(self, entity_type, filters=(), fields=("id",), order=None, limit=500):
        params = {"type": entity_type, "return_fields": list(fields),
                  "filters": _conditions(filters), "return_only": "active",
                  "paging": {"entities_per_page": limit, "current_page": 1}}
        if order:
            params["sorts"] = [{"field_name": o["field_name"], "direction": o.get("direction",
                                                                                 "asc")}
                               for o in order]
        return self.call("read", params)["entities"]

    def find_one(self, entity_type, filters=(), fields=("id",)):
        found = self.find(entity_type, filters, fields, limit=1)
        return found[0] if found else None

    def get(self, entity, field):
        """One field of an entity ({"type", "id"}), as the site has it now."""
        found = self.find_one(entity["type"], [["id", "is", entity["id"]]], [field])
        return found and found.get(field)

    def assert_fields(self, entity, expected):
        """Fails (AssertionError, listing each difference) unless the entity's fields on the
        site are as ``expected`` ({"sg_status_list": "ip"}); links compare by type and id."""
        found = self.find_one(entity["type"], [["id", "is", entity["id"]]], list(expected))
        if found is None:
            raise AssertionError("%s %s is not on the site" % (entity["type"], entity["id"]))

        def same(a, b):
            if isinstance(a, dict) and isinstance(b, dict) and "id" in a and "id" in b:
                return (a.get("type"), a["id"]) == (b.get("type"), b["id"])
            return a == b

        diffs = ["%s: %r, expected %r" % (k, found.get(k), v) for k, v in expected.items()
                 if not same(found.get(k), v)]
        if diffs:
            raise AssertionError("%s %s: %s" % (entity["type"], entity["id"], "; ".join(diffs)))

    def create(self, entity_type, data, return_fields=("id",)):
        return self.call("create", {"type": entity_type, "fields": _fields(data),
                                    "return_fields": list(return_fields)})

    def update(self, entity_type, entity_id, data):
        return self.call("update", {"type": entity_type, "id": entity_id, "fields": _fields(data)})

    def delete(self, entity_type, entity_id):
        return self.call("delete", {"type": entity_type, "id": entity_id})

    def last_event_id(self):
        return self.control("status")["last_event_id"]

    def events(self, after=0, fields=("event_type", "attribute_name", "meta", "entity")):
        """The site's events after id ``after``, oldest first."""
        return self.find("EventLogEntry", [["id", "greater_than", after]], ("id",) + tuple(fields),
                         order=[{"field_name": "id"}])

    def control(self, action, body=None):
        request = urllib.request.Request(self.url + "/_sandbox/" + action,
                                         data=json.dumps(body or {}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read().decode() or "{}")

    def reset(self):
        """Every entity but the accounts, and every event, gone; the seed made again."""
        self.control("reset")

    def stop(self):
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()
        self._proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---- running a plugin ----

class Outcome:
    """What one event did in the plugin: ``logs`` ([(level, logger, message)]), ``errors``
    ([(callback, error, traceback)]), ``writes`` ([(method, params)], sent to the site),
    ``events`` (the events those writes made the site write, as ``sgeventd record`` writes
    them), ``callbacks`` (those that ran)."""

    def __init__(self, report, callback_names, site_events):
        self.event = report["event"]
        self.callbacks = report["callbacks"]
        self.logs = [(l["level"], l["logger"], l["message"]) for l in report["logs"]]
        self.stderr = report["stderr"]
        self.errors = [(callback_names.get(r["callback"], r["callback"]), r["error"],
                        r["traceback"]) for r in report["results"] if not r["ok"]]
        if report["worker_ended"]:
            self.errors.append((None, "the worker ended: " + report["worker_ended"], ""))
        self.writes = [(w["method"], w["params"]) for w in report["writes"]]
        self.events = site_events

    @property
    def ok(self):
        return not self.errors

    def messages(self, level=0):
        """The log messages at ``level`` (20: INFO) or above."""
        return [m for lvl, _, m in self.logs if lvl >= level]

    def __repr__(self):
        return "Outcome(event %s: %d log(s), %d error(s), %d write(s))" % (
            self.event.get("id"), len(self.logs), len(self.errors), len(self.writes))


def run_events(plugin, events, site, config=None, timeout=120):
    """Runs ``plugin`` (a .py or .plugin path) on ``events`` in one worker, against ``site``
    (its writes are applied there). One Outcome per event, in order."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for e in events:
            f.write(json.dumps(_wire(e)) + "\n")
        path = f.name
    try:
        command = [binary(), "try", str(plugin), "--events", path, "--server", site.url,
                   "--script-name", SCRIPT_NAME, "--script-key", SCRIPT_KEY, "--allow-writes",
                   "--json", "--callback-timeout", str(timeout)]
        if config:
            command += ["-c", str(config)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 60)
    finally:
        os.unlink(path)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError("sgeventd try %s: exit %d\n%s" % (plugin, done.returncode,
                                                            done.stderr.strip()))
    report = json.loads(done.stdout)
    names = {c["index"]: c["name"] for c in report["callbacks"]}
    return [Outcome(item, names, item["caused"]) for item in report["events"]]


def deliver(plugin, event, site, config=None, timeout=120):
    """Runs ``plugin`` on one event against ``site``: its Outcome."""
    return run_events(plugin, [event], site, config=config, timeout=timeout)[0]


# ---- events shaped as shotgun_api3 returns them ----

def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _event(event_type, entity, meta, attribute_name=None, user=None, project=None, id=None,
           created_at=None, session_uuid=None):
    return {
        "type": "EventLogEntry",
        "id": id if id is not None else next(_ids),
        "event_type": event_type,
        "attribute_name": attribute_name,
        "meta": meta,
        "entity": _link(entity),
        "user": _link(user) if user else {"type": "ApiUser", "id": 1, "name": SCRIPT_NAME},
        "project": _link(project if project is not None else (entity or {}).get("project")),
        "session_uuid": session_uuid,
        "created_at": created_at or _now(),
    }


def attribute_change(entity, field, old, new, data_type=None, in_create=False, **kw):
    """A ``Shotgun_<Type>_Change`` of one field (keywords: user, project, id, created_at,
    session_uuid)."""
    meta = {"type": "attribute_change", "attribute_name": field,
            "entity_type": entity["type"], "entity_id": entity["id"],
            "field_data_type": data_type or _guess_type(field, new if new is not None else old),
            "old_value": old, "new_value": new}
    if in_create:
        meta["in_create"] = True
    return _event("Shotgun_%s_Change" % entity["type"], entity, meta, attribute_name=field, **kw)


def multi_entity_change(entity, field, added=(), removed=(), **kw):
    """A multi-entity field's change: ``added`` and ``removed`` links instead of old and new."""
    meta = {"type": "attribute_change", "attribute_name": field, "entity_type": entity["type"],
            "entity_id": entity["id"], "field_data_type": "multi_entity",
            "added": [dict(_link(e), valid="valid") for e in added],
            "removed": [dict(_link(e), valid="valid") for e in removed]}
    return _event("Shotgun_%s_Change" % entity["type"], entity, meta, attribute_name=field, **kw)


def new_entity(entity, **kw):
    """A ``Shotgun_<Type>_New``."""
    meta = {"type": "new_entity", "entity_type": entity["type"], "entity_id": entity["id"]}
    return _event("Shotgun_%s_New" % entity["type"], entity, meta, **kw)


def retirement(entity, **kw):
    """A ``Shotgun_<Type>_Retirement``: ``entity`` reads as null (the entity is retired)."""
    name = entity.get("name") or entity.get("code") or entity.get("content")
    meta = {"type": "entity_retirement", "entity_type": entity["type"],
            "entity_id": entity["id"], "id": entity["id"], "class_name": entity["type"],
            "display_name": name,
            "retirement_date": _now().strftime("%Y-%m-%d %H:%M:%S UTC")}
    kw.setdefault("project", entity.get("project"))
    event = _event("Shotgun_%s_Retirement" % entity["type"], None, meta, **kw)
    return event


def revival(entity, **kw):
    """A ``Shotgun_<Type>_Revival``."""
    name = entity.get("name") or entity.get("code") or entity.get("content")
    meta = {"type": "entity_revival", "entity_type": entity["type"], "entity_id": entity["id"],
            "id": entity["id"], "class_name": entity["type"], "display_name": name}
    return _event("Shotgun_%s_Revival" % entity["type"], entity, meta, **kw)


def _guess_type(field, value):
    if field == "sg_status_list":
        return "status_list"
    if isinstance(value, bool):
        return "checkbox"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dict):
        return "entity"
    if isinstance(value, list):
        return "multi_entity"
    return "text"


# ---- pytest ----

try:
    import pytest
except ImportError:  # the module works without pytest; only the fixtures need it
    pytest = None

if pytest is not None:
    @pytest.fixture
    def sgeventd_site():
        """A fresh sandbox site for one test (starter schema)."""
        with Site() as site:
            yield site

    @pytest.fixture(scope="module")
    def sgeventd_module_site():
        """One sandbox site for a module's tests; ``reset()`` it where a test needs it empty."""
        with Site() as site:
            yield site

    @pytest.fixture
    def sgeventd_make_site():
        """A factory: ``sgeventd_make_site(schema=..., seed=..., scripts=[(name, key)])``;
        every site it made is stopped after the test."""
        made = []

        def make(**kw):
            site = Site(**kw)
            made.append(site)
            return site

        yield make
        for site in made:
            site.stop()
