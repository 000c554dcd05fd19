"""The operator's hands (docs/admin-api.md, "Control"), against a running daemon on the sandbox:
enable and disable across a restart, reload one plugin, dead letters listed, shown, retried
after the plugin is fixed and dropped, replays that reach exactly the chosen plugin and move
no cursor, and bad requests that get a clear answer and change nothing."""

import json
import os
import urllib.error
import urllib.request

from harness import DaemonTestCase, wait_for
from test_admin import admin_url, get


def call(url, method="POST", body=None, token=None, raw=None, headers=None,
         content_type="application/json"):
    """(HTTP status, decoded JSON body) of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def plugin_status(url, name):
    for p in get(url + "/status")[1].get("plugins", []):
        if p["name"] == name:
            return p
    return {}


def replays(d, name):
    """[(event id, kind)] the plugin's test worker saw with the replay key."""
    try:
        with open(os.path.join(d.folder, "replays." + name)) as f:
            return [(int(i), kind) for i, kind in (line.split() for line in f if line.strip())]
    except FileNotFoundError:
        return []


class Control(DaemonTestCase):
    def test_disable_keeps_the_cursor_across_a_restart_and_enable_resumes_from_it(self):
        d = self.daemon({"a": "", "b": ""})
        d.start()
        url = admin_url(d)
        first = self.site.generate(3)
        wait_for(lambda: d.records("a") == first and d.records("b") == first, what="both")

        code, answer = call(url + "/disable", body={"plugin": "a", "reason": "maintenance"})
        self.assertEqual(code, 200, answer)
        self.assertEqual((answer["state"], answer["changed"], answer["cursor"]),
                         ("disabled", True, first[-1]))
        self.assertEqual(call(url + "/disable", body={"plugin": "a"})[1]["changed"], False)
        wait_for(lambda: plugin_status(url, "a").get("state") == "disabled", what="disabled")
        self.assertIn("maintenance", plugin_status(url, "a")["reason"])
        # Disabled on purpose: not a health problem.
        self.assertEqual(get(url + "/healthz")[0], 200, get(url + "/healthz")[1])

        while_off = self.site.generate(4)
        wait_for(lambda: d.records("b") == first + while_off, what="b to go on")
        self.assertEqual(d.records("a"), first)
        self.assertEqual(d.stop(), 0)

        d.start()  # still disabled after a restart, its cursor kept
        url = admin_url(d)
        wait_for(lambda: plugin_status(url, "a").get("state") == "disabled",
                 what="a disabled after the restart")
        self.assertEqual(plugin_status(url, "a")["cursor"], first[-1])
        later = self.site.generate(2)
        wait_for(lambda: d.records("b") == first + while_off + later, what="b after restart")
        self.assertEqual(d.records("a"), first)

        code, answer = call(url + "/enable", body={"plugin": "a"})
        self.assertEqual(code, 200, answer)
        self.assertEqual((answer["changed"], answer["resumes_after"]), (True, first[-1]))
        wait_for(lambda: d.records("a") == first + while_off + later,
                 what="a to resume from its cursor")
        self.assert_exactly_once_in_order(d.records("a"), first + while_off + later)
        wait_for(lambda: plugin_status(url, "a").get("state") == "active", what="a active")
        self.assertEqual(d.stop(), 0)

    def test_reload_one_plugin_restarts_only_its_worker(self):
        d = self.daemon({"a": "", "b": ""})
        d.start()
        url = admin_url(d)
        wait_for(lambda: plugin_status(url, "a").get("pid") and plugin_status(url, "b").get("pid"),
                 what="both workers")
        pid_a, pid_b = plugin_status(url, "a")["pid"], plugin_status(url, "b")["pid"]
        code, answer = call(url + "/reload", body={"plugin": "a"})
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer["reloading"], ["a"])
        wait_for(lambda: plugin_status(url, "a").get("pid") not in (None, pid_a),
                 what="a new worker for a")
        self.assertEqual(plugin_status(url, "b")["pid"], pid_b)
        ids = self.site.generate(2)
        wait_for(lambda: d.records("a") == ids and d.records("b") == ids, what="both after")
        self.assertEqual(d.stop(), 0)

    def test_a_dead_letter_retried_after_the_fix_succeeds_and_leaves_the_list(self):
        newest = self.site.generate(1)[-1]  # a new plugin starts after the newest event
        broken, dropped = newest + 2, newest + 4  # the sandbox numbers events in order
        record_replays = "--record-replays " + os.path.join(self.tmp, "d", "replays.p")
        d = self.daemon({"p": "--fail-ids %d,%d %s" % (broken, dropped, record_replays)})
        d.start()
        url = admin_url(d)
        ids = self.site.generate(5)
        self.assertLessEqual({broken, dropped}, set(ids))
        wait_for(lambda: len(self._letters(url)) == 2, what="two dead letters")
        wait_for(lambda: plugin_status(url, "p").get("cursor") == ids[-1], what="the cursor")
        letters = self._letters(url)
        self.assertEqual([l["event_id"] for l in letters], [broken, dropped])
        self.assertEqual(self._letters(url, plugin="p"), letters)
        self.assertEqual(len(self._letters(url, limit=1)), 1)
        self.assertEqual([l["event_id"] for l in self._letters(url, after=letters[0]["id"])],
                         [dropped])
        letter, other = letters[0]["id"], letters[1]["id"]

        code, shown = get(url + "/dead-letters/%d" % letter)
        self.assertEqual(code, 200, shown)
        self.assertEqual(shown["event"]["id"], broken)
        self.assertIn("told to fail", shown["error"])
        self.assertEqual((shown["callback"], shown["attempts"]), (letters[0]["callback"], 1))

        # Retried while still broken: it stays, with the new failure counted.
        self.assertEqual(call(url + "/dead-letters/%d/retry" % letter)[0], 202)
        wait_for(lambda: get(url + "/dead-letters/%d" % letter)[1].get("retry_count") == 1,
                 what="the retry recorded")
        self.assertEqual(get(url + "/dead-letters/%d" % letter)[1]["attempts"], 2)
        self.assertEqual(replays(d, "p"), [(broken, "dead_letter")])

        # Fixed (its file changes, so its worker restarts), then retried: it leaves the list.
        pid = plugin_status(url, "p")["pid"]
        d.add_plugin("p", record_replays)
        wait_for(lambda: plugin_status(url, "p").get("pid") not in (None, pid)
                 and plugin_status(url, "p").get("state") == "active",
                 what="the fixed plugin loaded")
        self.assertEqual(call(url + "/dead-letters/%d/retry" % letter)[0], 202)
        wait_for(lambda: get(url + "/dead-letters/%d" % letter)[0] == 404,
                 what="the retried letter to leave")
        self.assertEqual([l["id"] for l in self._letters(url)], [other])
        self.assertEqual(replays(d, "p"), [(broken, "dead_letter")] * 2)
        self.assertIn("retried: it succeeded", d.plugin_log("p") + d.log())
        # Nothing else moved: the cursor is where it was, no other event ran again.
        self.assertEqual(plugin_status(url, "p")["cursor"], ids[-1])
        self.assertEqual(d.records("p"), ids + [broken, broken])

        code, answer = call(url + "/dead-letters/%d" % other, method="DELETE")
        self.assertEqual((code, answer), (200, {"dropped": other}))
        self.assertEqual(get(url + "/dead-letters/%d" % other)[0], 404)
        self.assertEqual(call(url + "/dead-letters/%d" % other, method="DELETE")[0], 404)
        self.assertEqual(self._letters(url), [])
        self.assertEqual(d.stop(), 0)

    def test_replay_reaches_exactly_the_chosen_plugin_and_moves_no_cursor(self):
        d = self.daemon({"a": "--record-replays " + os.path.join(self.tmp, "d", "replays.a"),
                         "b": "--record-replays " + os.path.join(self.tmp, "d", "replays.b")})
        d.start()
        url = admin_url(d)
        ids = self.site.generate(8)
        wait_for(lambda: d.records("a") == ids and d.records("b") == ids, what="both")
        wait_for(lambda: plugin_status(url, "a").get("cursor") == ids[-1], what="a's cursor")

        code, answer = call(url + "/replay", body={"ids": [ids[5], ids[1]], "plugin": "a"})
        self.assertEqual(code, 202, answer)
        self.assertEqual(answer["events"], [ids[1], ids[5]])
        self.assertEqual(answer["queued"], {"a": 2})
        wait_for(lambda: len(d.records("a")) == len(ids) + 2, what="the replay")
        self.assertEqual(d.records("a"), ids + [ids[1], ids[5]])
        self.assertEqual(replays(d, "a"), [(ids[1], "replay"), (ids[5], "replay")])

        # A range, to every plugin it matches.
        code, answer = call(url + "/replay", body={"from": ids[2], "to": ids[3]})
        self.assertEqual(code, 202, answer)
        self.assertEqual(answer["queued"], {"a": 2, "b": 2})
        wait_for(lambda: len(d.records("b")) == len(ids) + 2, what="the range replay")
        self.assertEqual(d.records("b"), ids + ids[2:4])
        self.assertEqual(replays(d, "b"), [(ids[2], "replay"), (ids[3], "replay")])
        self.assertIn("Replaying 2 event(s)", d.log())
        for name in ("a", "b"):
            self.assertEqual(plugin_status(url, name)["cursor"], ids[-1])

        # New events still come once, in order, after the replays.
        later = self.site.generate(2)
        wait_for(lambda: d.records("b")[-len(later):] == later, what="the events after")
        wait_for(lambda: plugin_status(url, "b").get("cursor") == later[-1], what="b's cursor")
        self.assertEqual(d.stop(), 0)
        # After a restart, nothing replayed is delivered again (no completion noted for it).
        d.start()
        more = self.site.generate(1)
        wait_for(lambda: d.records("a")[-len(more):] == more, what="after the restart")
        self.assertEqual(d.records("a"), ids + [ids[1], ids[5]] + ids[2:4] + later + more)
        self.assertEqual(d.stop(), 0)

    def test_bad_requests_get_clear_answers_and_change_nothing(self):
        token = "Control-T0ken-Tests"
        d = self.daemon({"a": ""}, extra="[admin]\ntoken = %s\n" % token)
        d.start()
        url = admin_url(d)
        ids = self.site.generate(3)
        wait_for(lambda: d.records("a") == ids, what="the events")
        self.assertEqual(call(url + "/disable", body={"plugin": "a"})[0], 401)
        self.assertEqual(call(url + "/dead-letters/1", method="DELETE")[0], 401)
        cases = [
            ("/disable", None, 400, '"plugin" is required'),
            ("/disable", {"plugin": 3}, 400, "must be a string"),
            ("/enable", {"plugin": "nope"}, 404, 'no plugin named "nope"'),
            ("/replay", {"ids": []}, 400, "non-empty list"),
            ("/replay", {"ids": [1, "x"]}, 400, "positive integer"),
            ("/replay", {"ids": [1], "from": 1}, 400, "either"),
            ("/replay", {"from": 5, "to": 2}, 400, "before"),
            ("/replay", {"from": 1, "to": 100000}, 400, "at most 10000"),
            ("/replay", {"ids": [ids[-1] + 1000]}, 404, "none of these events"),
            ("/replay", {"ids": [ids[0]], "plugin": "nope"}, 404, "no plugin"),
            ("/dead-letters/abc/retry", None, 400, "not a dead letter id"),
            ("/dead-letters/99/retry", None, 404, "no dead letter 99"),
        ]
        for path, body, want, text in cases:
            code, answer = call(url + path, body=body, token=token)
            self.assertEqual(code, want, (path, body, answer))
            self.assertIn(text, answer.get("error", ""), (path, body, answer))
        code, answer = call(url + "/enable", raw=b"{not json", token=token)
        self.assertEqual(code, 400, answer)
        self.assertIn("not JSON", answer["error"])
        code, answer = call(url + "/enable", body={"plugin": "nope"}, token=token)
        self.assertEqual(answer["known_plugins"], ["a"])
        # What a web page could make a browser send is refused before it reaches anything.
        port = url.rsplit(":", 1)[1]
        browser_like = [
            ({"Origin": "http://evil.example"}, "application/json", 403, "cross-site"),
            ({"Sec-Fetch-Site": "cross-site"}, "application/json", 403, "cross-site"),
            ({}, "text/plain", 415, "application/json"),
            ({"Host": "evil.example:" + port}, "application/json", 403, "loopback address"),
        ]
        for headers, content_type, want, text in browser_like:
            code, answer = call(url + "/disable", body={"plugin": "a"}, token=token,
                                headers=headers, content_type=content_type)
            self.assertEqual(code, want, (headers, answer))
            self.assertIn(text, answer["error"])
        self.assertEqual(get(url + "/status", token)[0], 200)
        code, answer = get(url + "/dead-letters?limit=0", token)
        self.assertEqual(code, 400, answer)
        # Nothing moved: the plugin is active at its cursor and gets the next events.
        wait_for(lambda: [(p["state"], p["cursor"]) for p in get(url + "/status", token)[1]
                          ["plugins"]] == [("active", ids[-1])], what="a active at its cursor")
        more = self.site.generate(1)
        wait_for(lambda: d.records("a") == ids + more, what="the next event")
        self.assertEqual(d.stop(), 0)

    def _letters(self, url, **params):
        query = "&".join("%s=%s" % kv for kv in params.items())
        code, answer = get(url + "/dead-letters" + ("?" + query if query else ""))
        self.assertEqual(code, 200, answer)
        return answer["dead_letters"]

