"""Tests for shot_ip_on_task_start.py with the pytest kit (docs/testing-plugins.md):

    python3 -m pytest examples/testing        # with the sgeventd package installed
    SGEVENTD_BIN=build/bin/sgeventd PYTHONPATH=python python3 -m pytest -p sgeventd.testing \
        examples/testing                      # from a source tree

Each test runs the plugin in a real worker against a real sandbox site; the fixtures
(sgeventd_module_site here) come from the sgeventd.testing pytest plugin.
"""

import os

import pytest

from sgeventd import testing as sgt

PLUGIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shot_ip_on_task_start.py")


@pytest.fixture
def shot_and_task(sgeventd_module_site):
    site = sgeventd_module_site
    site.reset()
    project = site.create("Project", {"name": "Demo"})
    shot = site.create("Shot", {"code": "sh010", "project": project}, ["code", "project"])
    task = site.create("Task", {"content": "anim", "entity": shot, "project": project},
                       ["content", "project"])
    return site, shot, task


def test_a_started_task_starts_its_shot(shot_and_task):
    site, shot, task = shot_and_task
    outcome = sgt.deliver(PLUGIN, sgt.attribute_change(task, "sg_status_list", "wtg", "ip"),
                          site=site)
    assert outcome.ok, outcome.errors
    assert outcome.writes == [("update", {"type": "Shot", "id": shot["id"], "fields": [
        {"field_name": "sg_status_list", "value": "ip"}]})]
    site.assert_fields(shot, {"sg_status_list": "ip", "code": "sh010"})
    assert ("Shotgun_Shot_Change", "sg_status_list") in [
        (e["event_type"], e["attribute_name"]) for e in outcome.events]
    assert "Task anim started: Shot sh010 to ip" in outcome.messages(20)


def test_other_statuses_leave_the_shot_alone(shot_and_task):
    site, shot, task = shot_and_task
    outcome = sgt.deliver(PLUGIN, sgt.attribute_change(task, "sg_status_list", "ip", "fin"),
                          site=site)
    assert outcome.ok and outcome.writes == []
    assert site.get(shot, "sg_status_list") == "wtg"


def test_a_shot_already_in_progress_is_not_written_again(shot_and_task):
    site, shot, task = shot_and_task
    site.update("Shot", shot["id"], {"sg_status_list": "ip"})
    outcome = sgt.deliver(PLUGIN, sgt.attribute_change(task, "sg_status_list", "wtg", "ip"),
                          site=site)
    assert outcome.ok and outcome.writes == []


def test_other_fields_and_event_types_do_not_reach_the_callback(shot_and_task):
    site, shot, task = shot_and_task
    events = [sgt.attribute_change(task, "content", "anim", "layout"), sgt.new_entity(task),
              sgt.retirement(task)]
    outcomes = sgt.run_events(PLUGIN, events, site=site)
    assert [o.callbacks for o in outcomes] == [[], [], []]


def test_a_task_on_an_asset_is_left_alone(shot_and_task):
    site, _, _ = shot_and_task
    asset = site.create("Asset", {"code": "chair"})
    task = site.create("Task", {"content": "model", "entity": asset}, ["content"])
    outcome = sgt.deliver(PLUGIN, sgt.attribute_change(task, "sg_status_list", "wtg", "ip"),
                          site=site)
    assert outcome.ok and outcome.writes == []
