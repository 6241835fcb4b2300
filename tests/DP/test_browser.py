"""The maze simulator's page in a real headless Chromium (Playwright for Python).

Uses the system Chromium (Debian package ``chromium``; ``.ci/run`` installs it). Playwright's
own browser download is never used. Without Chromium these tests are skipped, and say why,
unless ``RL_BOOK_REQUIRE_BROWSER=1`` (set by ``.ci/run``) asks for them to fail instead.
"""

import asyncio
import json
import os
import re
import shutil
import threading

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from DP.application import HTTP_SERVER_OPTIONS, Application
from DP.environment import ACTIONS, Environment
from DP.planner import PolicyIterationPlanner, ValueIterationPlanner, load_maze


def find_chromium():
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


CHROMIUM = find_chromium()
# CI sets this so that a missing browser fails the run instead of silently skipping the tests.
if os.environ.get("RL_BOOK_REQUIRE_BROWSER") == "1" and CHROMIUM is None:
    pytest.fail("RL_BOOK_REQUIRE_BROWSER=1 but Chromium is not installed", pytrace=False)
pytestmark = [
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
ARROW_NAMES = ["up", "down", "left", "right"]


@pytest.fixture(scope="module")
def server_url():
    """The simulator on a free port, served from a background thread's event loop."""
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

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(20), "the test server did not start"
    yield shared["url"]
    shared["loop"].call_soon_threadsafe(shared["stop"].set)
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, server_url):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems = []
    # A CSP violation (inline code, a CDN) or a script error shows up here.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready='true']")
    page.select_option("#speed", "40")
    yield page
    context.close()
    expected = [p for p in problems if "422" in p or "400" in p]  # answers we asked for
    assert [p for p in problems if p not in expected] == []


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


def board(page):
    """Everything the grid shows, read in one go: {(row, column): (value text, arrows, colour)}."""
    cells = page.locator(".cell").evaluate_all(
        """cells => cells.map(c => [
            Number(c.dataset.row), Number(c.dataset.column),
            c.querySelector('.value').textContent,
            Array.from(c.querySelectorAll('.arrow'),
                       a => getComputedStyle(a).display !== 'none'),
            c.style.backgroundColor,
        ])"""
    )
    return {
        (r, c): (text, {n.upper() for n, on in zip(ARROW_NAMES, arrows) if on}, colour)
        for r, c, text, arrows, colour in cells
    }


def shown_arrows(page, row, column):
    """The directions whose arrow is actually displayed in the cell."""
    shown = cell(page, row, column).locator(".arrow").evaluate_all(
        "arrows => arrows.map(a => getComputedStyle(a).display !== 'none')"
    )
    return {name.upper() for name, visible in zip(ARROW_NAMES, shown) if visible}


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


def run_to_the_end(page, plan):
    """Plan, then show the final iteration (playback may or may not have got there yet)."""
    page.click(f"#run-{plan}")
    expect(page.locator("#converged")).to_contain_text("converged in")
    last = page.get_attribute("#frame", "max")
    set_range(page, "#frame", last)
    expect(page.locator("#frame-label")).to_have_text(f"反復 {last} / {last}")


