"""Screenshots of each kind of page, for docs/screenshots/<kind>.png.

Run from the checkout::

    python -m tools.screenshots            # every kind whose page is there
    python -m tools.screenshots policy     # only these kinds

It starts ``guideline-reasoner serve`` on the checkout's knowledge base, offline (tests/offline_server.py),
keeps the seed case's determination for the letter, and photographs each kind of page of
tests/browser/kinds.py in headless Chromium (tests/browser/driver.py) 1280 pixels wide, as tall as
the page up to 1600. A kind whose page is not there (404, or JSON to a browser) is left out, saying so.
Needs what the browser tests need: Debian's chromium and chromium-driver, and the test extra.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.driver import Browser, unavailable
from tests.browser.kinds import KINDS, SEED_CASE
from tests.offline_server import OfflineServer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def main(names: list[str]) -> int:
    """Photograph the kinds called ``names`` (all when empty); 1 when one asked for is missing."""
    why = unavailable()
    if why:
        print(why, file=sys.stderr)
        return 2
    wanted = [k for k in KINDS if not names or k.name in names]
    OUT.mkdir(parents=True, exist_ok=True)
    missing = 0
    with OfflineServer.running() as server, tempfile.TemporaryDirectory(prefix="gr-screenshots-") as work:
        browser = Browser(server, Path(work))
        try:
            browser.open("/")
            _, headers, _ = browser.fetch_json("POST", "/determinations", (ROOT / SEED_CASE).read_text())
            determination = headers["location"].rsplit("/", 1)[1]
            for k in wanted:
                path = k.path.format(determination=determination)
                browser.open("/")
                if browser.answer(path) != (200, "text/html"):
                    print(f"{k.name}: {path} is not a page here, left out", file=sys.stderr)
                    missing += 1
                    continue
                browser.open(path)
                WebDriverWait(browser.driver, 20).until(lambda _, k=k: k.proof in browser.text())
                browser.screenshot(OUT / f"{k.name}.png")
                print(f"{k.name}: {OUT.relative_to(ROOT) / (k.name + '.png')}")
        finally:
            browser.quit()
    return 1 if missing and names else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
