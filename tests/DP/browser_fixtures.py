"""Shared set-up for the simulator's browser tests: the server, the system Chromium, a page.

Uses the system Chromium (Debian package ``chromium``; ``.ci/run`` installs it); Playwright's
own browser download is never used. Without Chromium the tests that use these fixtures are
skipped, and say why, unless ``RL_BOOK_REQUIRE_BROWSER=1`` (set by ``.ci/run``) asks for them
to fail instead. A test module imports what it needs from here and sets
``pytestmark = BROWSER_MARKS``. Screenshots go to ``/tmp/shots`` (``RL_BOOK_SHOTS``).
"""

import asyncio
import contextlib
import os
import shutil
import threading
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from DP.http_safety import HTTP_SERVER_OPTIONS
from DP.learning_app import LearningApplication as Application


def find_chromium():
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


CHROMIUM = find_chromium()
if os.environ.get("RL_BOOK_REQUIRE_BROWSER") == "1" and CHROMIUM is None:
    pytest.fail("RL_BOOK_REQUIRE_BROWSER=1 but Chromium is not installed", pytrace=False)
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (Debian: apt-get install chromium); "
               "the browser tests drive the system Chromium",
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)"
)
expect = sync_api.expect

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Where the tests leave screenshots of the pages, to be looked at (RL_BOOK_SHOTS to change).
SHOTS = Path(os.environ.get("RL_BOOK_SHOTS", "/tmp/shots"))


def shoot(page, name, full_page=False):
    """Save a screenshot of ``page`` as ``SHOTS/name.png`` (the window, or the whole page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


@contextlib.contextmanager
def serving():
    """The simulator on a free port, served from a background thread's event loop: yields its
    URL, and stops the server (closing its learning sockets, as Ctrl-C does) at the end."""
    ready = threading.Event()
    shared = {}

    async def serve():
        app = Application()
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(app, **HTTP_SERVER_OPTIONS)
        server.add_sockets(sockets)
        shared["url"] = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/"
        shared["loop"] = asyncio.get_running_loop()
        shared["stop"] = asyncio.Event()
        ready.set()
        await shared["stop"].wait()
        server.stop()
        app.close()
        await asyncio.sleep(0.1)  # let the closing handshakes go out

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(20), "the test server did not start"
    try:
        yield shared["url"]
    finally:
        shared["loop"].call_soon_threadsafe(shared["stop"].set)
        thread.join(10)


@pytest.fixture(scope="module")
def server_url():
    with serving() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def expected_errors():
    """Console errors that a test provokes on purpose (text to look for); none by default."""
    return []


@pytest.fixture()
def open_page(browser, server_url, expected_errors):
    """``open_page(viewport)``: the simulator in a fresh browser context, ready and set to the
    fastest playback. At the end, any script error or console error fails the test, but for
    those ``expected_errors`` names."""
    contexts, problems = [], []

    def open_(viewport=DESKTOP, **options):
        context = browser.new_context(accept_downloads=True, viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        # A CSP violation (inline code, a CDN) or a script error shows up here.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(server_url)
        page.wait_for_selector("body[data-ready='true']")
        page.select_option("#speed", "40")
        return page

    yield open_
    for context in contexts:
        context.close()
    assert [p for p in problems if not any(e in p for e in expected_errors)] == []


@pytest.fixture()
def page(open_page):
    return open_page()


def cell(page, row, column):
    return page.locator(f".cell[data-row='{row}'][data-column='{column}']")


def draw(page, rows, columns):
    page.fill("#rows", str(rows))
    page.fill("#columns", str(columns))
    page.click("#draw")
    expect(page.locator(".cell")).to_have_count(rows * columns)


def set_cell(page, row, column, kind):
    cell(page, row, column).click()
    page.click(f"button.kind.{kind}")


def set_range(page, selector, value):
    """Move a slider as a user would: the page hears "input" while dragging, then "change"."""
    page.locator(selector).evaluate(
        """(slider, value) => {
            slider.value = value;
            slider.dispatchEvent(new Event('input', { bubbles: true }));
            slider.dispatchEvent(new Event('change', { bubbles: true }));
        }""",
        str(value),
    )


# What only each plan's result line says: until the new result arrives, the page still
# shows the previous plan's line, "converged in" included.
CONVERGED_TEXT = {"value": "回のスイープで", "policy": "戦略改善"}


def run_plan(page, plan):
    """Click a plan's button and wait until the page shows that plan's result."""
    page.click(f"#run-{plan}")
    expect(page.locator("#converged")).to_contain_text(CONVERGED_TEXT[plan])


def run_to_the_end(page, plan):
    """Plan, then show the last frame (playback may or may not have got there yet)."""
    run_plan(page, plan)
    last = page.get_attribute("#frame", "max")
    set_range(page, "#frame", last)
    expect(page.locator("#frame-label")).to_have_text(f"反復 {last} / {last}")
    return int(last)


def shown_value(page, row, column):
    """The number a cell shows, as a float (the page writes a real minus sign)."""
    return float(cell(page, row, column).locator(".value").inner_text().replace("−", "-"))
