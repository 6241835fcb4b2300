"""The simulator's page beyond reinforcejs, in a real headless Chromium: arrows clear of the
values, rewards on any cell, Policy Iteration sweep by sweep, the walking agent, and a layout
that fits a phone. The set-up (server, Chromium, page) is in ``browser_fixtures.py``."""

import json
import re

import pytest

from DP.environment import ACTIONS
from DP.vectorized_planner import (
    Environment,
    PolicyIterationPlanner,
    ValueIterationPlanner,
    load_maze,
)
from tests.DP import browser_fixtures as fixtures
from tests.DP.browser_fixtures import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    cell,
    draw,
    expect,
    run_plan,
    run_to_the_end,
    set_cell,
    set_range,
    shown_value,
)

# The shared fixtures, named in this module so that pytest finds them.
browser, open_page, page, server_url, expected_errors = (
    fixtures.browser, fixtures.open_page, fixtures.page, fixtures.server_url,
    fixtures.expected_errors)

pytestmark = BROWSER_MARKS

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
ARROW_NAMES = ["up", "down", "left", "right"]

# For every cell: its box, the box of its value's text (null when none is shown) and the box
# of every arrow drawn, as [left, top, right, bottom] in CSS pixels, with its direction.
BOXES = """cells => cells.map(c => {
    const box = (r) => [r.left, r.top, r.right, r.bottom];
    const value = c.querySelector('.value');
    let text = null;
    if (value.textContent && getComputedStyle(value).display !== 'none') {
        const range = document.createRange();
        range.selectNodeContents(value);
        text = box(range.getBoundingClientRect());
    }
    const arrows = Array.from(c.querySelectorAll('.arrow'))
        .filter(a => getComputedStyle(a).display !== 'none')
        .map(a => [...box(a.getBoundingClientRect()), a.classList[1]]);
    return { row: Number(c.dataset.row), column: Number(c.dataset.column),
             cell: box(c.getBoundingClientRect()), text, arrows };
})"""


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def boxes(page):
    return page.locator(".cell").evaluate_all(BOXES)


def length(arrow):
    """How far an arrow reaches along its own direction."""
    left, top, right, bottom, direction = arrow
    return bottom - top if direction in ("up", "down") else right - left


def assert_arrows_clear_of_the_values(page, grid, arrows_per_cell=None):
    """Every ordinary cell draws its arrows inside itself and none touches its value."""
    for found in boxes(page):
        if grid[found["row"]][found["column"]] != 0:
            assert found["arrows"] == []
            continue
        if arrows_per_cell is not None:
            assert len(found["arrows"]) == arrows_per_cell
        assert found["arrows"], found
        inside = found["cell"]
        for arrow in found["arrows"]:
            assert inside[0] <= arrow[0] and arrow[2] <= inside[2] + 0.5, (found, arrow)
            assert inside[1] <= arrow[1] and arrow[3] <= inside[3] + 0.5, (found, arrow)
            if found["text"] is not None:
                assert not overlap(arrow, found["text"]), (found, arrow)


def big_maze(page):
    draw(page, 20, 20)
    set_cell(page, 0, 19, "treasure")
    set_cell(page, 1, 19, "danger")
    grid = [[0] * 20 for _ in range(20)]
    grid[0][19], grid[1][19] = 1, -1
    return grid


def arrows_at(page, row, column):
    shown = cell(page, row, column).locator(".arrow").evaluate_all(
        "arrows => arrows.map(a => getComputedStyle(a).display !== 'none')")
    return {name.upper() for name, visible in zip(ARROW_NAMES, shown) if visible}


# The 20×20 cases take 2 s each: the full suite runs them.
@pytest.mark.parametrize("size, viewport", [
    pytest.param(3, DESKTOP, id="3x4-desktop"),
    pytest.param(20, DESKTOP, id="20x20-desktop", marks=pytest.mark.slow),
    pytest.param(20, PHONE, id="20x20-phone", marks=pytest.mark.slow)])