class ControlCli(DaemonTestCase):
    """The same through `sgeventd` commands: over the admin API while the daemon runs, on the
    state itself once it is stopped."""

    def test_the_commands_over_the_api_and_on_a_stopped_daemon(self):
        newest = self.site.generate(1)[-1]
        broken, broken_too = newest + 2, newest + 4
        d = self.daemon({"a": "--fail-ids %d,%d" % (broken, broken_too), "b": ""})
        d.start()
        url = admin_url(d)
        ids = self.site.generate(4)
        wait_for(lambda: d.records("b") == ids, what="b's events")
        wait_for(lambda: len(get(url + "/dead-letters")[1]["dead_letters"]) == 2,
                 what="two dead letters")

        wait_for(lambda: plugin_status(url, "a").get("state") == "active", what="a loaded")
        out = d.cli("plugins")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"PLUGIN\s+STATE\s+CURSOR\s+LAG")
        self.assertRegex(out.stdout, r"\na\s+active\s+\d+\s+\d+\s+2\s+callback_0 \{every event\}")
        plugins = json.loads(d.cli("plugins", "--json").stdout)["plugins"]
        self.assertEqual(sorted(p["name"] for p in plugins), ["a", "b"])

        out = d.cli("disable", "nope")
        self.assertEqual(out.returncode, 1)
        self.assertIn('no plugin named "nope"', out.stderr)
        self.assertIn("known plugins: a b", out.stderr)
        out = d.cli("disable", "b", "--reason", "testing")
        self.assertEqual((out.returncode, out.stdout.strip()),
                         (0, "b: disabled, cursor kept at %d" % ids[-1]), out.stderr)
        out = d.cli("enable", "b")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("b: active, resuming after event %d" % ids[-1], out.stdout)

        out = d.cli("dead-letters", "list")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"ID\s+PLUGIN\s+CALLBACK\s+EVENT")
        letter, other = json.loads(d.cli("dead-letters", "list", "--json").stdout)["dead_letters"]
        self.assertEqual((letter["event_id"], other["event_id"]), (broken, broken_too))
        out = d.cli("dead-letters", "show", str(letter["id"]))
        self.assertIn("told to fail", out.stdout)
        self.assertIn('"id": %d' % broken, out.stdout)
        out = d.cli("dead-letters", "retry", str(letter["id"]))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("queued for a retry", out.stdout)
        out = d.cli("replay", "--ids", "%d,%d" % (ids[0], ids[2]), "--plugin", "b")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("b: 2 event(s)", out.stdout)
        wait_for(lambda: d.records("b") == ids + [ids[0], ids[2]], what="the replay to b")
        self.assertEqual(d.cli("replay", "--ids", "1,x").returncode, 2)
        self.assertEqual(d.cli("reload", "a").returncode, 0)
        wait_for(lambda: get(url + "/dead-letters/%d" % letter["id"])[1].get("retry_count") == 1,
                 what="the failed retry recorded")
        self.assertEqual(d.stop(), 0)

        # Stopped: list, show and drop read the state itself; retry and replay run the
        # request in the command itself, through the same dispatcher, reading no feed.
        listed = json.loads(d.cli("dead-letters", "list", "--json").stdout)["dead_letters"]
        self.assertEqual([(l["id"], l["event_id"], l["retry_count"]) for l in listed],
                         [(letter["id"], broken, 1), (other["id"], broken_too, 0)])
        self.assertIn("told to fail", d.cli("dead-letters", "show", str(letter["id"])).stdout)
        out = d.cli("dead-letters", "list", "--plugin", "nope")
        self.assertEqual(out.returncode, 1)
        self.assertIn("known plugins: a b", out.stderr)
        out = d.cli("dead-letters", "drop", str(other["id"]))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(d.cli("dead-letters", "show", str(other["id"])).returncode, 1)

        # Retried while a is still broken: it fails (exit 1), and the letter stays.
        out = d.cli("dead-letters", "retry", str(letter["id"]))
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("0 callback run(s) succeeded, 1 failed", out.stdout)
        shown = json.loads(d.cli("dead-letters", "show", str(letter["id"]), "--json").stdout)
        self.assertEqual(shown["retry_count"], 2)
        # Fixed, then retried: it succeeds and leaves the list.
        d.add_plugin("a", "")
        out = d.cli("dead-letters", "retry", str(letter["id"]), "--json")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(json.loads(out.stdout)["succeeded"], 1)
        self.assertIn("no dead letters", d.cli("dead-letters", "list").stdout)
        self.assertEqual(d.cli("dead-letters", "retry", str(letter["id"])).returncode, 1)

        # A replay to b only: b gets exactly that event again, a nothing.
        a_before, b_before = d.records("a"), d.records("b")
        out = d.cli("replay", "--ids", str(ids[1]), "--plugin", "b")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("b: 1 event(s)", out.stdout)
        self.assertIn("1 callback run(s) succeeded, 0 failed", out.stdout)
        self.assertEqual(d.records("b"), b_before + [ids[1]])
        self.assertEqual(d.records("a"), a_before)
        out = d.cli("replay", "--ids", str(ids[1]), "--plugin", "nope")
        self.assertEqual(out.returncode, 1)
        self.assertIn('no plugin named "nope"', out.stdout + out.stderr)

        d.start()  # the state the commands changed is the daemon's again; no cursor moved
        url = admin_url(d)
        self.assertEqual(get(url + "/dead-letters")[1]["dead_letters"], [])
        wait_for(lambda: [(p["name"], p["cursor"]) for p in get(url + "/status")[1]["plugins"]]
                 and all(p["cursor"] == ids[-1] for p in get(url + "/status")[1]["plugins"]),
                 what="the cursors where they were")
        more = self.site.generate(1)
        wait_for(lambda: d.records("b") == b_before + [ids[1]] + more, what="b's next event")
        self.assertEqual(d.records("a"), a_before + more)
        self.assertEqual(d.stop(), 0)
