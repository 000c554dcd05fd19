"""Webhook wake-up (docs/webhooks.md) against the real daemon: POST /webhook takes signed
deliveries in the site's formats, wakes the poller at once, refuses anything unsigned, and can
neither lose nor invent an event: events still come only from the event log. And adaptive
polling's read rate on a quiet site."""

import hashlib
import hmac
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import SLOWDOWN, DaemonTestCase, wait_for
from test_admin import admin_url, get, metrics

SECRET = "webhook-s3cret"
# So long that only a webhook can explain a quick delivery.
SLOW_POLL = {"fetch_interval": "60", "adaptive_polling": "off"}


def delivery(event_id, event_type="Shotgun_Shot_Change"):
    """One delivery's "data", as a site sends it (sg-protocol.md section 11 (l))."""
    return {"id": "11777.%d.0" % event_id, "event_log_entry_id": event_id,
            "event_type": event_type, "operation": "update", "attribute_name": "description",
            "created_at": "2026-12-03 10:00:00.000000", "session_uuid": None,
            "user": {"id": 1, "type": "ApiUser"}, "entity": {"id": 1, "type": "Shot"},
            "project": {"id": 1, "type": "Project"},
            "meta": {"type": "attribute_change", "attribute_name": "description"}}


def single(event_id):
    return json.dumps({"data": delivery(event_id), "timestamp": "2026-12-03T10:00:01Z"}).encode()


def batched(event_ids):
    return json.dumps({"timestamp": "2026-12-03T10:00:01.140Z",
                       "data": {"deliveries": [delivery(i) for i in event_ids]}}).encode()


def sign(body, secret=SECRET):
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def post(url, body, signature=None, content_type="application/json", host=None):
    """(HTTP status, decoded JSON answer) of POST /webhook."""
    request = urllib.request.Request(url + "/webhook", data=body, method="POST",
                                     headers={"Content-Type": content_type})
    if signature is not None:
        request.add_header("X-SG-SIGNATURE", signature)
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def webhook_counts(url):
    m = metrics(url)
    return {r: m.get(("sgeventd_webhooks_total", 'result="%s"' % r), 0)
            for r in ("accepted", "rejected", "unreadable")}


