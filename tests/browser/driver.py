"""Debian's Chromium, driven by Selenium through Debian's chromedriver, on an :class:`OfflineServer`.

Chromium runs in the server's network namespace (a wrapper script enters it with ``nsenter``);
chromedriver stays outside and talks to it over a pipe (``--remote-debugging-pipe``), since a port
inside the namespace could not be reached from here. Every request a page makes is read from
Chrome's performance log (``goog:loggingPrefs``, ``Network.requestWillBeSent``): :meth:`Browser.requests`
hands them out, and :func:`leaving_loopback` names those whose host is not the machine itself.
Requests Chromium makes for itself are not the page's and do not reach this log.

axe-core (npm, pinned by tests/browser/axe/package-lock.json, installed by ``npm ci``) is read from
disk and injected into the page; nothing is fetched for it.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..offline_server import CUT_OFF_FLAGS, OfflineServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
INSTALL = "apt-get install chromium chromium-driver, as .ci/run does"
WIDTH, HEIGHT = 1280, 900
# axe's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SERIOUS = {"serious", "critical"}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def unavailable() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    if CHROMIUM is None:
        return f"Debian's chromium is not installed ({INSTALL})"
    if CHROMEDRIVER is None:
        return f"chromedriver is not installed ({INSTALL})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed: pip install ".[test]"'
    return None


def axe_unavailable() -> str | None:
    """Why axe-core cannot be injected here, or None when it can."""
    if not AXE.is_file():
        return "axe-core is not installed: run `npm ci --prefix tests/browser/axe` (as .ci/run does)"
    return None


@dataclass(frozen=True)
class Violation:
    """One axe rule a page breaks: its id, impact, help text, and the first elements that break it."""

    id: str
    impact: str
    help: str
    targets: list[Any]

    def __str__(self) -> str:
        return f"{self.id} ({self.impact}): {self.help}; at {self.targets}"


def leaving_loopback(urls: list[str]) -> list[str]:
    """The URLs that would leave the machine: all but loopback hosts and data:/blob: URLs."""
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname not in LOOPBACK]


class Browser:
    """A headless Chromium at a fixed window size, in the server's namespace, on its origin."""

    def __init__(self, server: OfflineServer, workdir: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.origin = server.origin
        wrapper = workdir / "chromium"
        wrapper.write_text("#!/bin/sh\nexec " + shlex.join(server.inside([str(CHROMIUM)])) + ' "$@"\n')
        wrapper.chmod(0o755)
        options = webdriver.ChromeOptions()
        options.binary_location = str(wrapper)
        for arg in ["--headless=new", "--remote-debugging-pipe", f"--window-size={WIDTH},{HEIGHT}"]:
            options.add_argument(arg)
        for arg in ["--disable-gpu", "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1"]:
            options.add_argument(arg)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
        if not server.isolated:
            for arg in CUT_OFF_FLAGS:
                options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)
        self._seen: list[str] = []

    def open(self, path: str) -> None:
        """Load ``path`` of the server (waits for the load event)."""
        self.driver.get(self.origin + path)

    def text(self) -> str:
        """The page's visible text."""
        return str(self.driver.execute_script("return document.body.innerText"))

    def answer(self, path: str) -> tuple[int, str]:
        """The HTTP status and media type a browser gets for ``path``, fetched by the current page (on the origin)."""
        script = "const [path, done] = arguments; fetch(path, {headers: {Accept: 'text/html'}})"
        script += ".then(r => done([r.status, r.headers.get('content-type') || '']), e => done([-1, String(e)]))"
        status, media = self.driver.execute_async_script(script, path)
        return int(status), str(media).split(";")[0].strip()

    def fetch_json(self, method: str, path: str, body: str | None = None) -> tuple[int, dict[str, str], Any]:
        """A JSON request from the page: status, headers (lower-case names) and the JSON answer."""
        script = """const [method, path, body, done] = arguments;
            const headers = {Accept: 'application/json'};
            if (body !== null) headers['Content-Type'] = 'application/json';
            fetch(path, {method, headers, body}).then(async r => done(
              [r.status, Object.fromEntries(r.headers.entries()), await r.text()]), e => done([-1, {}, String(e)]));"""
        status, headers, text = self.driver.execute_async_script(script, method, path, body)
        return int(status), dict(headers), json.loads(text) if text else None

    def requests(self) -> list[str]:
        """The URLs of every request the pages made since the last call (from the performance log)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self._seen.append(message["params"]["request"]["url"])
        seen, self._seen = self._seen, []
        return seen

    def console_errors(self) -> list[str]:
        """The errors the pages logged to the console since the last call (a failed asset, a blocked script)."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def axe(self) -> list[Violation]:
        """The page's WCAG 2 A and AA violations that axe-core finds, of every impact."""
        if not self.driver.execute_script("return typeof window.axe === 'object'"):
            self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        script = """const done = arguments[1];
            axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
              .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                 targets: v.nodes.slice(0, 3).map(n => n.target)}))), e => done(String(e)));"""
        found = self.driver.execute_async_script(script, WCAG_TAGS)
        assert isinstance(found, list), f"axe failed: {found}"
        return [Violation(v["id"], v["impact"] or "", v["help"], v["targets"]) for v in found]

    def screenshot(self, path: Path, max_height: int = 1600) -> None:
        """A PNG of the page at the window's width, as tall as the page up to ``max_height`` pixels."""
        width, height = self.driver.execute_script(
            "const e = document.documentElement; return [e.clientWidth, e.scrollHeight]"
        )
        clip = {"x": 0, "y": 0, "width": int(width), "height": min(int(height), max_height), "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def quit(self) -> None:
        self.driver.quit()
