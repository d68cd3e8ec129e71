"""Makes docs/images/poser.png: `vtube-plugin poser` as a user starts it, in a real headless Chromium, mouth open.

    python docs/images/poser_screenshot.py [--save-dir ~/Pictures/vtube-poses] [--out docs/images/poser.png]

The page's header shows the save folder, so it is a user's folder here, never a test's temporary one.
Needs the fetched weights, the `playwright` package and a Chromium ($VTUBE_PLUGIN_CHROMIUM, default /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

WAIT_MS = 300_000  # a CPU frame takes about a second, far more on a busy machine
RENDERED = ("n => document.getElementById('preview-box').dataset.state === 'ready'"
            " && Number(document.getElementById('preview').dataset.ticket || 0) > n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save-dir", type=Path, default=Path("~/Pictures/vtube-poses").expanduser())
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("poser.png"))
    args = parser.parse_args()
    args.save_dir.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    poser = subprocess.Popen([sys.executable, "-m", "vtube_plugin", "poser", "--no-browser", "--save-dir",
                              str(args.save_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        said = []
        for line in poser.stdout:
            said.append(line)
            if url := re.search(r"http://127\.0\.0\.1:\d+/", line):
                break
        else:
            raise SystemExit("vtube-plugin poser stopped before it served the page:\n" + "".join(said))
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=os.environ.get("VTUBE_PLUGIN_CHROMIUM", "/usr/bin/chromium"), headless=True,
                args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(url.group(0))
            page.wait_for_function(RENDERED, arg=0, timeout=WAIT_MS)
            ticket = int(page.get_attribute("#preview", "data-ticket"))
            page.locator('input[type=range][data-param="mouth_aaa"]').press("End")  # mouth aaa = 1
            page.wait_for_function(RENDERED, arg=ticket, timeout=WAIT_MS)
            page.screenshot(path=str(args.out))
            chromium.close()
    finally:
        poser.terminate()
        poser.wait()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
