"""The live view in a real browser: Debian's headless Chromium driven by Playwright.

The page loads with no console errors, every tile shows pictures that change, a rule line
dragged on a tile changes the counts the API reports, and a camera added from the page by URL
(the project's RTSP server) gets a tile and can be removed again."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
sync_api = pytest.importorskip("playwright.sync_api")

from live_util import BUSY_LINE, Client, live_config, rtsp_server, running, wait_for  # noqa: E402

import vasdk  # noqa: E402
from vasdk.live import LiveServer  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail("Debian's chromium is not installed (scripts/setup.sh installs it)", pytrace=False)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


@pytest.fixture()
def live(assets: Path) -> Iterator[tuple[vasdk.Pipeline, LiveServer]]:
    with running(live_config(assets, channels=2)) as pair:
        yield pair


@pytest.fixture()
def fast(assets: Path) -> Iterator[tuple[vasdk.Pipeline, LiveServer]]:
    """One channel as fast as the CPU goes: crossings come sooner than at 10 fps."""
    with running(live_config(assets, channels=1, realtime=False)) as pair:
        yield pair


def open_page(browser: Any, server: LiveServer) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(server.page_url)
    return page, problems


def until(page: Any, js: str, timeout: float = 15) -> None:
    """Polls a JS function in the page (evaluate() is not bound by the page's CSP, which
    forbids string eval, as wait_for_function would need)."""
    end = time.monotonic() + timeout
    while not page.evaluate(js):
        if time.monotonic() > end:
            raise AssertionError(f"not true within {timeout} s: {js}")
        time.sleep(0.1)


def box_of(page: Any, selector: str, timeout: float = 10) -> dict[str, float]:
    """The element's box on the page, retried while the element is being redrawn (None)."""
    end = time.monotonic() + timeout
    while (box := page.locator(selector).bounding_box(timeout=timeout * 1000)) is None:
        if time.monotonic() > end:
            raise AssertionError(f"{selector} not visible within {timeout} s")
        time.sleep(0.1)
    return box


def tile_shown(channel: str) -> str:
    return f"() => document.querySelector('img[data-channel=\"{channel}\"]')?.naturalWidth > 0"


def tile_hash(page: Any, channel: str) -> str:
    return hashlib.sha1(page.locator(f'img[data-channel="{channel}"]').screenshot()).hexdigest()


def test_page_tiles_change_and_no_console_errors(
    browser: Any, live: tuple[vasdk.Pipeline, LiveServer]
) -> None:
    _, server = live
    page, problems = open_page(browser, server)
    for ch in ("cam0", "cam1"):
        until(page, tile_shown(ch))
    first = {ch: tile_hash(page, ch) for ch in ("cam0", "cam1")}
    time.sleep(1.0)
    second = {ch: tile_hash(page, ch) for ch in ("cam0", "cam1")}
    assert all(first[ch] != second[ch] for ch in first), "a tile did not change in 1 s"
    # Live stats and the rule geometry overlay are on the page.
    until(page, "() => document.querySelector('#tile-cam0 .stats').textContent.includes('fps')")
    assert page.locator('#tile-cam0 svg circle[data-rule="door"]').count() == 2
    page.close()
    assert problems == []


def test_dragging_a_line_changes_the_counts(browser: Any, fast: tuple[vasdk.Pipeline, LiveServer]) -> None:
    _pipe, server = fast
    page, problems = open_page(browser, server)
    until(page, tile_shown("cam0"))
    c = Client(server)

    def crossings() -> int:
        counts = c.get("/api/stats")[1]["channels"][0]["rule_counts"]
        return sum(v for k, v in counts.items() if k.startswith("door.cross"))

    def line_now() -> list[list[int]]:
        return c.get("/api/channels/cam0/rules")[1]["rules"][0]["line"]

    def near(p: list[int], q: list[int]) -> bool:
        return abs(p[0] - q[0]) <= 3 and abs(p[1] - q[1]) <= 3

    assert crossings() == 0
    # The handles are drawn once the page knows the picture's size, which may be a stats tick
    # after the first picture shows; the overlay is redrawn whole, so measure what is there now.
    until(page, "() => document.querySelectorAll('#tile-cam0 svg circle[data-rule=\"door\"]').length == 2")
    for point, target in ((0, BUSY_LINE[0]), (1, BUSY_LINE[1])):
        svg = box_of(page, "#tile-cam0 svg")  # measured per drag: the stats line above may rewrap
        scale_x, scale_y = svg["width"] / 768, svg["height"] / 576
        h = box_of(page, f'#tile-cam0 svg circle[data-rule="door"][data-point="{point}"]')
        page.mouse.move(h["x"] + h["width"] / 2, h["y"] + h["height"] / 2)
        page.mouse.down()
        page.mouse.move(svg["x"] + target[0] * scale_x, svg["y"] + target[1] * scale_y, steps=5)
        page.mouse.up()
        # The page applies the rule when the handle is let go: the API reports the moved point.
        assert wait_for(lambda point=point, target=target: near(line_now()[point], target), 5), line_now()
    assert wait_for(crossings, 30, 0.5) > 0, "no crossing counted on the moved line"
    page.close()
    assert problems == []


def test_add_and_remove_a_camera_from_the_page(
    browser: Any, live: tuple[vasdk.Pipeline, LiveServer], assets: Path
) -> None:
    pipe, server = live
    with rtsp_server(assets) as port:
        page, problems = open_page(browser, server)
        page.fill("#add-id", "door2")
        page.fill("#add-url", f"rtsp://127.0.0.1:{port}/ch0")
        page.click("#add-form button")
        page.wait_for_selector("#tile-door2", timeout=10000)
        assert "door2" in [ch.id for ch in pipe.stats().channels]
        until(page, tile_shown("door2"), 20)
        page.click('button[data-remove="door2"]')
        page.wait_for_selector("#tile-door2", state="detached", timeout=10000)
        assert "door2" not in [ch.id for ch in pipe.stats().channels]
        page.close()
    assert problems == []