class Webhooks(DaemonTestCase):
    def start(self, keys=None, secret=SECRET):
        extra = "[admin]\nwebhook_secret = %s\n" % secret if secret else ""
        d = self.daemon({"p": ""}, dict(SLOW_POLL, **(keys or {})), extra=extra)
        d.start()
        url = admin_url(d)
        # The first poll is done: the next one is a minute away.
        wait_for(lambda: get(url + "/status")[1].get("polls", 0) >= 1, what="the first poll")
        return d, url

    def test_a_signed_delivery_wakes_the_poller_at_once(self):
        d, url = self.start()
        ids = self.site.generate(3)
        code, answer = post(url, single(ids[-1]), sign(single(ids[-1])))
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer, {"woke": True, "deliveries": 1, "newest_event_id": ids[-1]})
        began = time.monotonic()
        wait_for(lambda: d.records("p") == ids, timeout=10 * SLOWDOWN,
                 what="the events, read because of the webhook (the poll is a minute away)")
        self.assertLess(time.monotonic() - began, 10 * SLOWDOWN)
        # The batched format too.
        more = self.site.generate(5)
        code, answer = post(url, batched(more), sign(batched(more)))
        self.assertEqual((code, answer["deliveries"], answer["newest_event_id"]),
                         (200, len(more), more[-1]))
        wait_for(lambda: d.records("p") == ids + more, timeout=10 * SLOWDOWN,
                 what="the batch's events")
        self.assertEqual(webhook_counts(url), {"accepted": 2, "rejected": 0, "unreadable": 0})
        wait_for(lambda: metrics(url)[("sgeventd_webhook_reads_total", "")] >= 2,
                 what="the reads the webhooks caused, in the next snapshot")

    def test_unsigned_or_badly_signed_deliveries_are_refused_and_wake_nothing(self):
        d, url = self.start()
        ids = self.site.generate(2)
        body = single(ids[-1])
        good = sign(body)
        attempts = {
            "missing": (body, None),
            "wrong secret": (body, sign(body, "not-the-secret")),
            "altered body": (body.replace(b"description", b"descriptioN"), good),
            "wrong algorithm": (body, "sha256=" + hmac.new(SECRET.encode(), body,
                                                           hashlib.sha256).hexdigest()),
            "no algorithm": (body, good[len("sha1="):]),
        }
        for what, (sent, signature) in attempts.items():
            code, answer = post(url, sent, signature)
            self.assertEqual(code, 401, what)
            self.assertIn("X-SG-SIGNATURE", answer["error"], what)
        self.assertEqual(webhook_counts(url), {"accepted": 0, "rejected": 5, "unreadable": 0})
        status = get(url + "/status")[1]
        self.assertEqual(status["webhook_reads"], 0, "a refused delivery woke the poller")
        self.assertEqual(status["polls"], 1)
        self.assertEqual(d.records("p"), [])
        # No body at all: unsigned, refused like the rest.
        self.assertEqual(post(url, b"", sign(b"", "not-the-secret"))[0], 401)
        self.assertEqual(post(url, body, good)[0], 200)

    def test_signed_but_unreadable_still_wakes_and_a_foreign_host_is_fine(self):
        d, url = self.start()
        ids = self.site.generate(1)
        body = b'{"not": "the site format"}'
        # Through a reverse proxy the Host is the public name: the webhook is the one
        # endpoint that does not need a loopback Host (its signature proves it).
        code, answer = post(url, body, sign(body), host="sgeventd.studio.example:443")
        self.assertEqual(code, 200, answer)
        self.assertEqual(answer["newest_event_id"], 0)
        wait_for(lambda: d.records("p") == ids, timeout=10 * SLOWDOWN, what="the event")
        self.assertEqual(webhook_counts(url)["unreadable"], 1)
        self.assertEqual(get(url + "/status", )[0], 200)

    def test_only_a_post_to_the_webhook_may_send_a_large_body(self):
        d, url = self.start()
        parts = urllib.parse.urlsplit(url)
        # Refused from the headers, before any body is sent: a PUT to /webhook, and lengths
        # that httplib's strtoull would read as large.
        for request_line, length in (("PUT /webhook", "67108864"), ("POST /reload", "+1000000"),
                                     ("POST /reload", "100000 ")):
            with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
                s.sendall(("%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: %s\r\n\r\n" % (request_line, length)).encode())
                answer = s.recv(200).decode(errors="replace")
            self.assertTrue(answer.startswith("HTTP/1.1 413"), (request_line, length, answer))

    def test_without_a_secret_there_is_no_webhook(self):
        d, url = self.start(secret="")
        body = single(1)
        code, answer = post(url, body, sign(body))
        self.assertEqual(code, 404)
        self.assertIn("webhook_secret", answer["error"])

    def test_a_delivery_before_its_event_is_readable_is_chased(self):
        d, url = self.start()
        ids = self.site.generate(1)
        late = self.site.reserve(1)  # the site's transaction has not committed yet
        code, _ = post(url, single(late[0]), sign(single(late[0])))
        self.assertEqual(code, 200)
        wait_for(lambda: d.records("p") == ids, timeout=10 * SLOWDOWN, what="the first event")
        self.site.commit(late)
        wait_for(lambda: d.records("p") == ids + late, timeout=10 * SLOWDOWN,
                 what="the late event, found by the webhook's chase")
        self.assertEqual(metrics(url).get(("sgeventd_webhook_ids_unseen_total", "")), 0)

    def test_a_delivery_for_an_event_that_never_appears_costs_a_few_reads(self):
        d, url = self.start()
        before = get(url + "/status")[1]["polls"]
        body = single(10 ** 9)
        self.assertEqual(post(url, body, sign(body))[0], 200)
        wait_for(lambda: metrics(url).get(("sgeventd_webhook_ids_unseen_total", "")) == 1,
                 what="the chase to give up")
        polls = get(url + "/status")[1]["polls"]
        self.assertEqual(polls - before, 6, "the wake-up read and 5 chase reads")
        self.assertEqual(d.records("p"), [], "an event invented from a webhook")
        self.assertIn("A webhook named event 1000000000", d.log())

    def test_a_thousand_deliveries_in_a_second_make_a_bounded_number_of_reads(self):
        d, url = self.start()
        ids = self.site.generate(1)
        before = get(url + "/status")[1]["polls"]
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        body = single(ids[0])
        headers = {"Content-Type": "application/json", "X-SG-SIGNATURE": sign(body)}
        began = time.monotonic()
        for _ in range(1000):
            connection.request("POST", "/webhook", body, headers)
            answer = connection.getresponse()
            answer.read()
            self.assertEqual(answer.status, 200)
        elapsed = time.monotonic() - began
        connection.close()
        wait_for(lambda: d.records("p") == ids, what="the event")
        time.sleep(0.3)  # the last delivery's read (spaced 100 ms from the one before)
        reads = get(url + "/status")[1]["polls"] - before
        self.assertEqual(webhook_counts(url)["accepted"], 1000)
        self.assertGreaterEqual(reads, 1)
        self.assertLessEqual(reads, elapsed / 0.1 + 3,
                             "%d reads for 1000 deliveries in %.2f s" % (reads, elapsed))