def test_arrows_stay_clear_of_the_values_and_readable(open_page, size, viewport):
    page = open_page(viewport)
    grid = SAMPLE if size == 3 else big_maze(page)
    run_to_the_end(page, "value")
    assert_arrows_clear_of_the_values(page, grid)
    found = boxes(page)
    cell_size = found[0]["cell"][2] - found[0]["cell"][0]
    greedy = [length(a) for f in found for a in f["arrows"]]
    # Readable: an arrow is at least a quarter of the cell, and never shrinks below 5 px.
    assert min(greedy) >= max(5, 0.25 * cell_size), (min(greedy), cell_size)
    if viewport is PHONE:
        # Cells too small for numbers show none (the cell panel has them), but every arrow.
        assert all(f["text"] is None for f in found)
        expect(page.locator("#tiny-note")).to_be_visible()
    else:
        assert all(f["text"] is not None for f in found if grid[f["row"]][f["column"]] == 0)
    # Policy Iteration's start: the uniformly random policy, four arrows a quarter as long.
    run_plan(page, "policy")
    page.click("#first")
    assert_arrows_clear_of_the_values(page, grid, arrows_per_cell=4)
    uniform = [length(a) for f in boxes(page) for a in f["arrows"]]
    assert max(uniform) < 0.6 * min(greedy)


def test_editing_a_reward_changes_the_plan(page):
    run_to_the_end(page, "value")
    assert arrows_at(page, 1, 0) == {"UP"}  # up and round to the treasure
    # +0.5 on arrival at the lower-right cell: camping there beats the treasure.
    cell(page, 2, 3).click()
    expect(page.locator("#reward")).to_have_value("-0.04")
    page.fill("#reward", "0.5")
    page.click("#set-reward")
    expect(page.locator("#converged")).to_have_text("")  # the old plan is dropped
    expect(cell(page, 2, 3)).to_have_class(re.compile(r"\bcustom\b"))
    rewards = [[-0.04, -0.04, -0.04, 1], [-0.04, 0, -0.04, -1], [-0.04, -0.04, -0.04, 0.5]]
    run_to_the_end(page, "value")
    planner = ValueIterationPlanner(Environment(SAMPLE, rewards=rewards))
    V = planner.plan(gamma=0.9)
    greedy = planner.greedy_actions()
    for r, row in enumerate(SAMPLE):
        for c, kind in enumerate(row):
            if kind == 0:
                assert shown_value(page, r, c) == pytest.approx(V[r][c], abs=0.006)
                assert arrows_at(page, r, c) == {a.name for a in greedy[r][c]}
    assert arrows_at(page, 1, 0) == {"DOWN"}
    # The legend follows the values, which now reach about 4.3.
    expect(page.locator("#legend-high")).to_have_text(f"+{max(map(max, V)):.2f}")
    # The reward view shows every cell's reward.
    page.check("input[name='view'][value='reward']")
    expect(cell(page, 2, 3).locator(".value")).to_have_text("+0.5")
    expect(cell(page, 0, 0).locator(".value")).to_have_text("−0.04")

    # The step reward moves every ordinary cell that still has the default, not the +0.5.
    page.fill("#step-reward", "-0.5")
    page.locator("#step-reward").dispatch_event("change")
    expect(cell(page, 0, 0).locator(".value")).to_have_text("−0.5")
    expect(cell(page, 2, 3).locator(".value")).to_have_text("+0.5")
    page.check("input[name='view'][value='value']")
    run_to_the_end(page, "value")
    rewards = [[-0.5, -0.5, -0.5, 1], [-0.5, 0, -0.5, -1], [-0.5, -0.5, -0.5, 0.5]]
    V = ValueIterationPlanner(Environment(SAMPLE, rewards=rewards)).plan(gamma=0.9)
    assert shown_value(page, 0, 0) == pytest.approx(V[0][0], abs=0.006)
    # Out of range: refused with a message, nothing changes.
    page.fill("#reward", "11")
    page.click("#set-reward")
    expect(page.locator("#message")).to_contain_text("−10 から 10")


