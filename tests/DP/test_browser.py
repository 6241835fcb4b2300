"""The maze simulator's page in a real headless Chromium (Playwright for Python).

Uses the system Chromium (Debian package ``chromium``; ``.ci/run`` installs it). Playwright's
own browser download is never used. Without Chromium these tests are skipped, and say why,
unless ``RL_BOOK_REQUIRE_BROWSER=1`` (set by ``.ci/run``) asks for them to fail instead.
"""

import json
import re

import pytest

from DP.environment import ACTIONS, State
from DP.vectorized_planner import (
    Environment,
    PolicyIterationPlanner,
    ValueIterationPlanner,
    load_maze,
)
from tests.DP import browser_fixtures as fixtures
from tests.DP.browser_fixtures import (
    BROWSER_MARKS,
    cell,
    draw,
    expect,
    run_to_the_end,
    set_cell,
    set_range,
)

# The shared fixtures, named in this module so that pytest finds them.
browser, server_url = fixtures.browser, fixtures.server_url

pytestmark = BROWSER_MARKS

ARROW_NAMES = ["up", "down", "left", "right"]


@pytest.fixture()
def expected_errors():
    """Console errors that a test provokes on purpose (text to look for); none by default."""
    return []


@pytest.fixture()
def page(browser, server_url, expected_errors):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems = []
    # A CSP violation (inline code, a CDN), a script error or a refused request shows up here.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready='true']")
    page.select_option("#speed", "40")
    yield page
    context.close()
    assert [p for p in problems if not any(e in p for e in expected_errors)] == []


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


def greenness(colour):
    """How green a cell is: green minus red of its "rgb(r, g, b)" background.

    The page's scale runs from red (−) through light grey (0) to green (+), so this grows
    with the value: about −167 at the reddest, 0 for grey, +126 at the greenest.
    """
    red, green, _ = (int(n) for n in re.findall(r"\d+", colour))
    return green - red


def assert_greener_where_higher(shown, values):
    """Across the open cells, a higher value is never less green, and clearly higher is greener."""
    cells = sorted((values[r][c], greenness(colour)) for (r, c), (_, _, colour) in shown.items()
                   if colour)
    assert len(cells) >= 2
    for (low, low_green), (high, high_green) in zip(cells, cells[1:]):
        assert high_green >= low_green, f"{high:.3f} is less green than {low:.3f}"
    (lowest, lowest_green), (highest, highest_green) = cells[0], cells[-1]
    assert highest - lowest > 0.1 and highest_green > lowest_green + 10


def test_value_iteration_colours_cells_and_draws_greedy_arrows(page):
    draw(page, 4, 5)
    # The start cell is selected after drawing. It cannot become a block: the button stays
    # enabled, and pressing it says why, next to the buttons.
    expect(page.locator("button.kind.block")).to_be_enabled()
    page.click("button.kind.block")
    expect(page.locator("#message")).to_contain_text("スタート（左下）は Block にできません")
    expect(cell(page, 3, 0)).not_to_have_class(re.compile(r"\bblock\b"))
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
    assert shown_arrows(page, 0, 3) == {"RIGHT"}  # next to the treasure: go for it
    assert_greener_where_higher(shown, values)

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
    expect(page.locator("#converged")).to_contain_text(
        f"converged in {planner.iterations} iterations")
    # One frame for the start, each evaluation sweep and each improvement.
    n = len(planner.steps) - 1
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
    assert load_maze(path)["grid"] == grid  # DP/vectorized_planner.py --grid reads the same file

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


def test_errors_are_shown_to_the_user(page, expected_errors):
    # A maze with no goal and γ = 1 never converges: the server says so, and the page shows it.
    # The browser logs the refused request; that one console error is expected here.
    expected_errors.append("status of 422")
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


SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]  # on the page when it opens


def selected(page):
    """The cells drawn as selected, as a set of (row, column)."""
    return {tuple(rc) for rc in page.locator(".cell.selected").evaluate_all(
        "cells => cells.map(c => [Number(c.dataset.row), Number(c.dataset.column)])")}


