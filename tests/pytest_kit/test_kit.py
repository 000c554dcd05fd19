"""The pytest kit itself (python/sgeventd/testing.py): sites made with a studio's schema and a
recording, the event builders' shapes (sg-protocol.md section 11), assert_fields' failures,
and a plugin's failure as an Outcome."""

import datetime
import json
import os

import pytest

from sgeventd import testing as sgt

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "fixtures", "schema")


def test_a_site_with_a_studio_schema_and_a_recording_as_seed(sgeventd_make_site, tmp_path):
    recording = tmp_path / "case.jsonl"
    recording.write_text("\n".join(json.dumps(line) for line in [
        {"type": "EventLogEntry", "id": 5, "event_type": "Shotgun_Shot_New"},  # ignored
        {"type": "Shot", "id": 41, "code": "sh041", "sg_complexity": "Hero",
         "sg_episode": {"type": "CustomEntity01", "id": 3, "name": "ep03"}},
        {"type": "CustomEntity01", "id": 3, "code": "ep03"}]) + "\n")
    site = sgeventd_make_site(schema=SCHEMA, seed=recording)
    site.assert_fields({"type": "Shot", "id": 41},
                       {"code": "sh041", "sg_complexity": "Hero",
                        "sg_episode": {"type": "CustomEntity01", "id": 3}})
    with pytest.raises(sgt.SiteError, match="sg_complexity"):
        site.create("Shot", {"sg_complexity": "Epic"})  # the studio's list values hold


def test_assert_fields_says_what_differs(sgeventd_site):
    shot = sgeventd_site.create("Shot", {"code": "sh010"})
    with pytest.raises(AssertionError, match=r"sg_status_list: 'wtg', expected 'ip'"):
        sgeventd_site.assert_fields(shot, {"sg_status_list": "ip", "code": "sh010"})
    with pytest.raises(AssertionError, match="is not on the site"):
        sgeventd_site.assert_fields({"type": "Shot", "id": 999}, {"code": "x"})


def test_events_are_shaped_as_shotgun_api3_returns_them():
    shot = {"type": "Shot", "id": 7, "code": "sh007",
            "project": {"type": "Project", "id": 2, "name": "Demo"}}
    change = sgt.attribute_change(shot, "sg_status_list", "wtg", "ip", id=12)
    assert change["event_type"] == "Shotgun_Shot_Change"
    assert change["attribute_name"] == "sg_status_list"
    assert change["entity"] == {"type": "Shot", "id": 7, "name": "sh007"}
    assert change["project"] == {"type": "Project", "id": 2, "name": "Demo"}
    assert change["meta"] == {"type": "attribute_change", "attribute_name": "sg_status_list",
                              "entity_type": "Shot", "entity_id": 7,
                              "field_data_type": "status_list", "old_value": "wtg",
                              "new_value": "ip"}
    assert change["created_at"].tzinfo is not None
    assert change["id"] == 12
    added = sgt.multi_entity_change(shot, "assets", added=[{"type": "Asset", "id": 3}])
    assert added["meta"]["added"] == [{"type": "Asset", "id": 3, "valid": "valid"}]
    assert "old_value" not in added["meta"]
    new = sgt.new_entity(shot)
    assert new["meta"] == {"type": "new_entity", "entity_type": "Shot", "entity_id": 7}
    assert new["attribute_name"] is None
    gone = sgt.retirement(shot)
    assert gone["entity"] is None and gone["meta"]["type"] == "entity_retirement"
    assert gone["meta"]["display_name"] == "sh007"
    assert gone["project"]["id"] == 2
    back = sgt.revival(shot)
    assert back["event_type"] == "Shotgun_Shot_Revival"
    assert back["meta"]["type"] == "entity_revival"
    when = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.timezone(
        datetime.timedelta(hours=1)))
    assert sgt._wire(sgt.new_entity(shot, created_at=when))["created_at"] == \
        "2026-12-03T09:00:00Z"


def test_a_failing_plugin_comes_back_as_errors_with_the_traceback(sgeventd_site, tmp_path):
    plugin = tmp_path / "fails.py"
    plugin.write_text(
        "def registerCallbacks(reg):\n"
        "    reg.registerCallback('sandbox', 'sandbox-key', explode, None, None)\n"
        "def explode(sg, logger, event, args):\n"
        "    logger.info('about to fail')\n"
        "    raise KeyError('sg_missing_field')\n")
    shot = sgeventd_site.create("Shot", {"code": "sh010"})
    outcome = sgt.deliver(plugin, sgt.new_entity(shot), site=sgeventd_site)
    assert not outcome.ok
    [(callback, error, traceback)] = outcome.errors
    assert callback == "explode"
    assert "KeyError" in error and "sg_missing_field" in error
    assert "raise KeyError" in traceback
    assert outcome.messages(20) == ["about to fail"]
