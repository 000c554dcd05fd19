"""The admin API's status page (GET /) in a real headless Chromium (Debian's chromium): the
plugins' table and the lag and throughput charts show the daemon's live data, on a laptop's
window and a phone's.

Without /usr/bin/chromium the module is skipped (exit 77, which ctest reports as not run,
never as passed), unless SGEVENTD_REQUIRE_CHROMIUM is set, as .ci/run sets it: there it fails.
"""

import base64
import html.parser
import json
import os
import socket
import shutil
import struct
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
import zlib

from harness import DaemonTestCase, wait_for
from test_admin import admin_url, get
from test_control import plugin_status

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    if os.environ.get("SGEVENTD_REQUIRE_CHROMIUM"):
        raise RuntimeError("test_status_page: needs apt install chromium chromium-driver")
    raise unittest.SkipTest("no chromium or chromedriver (apt install chromium chromium-driver)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Headless Chromium driven through ChromeDriver's WebDriver HTTP API (stdlib only)."""

    def __init__(self, folder):
        self.profile = tempfile.mkdtemp(prefix="sgeventd-chromium-", dir=folder)
        port = free_port()
        self.base = "http://127.0.0.1:%d" % port
        self.driver = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._ready(), what="chromedriver")
        # The flags keep Chromium off the network (this machine has none beyond loopback).
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--hide-scrollbars", "--user-data-dir=" + self.profile]
        answer = self.call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}})
        self.session = "/session/" + answer["sessionId"]

    def _ready(self):
        try:
            return self.call("GET", "/status").get("ready")
        except OSError:
            return False

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read().decode())["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError("webdriver %s %s: %s" % (method, path, e.read()[:500]))

    def open(self, url, width, height):
        self.call("POST", self.session + "/window/rect", {"width": width, "height": height})
        self.call("POST", self.session + "/url", {"url": url})

    def run(self, script):
        return self.call("POST", self.session + "/execute/sync", {"script": script, "args": []})

    def source(self):
        return self.call("GET", self.session + "/source")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", self.session + "/screenshot")))

    def close(self):
        try:
            self.call("DELETE", self.session)
        finally:
            self.driver.terminate()
            self.driver.wait(30)
            shutil.rmtree(self.profile, ignore_errors=True)


class Dom(html.parser.HTMLParser):
    """The rendered page's plugin rows and chart lines."""

    def __init__(self):
        super().__init__()
        self.rows = {}  # plugin -> [cell texts]
        self.lines = []  # (chart id, plugin, point count)
        self.refreshed = None
        self._row = None
        self._cell = None
        self._svg = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.refreshed = a.get("data-refreshed")
        elif tag == "tr" and "data-plugin" in a:
            self._row = self.rows.setdefault(a["data-plugin"], [])
        elif tag == "td" and self._row is not None:
            self._cell = ""
        elif tag == "svg":
            self._svg = a.get("id")
        elif tag == "polyline":
            points = [p for p in (a.get("points") or "").split(" ") if p]
            self.lines.append((self._svg, a.get("data-plugin"), len(points)))

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG, as Chromium writes."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, idat, width, height, channels = 8, b"", 0, 0, 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + size]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        at += 12 + size
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return width, height, rows


def count_color(rows, rgb, tolerance=40):
    return sum(1 for row in rows for px in row
               if all(abs(px[i] - rgb[i]) <= tolerance for i in range(3)))


BLUE, RED = (0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)  # the page's first two plugin colors


class StatusPage(DaemonTestCase):
    def test_the_page_renders_the_live_table_and_charts(self):
        d = self.daemon({"fast": "", "slow": "--sleep-ms 20"})
        d.start()
        url = admin_url(d)
        with urllib.request.urlopen(url + "/", timeout=10) as answer:
            self.assertEqual(answer.headers.get_content_type(), "text/html")
            page = answer.read().decode()
        self.assertNotIn("src=\"http", page, "no external assets")
        self.assertNotIn("href=\"http", page)
        code, history = get(url + "/history")
        self.assertEqual(code, 200)
        self.assertEqual(history["interval_s"], 10)

        ids = self.site.generate(60)
        wait_for(lambda: d.records("fast") == ids, what="fast's events")
        wait_for(lambda: plugin_status(url, "fast").get("cursor") == ids[-1], what="the cursor")

        # Events keep coming while the page runs: its numbers are the daemon's live ones.
        stop = threading.Event()

        def traffic():
            while not stop.wait(0.5):
                self.site.generate(5)
        feeder = threading.Thread(target=traffic)
        feeder.start()
        browser = Browser(self.tmp)
        self.addCleanup(browser.close)
        try:
            browser.open(url + "/", 1280, 1000)
            # It refreshes itself every 2 s: wait for 4 samples of it.
            wait_for(lambda: int(browser.run("return document.body.dataset.refreshed || '0'"))
                     >= 4, what="the page to refresh itself")
            dom = Dom()
            dom.feed(browser.source())
        finally:
            stop.set()
            feeder.join()
        ids = list(range(ids[0], self.site.last_id() + 1))
        wait_for(lambda: d.records("fast") == ids, what="fast's later events")
        self.assertEqual(sorted(dom.rows), ["fast", "slow"])
        fast = dom.rows["fast"]
        self.assertEqual(fast[:2], ["fast", "active"])
        # What the page showed last is what the daemon had then: past the first 60 events,
        # not past the last one made.
        self.assertGreater(int(fast[2]), ids[59], "the cursor moved while the page ran")
        self.assertLessEqual(int(fast[2]), ids[-1])
        self.assertGreater(int(fast[5]), 60, "handled")
        by_chart = {(chart, plugin): n for chart, plugin, n in dom.lines}
        for chart in ("lag-chart", "rate-chart"):
            for plugin in ("fast", "slow"):
                self.assertGreaterEqual(by_chart.get((chart, plugin), 0), 2, (chart, plugin))
        rate = browser.run("return [...document.querySelectorAll('#rate-chart polyline')]"
                           ".map(l => l.getAttribute('points'))")
        self.assertTrue(any(len(set(p.split(" "))) > 1 for p in rate), "throughput varies")

        # A laptop, and a phone's width (tall enough to show both charts).
        for width, height in ((1280, 1000), (390, 1400)):
            browser.open(url + "/", width, height)
            wait_for(lambda: int(browser.run("return document.body.dataset.refreshed || '0'"))
                     >= 2, what="the page at %dpx" % width)
            shot = os.path.join(self.tmp, "page-%d.png" % width)
            browser.screenshot(shot)
            w, h, rows = png_pixels(shot)
            self.assertGreaterEqual(w, width * 0.9)
            # Each plugin's color: its chart lines and legend swatches are drawn.
            self.assertGreater(count_color(rows, BLUE), 150, "fast's lines (%dpx)" % width)
            self.assertGreater(count_color(rows, RED), 150, "slow's lines (%dpx)" % width)
            # Nothing is cut off at a phone's width: the page is no wider than the window.
            self.assertLessEqual(browser.run("return document.documentElement.scrollWidth"),
                                 browser.run("return window.innerWidth"))
        self.assertEqual(d.stop(), 0)

    def test_the_page_lists_recent_errors_with_their_events(self):
        d = self.daemon({"flaky": "--fail-on 2 --error 'RuntimeError: no such shot'", "ok": ""})
        d.start()
        url = admin_url(d)
        ids = self.site.generate(3)
        wait_for(lambda: plugin_status(url, "flaky").get("recent_errors"),
                 what="flaky's error in the status")
        recent = plugin_status(url, "flaky")["recent_errors"]
        self.assertEqual(len(recent), 1, recent)
        self.assertIn("no such shot", recent[0]["error"])
        self.assertIn(recent[0]["event_id"], ids)
        self.assertNotIn("recent_errors", plugin_status(url, "ok"))

        browser = Browser(self.tmp)
        self.addCleanup(browser.close)
        browser.open(url + "/", 1280, 1000)
        wait_for(lambda: int(browser.run("return document.body.dataset.refreshed || '0'")) >= 1,
                 what="the page to load")
        shown = browser.run("return [...document.querySelectorAll('#errors li[data-plugin]')]"
                            ".map(li => li.textContent)")
        self.assertEqual(len(shown), 1, shown)
        self.assertIn("flaky · event %d · RuntimeError: no such shot" % recent[0]["event_id"],
                      shown[0])
        self.assertEqual(d.stop(), 0)

    def test_the_page_is_public_its_data_is_not(self):
        token = "Page-T0ken-For-Tests"
        d = self.daemon({"p": ""}, extra="[admin]\ntoken = %s\n" % token)
        d.start()
        url = admin_url(d)
        with urllib.request.urlopen(url + "/", timeout=10) as answer:
            self.assertEqual(answer.status, 200)
            self.assertNotIn(token, answer.read().decode())
        self.assertEqual(get(url + "/history")[0], 401)
        self.assertEqual(get(url + "/history", token)[0], 200)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