class EmbeddedSandboxWebhooks(DaemonTestCase):
    def test_the_embedded_sandbox_wakes_the_daemon_with_signed_webhooks(self):
        d = self.daemon({"p": ""}, SLOW_POLL,
                        extra="[sandbox]\nwebhooks = on\ntest_controls = true\n")
        with open(d.config) as f:
            text = f.read().replace("server = %s" % self.site.url, "server = sandbox")
        with open(d.config, "w") as f:
            f.write(text)
        d.start()
        url = admin_url(d)
        wait_for(lambda: get(url + "/status")[1].get("polls", 0) >= 1, what="the first poll")
        site = wait_for(lambda: _embedded_url(d.log()), what="the embedded site's URL")
        request = urllib.request.Request(site + "/_sandbox/generate", data=b'{"count": 3}',
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            last = json.loads(answer.read())["last_id"]
        wait_for(lambda: d.records("p")[-1:] == [last], timeout=10 * SLOWDOWN,
                 what="the events, read because the sandbox's webhooks woke the poller")
        self.assertGreaterEqual(webhook_counts(url)["accepted"], 1)
        self.assertEqual(webhook_counts(url)["rejected"], 0)


def _embedded_url(log):
    marker = "Embedded sandbox site at "
    at = log.find(marker)
    if at < 0:
        return None
    return log[at + len(marker):].split()[0]


class AdaptivePolling(DaemonTestCase):
    def test_a_quiet_site_is_read_less_often_and_within_the_budget(self):
        d = self.daemon({"p": ""}, {"fetch_interval": "0.5", "adaptive_polling": "on"})
        d.start()
        url = admin_url(d)
        ids = self.site.generate(2)
        wait_for(lambda: d.records("p") == ids, what="the events")
        # Quiet from now: after the quick reads (50 ms for 0.2 s) and the doublings (100 ms ...
        # 800 ms), the interval settles near its maximum, fetch_interval * 2: below it by what
        # the budget has saved (docs/webhooks.md), which after a few seconds is little.
        delivered = get(url + "/status")[1]["polls"]

        def settled():
            status = get(url + "/status")[1]
            return status["polls"] >= delivered + 8 and status["poll_pause_ms"] >= 900
        wait_for(settled, what="the interval to near its maximum")
        before = get(url + "/status")[1]["polls"]
        began = time.monotonic()
        time.sleep(10)  # a window to count reads in, not an assertion of timing
        reads = get(url + "/status")[1]["polls"] - before
        window = time.monotonic() - began
        self.assertLessEqual(reads, window / 0.9 + 2, "more reads than the interval allows")
        self.assertLess(reads, window / 0.5 * 0.75, "as many reads as a fixed poll")
        self.assertGreaterEqual(metrics(url)[("sgeventd_poll_interval_seconds", "")], 0.9)
        # And activity brings the reads back at once.
        more = self.site.generate(1)
        wait_for(lambda: d.records("p") == ids + more, what="the next event")