def test_the_move_probability_slider_changes_the_plan(page):
    run_to_the_end(page, "value")
    expect(page.locator("#status")).to_contain_text("move prob = 0.8")
    set_range(page, "#prob", 1)
    expect(page.locator("#prob-out")).to_have_text("1.00")
    # The old plan belonged to the old probability: it is dropped, and the page says so.
    expect(page.locator("#converged")).to_have_text("")
    expect(page.locator("#status")).to_contain_text("パラメーターを変更しました")
    run_to_the_end(page, "value")
    expect(page.locator("#status")).to_contain_text("move prob = 1")
    sure = ValueIterationPlanner(Environment(SAMPLE, move_prob=1.0)).plan(gamma=0.9)
    slippery = ValueIterationPlanner(Environment(SAMPLE, move_prob=0.8)).plan(gamma=0.9)
    assert sure[2][0] > slippery[2][0] + 0.1  # moves that never slip reach the treasure surely
    shown = board(page)
    for r, row in enumerate(SAMPLE):
        for c, kind in enumerate(row):
            if kind == 0:
                text = shown[r, c][0].replace("−", "-")
                assert float(text) == pytest.approx(sure[r][c], abs=0.006)


def test_the_cell_panel_shows_v_and_every_q(page):
    expect(page.locator("#cell-info")).to_contain_text("まだ計画していません")
    run_to_the_end(page, "value")
    env = Environment(SAMPLE)
    planner = ValueIterationPlanner(env)
    V = planner.plan(gamma=0.9)
    n = planner.iterations
    cell(page, 2, 2).hover()
    info = page.locator("#cell-info")
    expect(info).to_contain_text("セル (row 2, column 2) — Ordinary")
    expect(info).to_contain_text(f"V(s) = {V[2][2]:.4f}（反復 {n}）")
    # Q(s, a) = Σ_s' T(s'|s,a) (R(s') + γ V(s')), from the book's dict view of the maze.
    state = State(2, 2)
    Q = [sum(prob * (env.reward_func(nxt)[0] + 0.9 * V[nxt.row][nxt.column])
             for nxt, prob in env.transit_func(state, action).items()) for action in ACTIONS]
    rows = info.locator("tr:has(td)")
    expect(rows).to_have_count(4)
    best = max(Q)
    for a, action in enumerate(ACTIONS):
        row = rows.nth(a)
        expect(row).to_contain_text(action.name)
        assert float(row.locator("td").nth(1).inner_text()) == pytest.approx(Q[a], abs=1e-4)
        is_best = "best" in (row.get_attribute("class") or "")
        assert is_best == (Q[a] >= best - 1e-6)
    # The value shown follows the frame being played back.
    page.click("#first")
    expect(info).to_contain_text("V(s) = 0.0000（反復 0）")
    cell(page, 0, 3).hover()
    expect(info).to_contain_text("Treasure")
    expect(info).to_contain_text("+1")  # its reward, and that the episode ends there
    expect(info).to_contain_text("エピソード終了")
    cell(page, 1, 1).hover()
    expect(info).to_contain_text("入れないセル")


CHART_COLOURS = """canvas => {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const found = { line: 0, marker: [] };
    for (let i = 0; i < pixels.data.length; i += 4) {
        const [r, g, b] = [pixels.data[i], pixels.data[i + 1], pixels.data[i + 2]];
        if (Math.abs(r - 36) + Math.abs(g - 87) + Math.abs(b - 197) < 30) found.line += 1;
        if (Math.abs(r - 255) + Math.abs(g - 176) + b < 30) {
            found.marker.push((i / 4) % canvas.width);
        }
    }
    return found;
}"""


def test_the_convergence_chart_draws_the_deltas_and_the_current_frame(page):
    chart = page.locator("#chart")
    before = chart.evaluate(CHART_COLOURS)
    assert before["line"] == 0 and before["marker"] == []  # nothing planned yet
    run_to_the_end(page, "value")
    at_last = chart.evaluate(CHART_COLOURS)
    assert at_last["line"] > 100  # the blue max|ΔV| curve
    page.click("#first")
    expect(page.locator("#frame-label")).to_have_text(re.compile(r"反復 0 / "))
    at_first = chart.evaluate(CHART_COLOURS)
    assert at_first["marker"] == []  # frame 0 has no ΔV yet: no marker
    page.click("#next")
    at_one = chart.evaluate(CHART_COLOURS)
    # The orange marker sits on the current iteration: left at 1, right at the last one.
    assert at_one["marker"] and at_last["marker"]
    assert max(at_one["marker"]) < min(at_last["marker"])