def test_value_iteration_colours_cells_and_draws_greedy_arrows(page):
    draw(page, 4, 5)
    # The start cell is selected after drawing, and it cannot become a block.
    expect(page.locator("button.kind.block")).to_be_disabled()
    set_cell(page, 0, 4, "treasure")
    set_cell(page, 1, 2, "block")
    grid = [[0, 0, 0, 0, 1], [0, 0, 9, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    expect(cell(page, 0, 4)).to_contain_text("+1")
    expect(cell(page, 1, 2)).to_have_class(re.compile(r"\bblock\b"))

    run_to_the_end(page, "value")
    planner = ValueIterationPlanner(Environment(grid))
    values = planner.plan(gamma=0.9)
    greedy = planner.greedy_actions()
    converged = f"converged in {planner.iterations} iterations"
    expect(page.locator("#converged")).to_contain_text(converged)
    shown = board(page)
    for r, row in enumerate(grid):
        for c, kind in enumerate(row):
            text, arrows, colour = shown[r, c]
            if kind != 0:
                assert arrows == set()
                continue
            assert float(text.replace("−", "-")) == pytest.approx(values[r][c], abs=0.006)
            assert arrows == {a.name for a in greedy[r][c]}
            assert colour != ""
    assert shown_arrows(page, 0, 3) == {"RIGHT"}  # next to the treasure: go for it
    # Cells with higher values are greener: compare the colours of two cells.
    near = cell(page, 0, 3).evaluate("el => getComputedStyle(el).backgroundColor")
    far = cell(page, 3, 0).evaluate("el => getComputedStyle(el).backgroundColor")
    assert near != far

    # Step back with the slider and the buttons: the first frame is all zeros.
    page.click("#first")
    expect(page.locator("#frame-label")).to_have_text(f"反復 0 / {planner.iterations}")
    assert cell(page, 3, 0).locator(".value").inner_text() == "0.00"
    set_range(page, "#frame", 2)
    expect(page.locator("#frame-label")).to_have_text(f"反復 2 / {planner.iterations}")
    page.click("#next")
    expect(page.locator("#frame-label")).to_have_text(f"反復 3 / {planner.iterations}")

    # Live mode: an edit (here from the keyboard) plans the new maze at once.
    page.check("#live")
    cell(page, 2, 4).click()
    page.keyboard.press("d")
    expect(cell(page, 2, 4)).to_have_class(re.compile(r"\bdanger\b"))
    expect(page.locator("#converged")).to_contain_text("converged in")
    expect(page.locator("#frame-label")).to_contain_text("反復")
    grid[2][4] = -1
    replanned = ValueIterationPlanner(Environment(grid)).plan(gamma=0.9)
    assert replanned[2][3] < values[2][3] - 0.01  # the new danger next door costs something
    shown = cell(page, 2, 3).locator(".value")
    expect(shown).to_have_text(f"{replanned[2][3]:.2f}".replace("-", "−"))


def test_policy_iteration_plays_back_each_improvement(page):
    # The book's sample maze is on the page when it opens.
    grid = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
    run_to_the_end(page, "policy")
    planner = PolicyIterationPlanner(Environment(grid))
    planner.plan(gamma=0.9)
    n = planner.iterations
    expect(page.locator("#converged")).to_contain_text(f"converged in {n} iterations")
    expect(page.locator("#frame-label")).to_have_text(f"反復 {n} / {n}")
    final = planner.policy_log[-1]
    shown = board(page)
    for r, row in enumerate(grid):
        for c, kind in enumerate(row):
            if kind == 0:
                assert shown[r, c][1] == {ACTIONS[final[r][c]].name}
    # Frame 0: the uniformly random policy, four faint arrows in each open cell.
    page.click("#first")
    assert shown_arrows(page, 2, 0) == {"UP", "DOWN", "LEFT", "RIGHT"}
    opacity = cell(page, 2, 0).locator(".arrow.up").evaluate("a => getComputedStyle(a).opacity")
    assert float(opacity) < 1
    # Play runs to the end by itself.
    page.click("#play")
    expect(page.locator("#frame-label")).to_have_text(f"反復 {n} / {n}", timeout=10_000)


def test_a_maze_is_saved_to_json_and_loaded_back(page, tmp_path):
    draw(page, 3, 5)
    set_cell(page, 0, 4, "treasure")
    set_cell(page, 1, 4, "danger")
    set_cell(page, 1, 1, "block")
    set_range(page, "#gamma", 0.95)
    expect(page.locator("#gamma-out")).to_have_text("0.95")
    with page.expect_download() as download_info:
        page.click("#save")
    path = tmp_path / "maze.json"
    download_info.value.save_as(path)
    grid = [[0, 0, 0, 0, 1], [0, 9, 0, 0, -1], [0, 0, 0, 0, 0]]
    assert json.loads(path.read_text()) == {"grid": grid, "prob": 0.8, "gamma": 0.95}
    assert load_maze(path)["grid"] == grid  # DP/planner.py --grid reads the same file

    draw(page, 6, 6)
    set_range(page, "#gamma", 0.5)
    page.set_input_files("#load-file", str(path))
    expect(page.locator(".cell")).to_have_count(15)
    expect(cell(page, 1, 4)).to_have_class(re.compile(r"\bdanger\b"))
    expect(cell(page, 1, 1)).to_have_class(re.compile(r"\bblock\b"))
    expect(page.locator("#gamma-out")).to_have_text("0.95")
    assert page.input_value("#rows") == "3" and page.input_value("#columns") == "5"
    run_to_the_end(page, "value")
    expect(page.locator("#status")).to_contain_text("γ = 0.95")


def test_errors_are_shown_to_the_user(page):
    # A maze with no goal and γ = 1 never converges: the server says so, and the page shows it.
    draw(page, 2, 2)
    set_range(page, "#gamma", 1)
    page.click("#run-value")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_contain_text("422")
    expect(page.locator("#message")).to_contain_text("converge")
    expect(page.locator("#converged")).to_have_text("")
    # A broken file is refused with a reason, and the maze on the page stays as it was.
    page.set_input_files("#load-file", files=[{
        "name": "broken.json", "mimeType": "application/json",
        "buffer": b'{"grid": [[0, 1], [9]]}',
    }])
    expect(page.locator("#message")).to_contain_text("broken.json")
    expect(page.locator("#message")).to_contain_text("rectangular")
    expect(page.locator(".cell")).to_have_count(4)
    # Rows outside 2..20 are refused too.
    page.fill("#rows", "21")
    page.click("#draw")
    expect(page.locator("#message")).to_contain_text("2 to 20")
    expect(page.locator(".cell")).to_have_count(4)
