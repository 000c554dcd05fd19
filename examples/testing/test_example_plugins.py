"""The example plugins of examples/plugins/ (the ones the README's demo runs), tested with the
pytest kit: the Python one and the exec one, each in the worker the daemon would give it."""

import os

from sgeventd import testing as sgt

PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins")
SHOT_ACTIVITY = os.path.join(PLUGINS, "shot_activity.py")
LOG_STATUS_CHANGES = os.path.join(PLUGINS, "log_status_changes.plugin")


def test_shot_activity_warns_when_a_shot_goes_on_hold(sgeventd_module_site):
    shot = sgeventd_module_site.create("Shot", {"code": "sh020"}, ["code"])
    hold, edit = sgt.run_events(SHOT_ACTIVITY, [
        sgt.attribute_change(shot, "sg_status_list", "ip", "hld"),
        sgt.attribute_change(shot, "description", None, "fog")], site=sgeventd_module_site)
    assert hold.ok and edit.ok
    assert [lvl for lvl, _, _ in hold.logs] == [30]
    assert hold.messages(30) == ["Shot sh020 is on hold (event %d)" % hold.event["id"]]
    assert edit.messages(20) == ["Shot sh020: description changed (event %d)" % edit.event["id"]]
    assert hold.writes == [] and edit.writes == []


def test_shot_activity_takes_only_shot_changes(sgeventd_module_site):
    task = sgeventd_module_site.create("Task", {"content": "anim"}, ["content"])
    outcome = sgt.deliver(SHOT_ACTIVITY, sgt.attribute_change(task, "sg_status_list", "wtg", "ip"),
                          site=sgeventd_module_site)
    assert outcome.callbacks == []


def test_the_exec_plugin_logs_status_changes_of_any_type(sgeventd_module_site):
    task = sgeventd_module_site.create("Task", {"content": "anim"}, ["content"])
    status, other = sgt.run_events(LOG_STATUS_CHANGES, [
        sgt.attribute_change(task, "sg_status_list", "wtg", "ip"),
        sgt.attribute_change(task, "content", "anim", "layout")], site=sgeventd_module_site)
    assert status.ok, status.errors
    assert status.messages(20) == ["Task %d status: wtg -> ip (event %d)"
                                   % (task["id"], status.event["id"])]
    assert other.callbacks == []  # matchEvents {"*": ["sg_status_list"]}