def test_policy_iteration_shows_its_evaluation_sweeps(page):
    reference = PolicyIterationPlanner(Environment(SAMPLE))
    reference.plan(gamma=0.9)
    steps = reference.steps
    run_to_the_end(page, "policy")
    expect(page.locator("#frame-label")).to_have_text(f"反復 {len(steps) - 1} / {len(steps) - 1}")
    expect(page.locator("#phase")).to_contain_text("戦略が安定したので終了")
    expect(page.locator("#chart-title")).to_contain_text("per evaluation sweep")
    sweeps = sum(s.kind == "evaluation" for s in steps)
    expect(page.locator("#converged")).to_contain_text(f"評価スイープ 計 {sweeps} 回")

    page.click("#first")
    expect(page.locator("#phase")).to_contain_text("ランダム戦略")
    expect(page.locator("#pi-steps")).to_be_visible()
    # One sweep at a time: the values move, the (random) arrows stay.
    for index in (1, 2, 3):
        page.click("#step-sweep")
        expect(page.locator("#frame-label")).to_have_text(f"反復 {index} / {len(steps) - 1}")
        expect(page.locator("#phase .kind-tag")).to_have_text("評価 evaluation")
        assert shown_value(page, 2, 0) == pytest.approx(steps[index].V[8], abs=0.006)
        assert arrows_at(page, 2, 0) == {"UP", "DOWN", "LEFT", "RIGHT"}
    # One policy update: on to the end of this evaluation, then the greedy improvement.
    first = next(i for i, s in enumerate(steps) if s.kind == "improvement")
    page.click("#step-improve")
    expect(page.locator("#frame-label")).to_have_text(f"反復 {first} / {len(steps) - 1}")
    expect(page.locator("#phase .kind-tag")).to_have_text("改善 improvement")
    expect(page.locator("#phase")).to_contain_text("9 セルの行動が変わりました")
    assert shown_value(page, 2, 0) == pytest.approx(steps[first - 1].V[8], abs=0.006)
    chosen = reference.policy_log[0]
    for r, row in enumerate(SAMPLE):
        for c, kind in enumerate(row):
            if kind == 0:
                assert arrows_at(page, r, c) == {ACTIONS[chosen[r][c]].name}
    # The evaluation right before converged: its last sweep moved less than the threshold.
    page.click("#prev")
    expect(page.locator("#phase")).to_contain_text("評価はここで収束")
    page.click("#next")
    # Improvement after improvement to the end; then there is nothing left to step.
    for _ in range(reference.iterations - 1):
        page.click("#step-improve")
    expect(page.locator("#phase")).to_contain_text("戦略が安定したので終了")
    expect(page.locator("#step-improve")).to_be_disabled()
    expect(page.locator("#step-sweep")).to_be_disabled()
    # Value Iteration has no such steps.
    page.click("#run-value")
    expect(page.locator("#pi-steps")).to_be_hidden()


@pytest.mark.slow  # 4 s of walking
def test_the_walking_agent_follows_the_plan_to_the_end(page):
    set_range(page, "#prob", 1)  # no slips: the walk is the plan, step by step
    run_to_the_end(page, "value")
    V = ValueIterationPlanner(Environment(SAMPLE, move_prob=1.0)).plan(gamma=0.9)
    page.click("#walk")
    expect(page.locator("#walk-status")).to_contain_text("終了", timeout=10_000)
    expect(page.locator("#walk-status")).to_contain_text("Treasure に到着")
    agent = page.locator(".agent")
    assert (agent.get_attribute("data-row"), agent.get_attribute("data-column")) == ("0", "3")
    expect(page.locator("#walk-log li")).to_have_count(5)  # up, up, right, right, right
    expect(page.locator(".walk-log .slip")).to_have_count(0)
    # Without slips the return is exactly the start's value.
    expect(page.locator("#walk-status")).to_contain_text(f"G = Σ γ^t r = {V[2][0]:.4f}")

    # With slips: the mean return of many episodes estimates V(S), with the page's own
    # sampling of the model the server sent (a wrong move probability would miss by far).
    set_range(page, "#prob", 0.7)
    run_to_the_end(page, "value")
    V = ValueIterationPlanner(Environment(SAMPLE, move_prob=0.7)).plan(gamma=0.9)
    page.fill("#episodes", "3000")
    page.click("#walk-many")
    summary = page.locator("#walk-summary")
    expect(summary).to_contain_text("3000 エピソードの平均リターン")
    mean = float(summary.get_attribute("data-mean"))
    error = float(summary.get_attribute("data-error"))
    assert float(summary.get_attribute("data-value")) == pytest.approx(V[2][0], abs=1e-4)
    assert 0 < error < 0.05
    assert abs(mean - V[2][0]) < 4 * error
    # A walk shows its slips, in the log and on the trail; the same seed walks the same way.
    def walk(seed):
        page.fill("#seed", str(seed))
        page.locator("#seed").dispatch_event("change")
        page.click("#walk")
        expect(page.locator("#walk-status")).to_contain_text(re.compile("終了|打ち切り"),
                                                             timeout=20_000)
        return page.locator("#walk-log li").all_inner_texts()

    seed = next(seed for seed in range(20) if any("slip" in line for line in walk(seed)))
    slips = [line for line in walk(seed) if "slip" in line]
    assert slips and all("のつもりが滑って" in line for line in slips)
    expect(page.locator(".trail.slip")).to_have_count(len(slips))
    assert walk(seed) == walk(seed)


