"""Shared machinery of the browser tests: Debian's Chromium driven by playwright (never a
downloaded browser), one browser for consecutive browser tests with a fresh context for each
page, a page that fails the test on any script error, and screenshots in
test-output/screenshots/ (git-ignored) for a human to look at."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

marks = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium"
    ),
]


# The running (playwright, browser) pair: launched by the first page a browser test opens and
# kept for the browser tests that follow it on this worker; the conftest closes it before any
# other test, because while playwright's sync API runs it marks an asyncio loop as running in
# the main thread, and code under test that calls asyncio.run() (the procrastinate worker)
# would fail.
_running: tuple[Any, Any] | None = None


def _browser() -> Any:
    global _running
    if _running is not None and not _running[1].is_connected():
        close()  # it crashed: start a new one
    if _running is None:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        try:
            launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except BaseException:
            pw.stop()
            raise
        _running = (pw, launched)
    return _running[1]


def close() -> None:
    """Close the shared browser and stop playwright, if they run."""
    global _running
    if _running is None:
        return
    pw, launched = _running
    _running = None
    try:
        launched.close()
    finally:
        pw.stop()


@contextmanager
def new_page(width: int, height: int) -> Iterator[Any]:
    """A fresh page in a context of its own (no cookies or storage from another test); the
    test fails if any page logged a script error.

    Network errors the tests provoke on purpose (403, 404) log "Failed to load resource" and
    are not counted.
    """
    errors: list[str] = []
    context = _browser().new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        yield page
    finally:
        context.close()
    assert errors == [], f"the pages logged errors: {errors}"


def shot(page: Any, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


# -- on a page ------------------------------------------------------------------------------------


def sign_in(page, live_server: str, person, target: str) -> None:
    page.goto(f"{live_server}/login?next={quote(target)}")
    page.fill("input[name=email]", person.email)
    page.fill("input[name=password]", person.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}{target}")


def image_rect(page, pane: str = "#gt-left") -> dict:
    return page.locator(f"{pane} .gt-svg").bounding_box()


def screen_point(rect: dict, px: float, py: float) -> tuple[float, float]:
    """Percent of the image -> client pixels."""
    return rect["x"] + px / 100 * rect["width"], rect["y"] + py / 100 * rect["height"]


def percent_of(rect: dict, sx: float, sy: float) -> tuple[float, float]:
    """Client pixels -> percent of the image (what the stored region should say)."""
    return (sx - rect["x"]) / rect["width"] * 100, (sy - rect["y"]) / rect["height"] * 100


def drag(page, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()