def test_drag_selects_a_rectangle_and_ctrl_click_adds_or_removes_cells(page):
    draw(page, 4, 5)
    box_from = cell(page, 0, 1).bounding_box()
    box_to = cell(page, 2, 3).bounding_box()
    page.mouse.move(box_from["x"] + 10, box_from["y"] + 10)
    page.mouse.down()
    page.mouse.move(box_to["x"] + 10, box_to["y"] + 10, steps=5)
    page.mouse.up()
    rectangle = {(r, c) for r in range(3) for c in range(1, 4)}
    assert selected(page) == rectangle
    page.click("button.kind.block")
    for r, c in rectangle:
        expect(cell(page, r, c)).to_have_class(re.compile(r"\bblock\b"))
    expect(page.locator(".cell.block")).to_have_count(len(rectangle))

    cell(page, 3, 4).click()
    assert selected(page) == {(3, 4)}
    cell(page, 0, 0).click(modifiers=["Control"])
    cell(page, 3, 3).click(modifiers=["Control"])
    assert selected(page) == {(3, 4), (0, 0), (3, 3)}
    cell(page, 3, 3).click(modifiers=["Control"])  # a second ctrl-click takes it out again
    assert selected(page) == {(3, 4), (0, 0)}
    page.keyboard.press("t")
    expect(cell(page, 3, 4)).to_have_class(re.compile(r"\btreasure\b"))
    expect(cell(page, 0, 0)).to_have_class(re.compile(r"\btreasure\b"))
    expect(page.locator(".cell.treasure")).to_have_count(2)


def test_arrow_keys_move_the_selection_and_stop_at_the_edges(page):
    draw(page, 3, 4)
    cell(page, 2, 0).click()  # the start cell; this also gives the grid the keyboard
    page.keyboard.press("ArrowUp")
    assert selected(page) == {(1, 0)}
    for _ in range(6):
        page.keyboard.press("ArrowRight")  # four columns: it stops at the last one
    assert selected(page) == {(1, 3)}
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    assert selected(page) == {(0, 3)}
    expect(page.locator("#cell-info")).to_contain_text("セル (row 0, column 3)")
    page.keyboard.press("d")
    expect(cell(page, 0, 3)).to_have_class(re.compile(r"\bdanger\b"))
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowDown")
    assert selected(page) == {(1, 2)}
    page.keyboard.press("b")
    expect(cell(page, 1, 2)).to_have_class(re.compile(r"\bblock\b"))


def frame_label(page):
    return page.inner_text("#frame-label")


def test_pause_prev_and_last_control_the_playback(page):
    page.select_option("#speed", "600")  # slow enough to pause in the middle
    page.click("#run-value")
    expect(page.locator("#converged")).to_contain_text("converged in")
    n = int(page.get_attribute("#frame", "max"))
    expect(page.locator("#play")).to_have_attribute("aria-label", "一時停止 (pause)")
    expect(page.locator("#frame-label")).to_have_text(f"反復 1 / {n}", timeout=5_000)
    page.click("#play")  # pause
    expect(page.locator("#play")).to_have_attribute("aria-label", "再生 (play)")
    paused_at = frame_label(page)
    page.wait_for_timeout(1500)  # two and a half frames' time: nothing moves while paused
    assert frame_label(page) == paused_at
    page.click("#play")  # play on from there
    expect(page.locator("#play")).to_have_attribute("aria-label", "一時停止 (pause)")
    expect(page.locator("#frame-label")).not_to_have_text(paused_at, timeout=5_000)

    page.click("#last")
    expect(page.locator("#frame-label")).to_have_text(f"反復 {n} / {n}")
    expect(page.locator("#play")).to_have_attribute("aria-label", "再生 (play)")
    expect(page.locator("#next")).to_be_disabled()
    expect(page.locator("#last")).to_be_disabled()
    page.click("#prev")
    expect(page.locator("#frame-label")).to_have_text(f"反復 {n - 1} / {n}")
    expect(page.locator("#next")).to_be_enabled()
    page.click("#first")
    expect(page.locator("#frame-label")).to_have_text(f"反復 0 / {n}")
    expect(page.locator("#first")).to_be_disabled()
    expect(page.locator("#prev")).to_be_disabled()


@pytest.mark.parametrize("columns", ["21", "1", "2.5", ""])
def test_the_column_count_is_bounded(page, columns):
    assert page.get_attribute("#columns", "max") == "20"
    page.fill("#columns", columns)
    page.click("#draw")
    expect(page.locator("#message")).to_contain_text("2 to 20")
    expect(page.locator(".cell")).to_have_count(12)  # the 3 x 4 maze stays
    page.fill("#rows", "2")
    page.fill("#columns", "20")
    page.click("#draw")
    expect(page.locator(".cell")).to_have_count(40)
    expect(page.locator("#message")).to_be_hidden()