def test_save_and_load_round_trip_the_rewards(page, tmp_path):
    draw(page, 3, 5)
    set_cell(page, 0, 4, "treasure")
    cell(page, 1, 2).click()
    page.fill("#reward", "0.25")
    page.click("#set-reward")
    page.fill("#step-reward", "-0.1")
    page.locator("#step-reward").dispatch_event("change")
    with page.expect_download() as download_info:
        page.click("#save")
    expect(page.locator("#message")).to_contain_text("ダウンロード")
    path = tmp_path / "maze.json"
    download_info.value.save_as(path)
    grid = [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    rewards = [[-0.1, -0.1, -0.1, -0.1, 1], [-0.1, -0.1, 0.25, -0.1, -0.1], [-0.1] * 5]
    saved = json.loads(path.read_text())
    assert saved == {"grid": grid, "prob": 0.8, "gamma": 0.9, "rewards": rewards}
    # DP/vectorized_planner.py --grid reads the same file
    assert load_maze(path)["rewards"] == rewards

    draw(page, 4, 4)
    expect(page.locator("#step-reward")).to_have_value("-0.1")
    page.set_input_files("#load-file", str(path))
    expect(page.locator(".cell")).to_have_count(15)
    expect(cell(page, 1, 2)).to_have_class(re.compile(r"\bcustom\b"))
    expect(page.locator(".cell.custom")).to_have_count(1)
    expect(page.locator("#step-reward")).to_have_value("-0.1")
    run_to_the_end(page, "value")
    V = ValueIterationPlanner(Environment(grid, rewards=rewards)).plan(gamma=0.9)
    assert shown_value(page, 1, 2) == pytest.approx(V[1][2], abs=0.006)
    # A file whose rewards do not fit its maze is refused with the reason.
    page.set_input_files("#load-file", files=[{
        "name": "bad-rewards.json", "mimeType": "application/json",
        "buffer": json.dumps({"grid": grid, "rewards": [[0] * 5] * 2}).encode(),
    }])
    expect(page.locator("#message")).to_contain_text("bad-rewards.json")
    expect(page.locator("#message")).to_contain_text("shape")


def no_sideways_scroll(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth,"
                           " document.querySelector('#grid').getBoundingClientRect().right]")
    assert widths[0] <= widths[1] and widths[2] <= widths[1], widths


def test_the_phone_layout_has_no_horizontal_scroll(open_page):
    page = open_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    no_sideways_scroll(page)
    run_to_the_end(page, "value")
    page.click("#walk")
    no_sideways_scroll(page)
    run_plan(page, "policy")
    page.click("#step-improve")
    no_sideways_scroll(page)
    big_maze(page)
    no_sideways_scroll(page)
    run_to_the_end(page, "value")
    no_sideways_scroll(page)
    size = cell(page, 0, 0).bounding_box()["width"]
    assert size >= 12


def test_a_maze_without_treasure_or_danger_warns(page):
    draw(page, 3, 3)
    page.click("#run-value")
    expect(page.locator("#converged")).to_contain_text("converged in")
    expect(page.locator("#warning")).to_be_visible()
    expect(page.locator("#warning")).to_contain_text("Treasure も Danger もありません")
    set_cell(page, 0, 2, "treasure")
    expect(page.locator("#warning")).to_be_hidden()
    page.click("#run-value")
    expect(page.locator("#converged")).to_contain_text("converged in")
    expect(page.locator("#warning")).to_be_hidden()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_save_and_load_labels_never_break_inside_a_word(open_page, viewport):
    page = open_page(viewport)
    for selector in ("#save", "#load"):
        lines = page.locator(f"{selector} .nowrap").evaluate("s => s.getClientRects().length")
        assert lines == 1, selector
