"""Both simulator pages as a learner meets them, in a real headless Chromium (Playwright).

The maze and what acts on it fit the window together (1280 x 800, and a 390 x 844 phone),
every message appears where the eye is, the texts say what the page shows, and a screen
reader hears the maze cell by cell. Chromium and Playwright as in ``browser_fixtures``.
"""

import json
import re

import pytest

from tests.DP import browser_fixtures as fixtures
from tests.DP.browser_fixtures import (
    BROWSER_MARKS,
    PHONE,
    cell,
    draw,
    expect,
    run_plan,
    set_cell,
    set_range,
    shoot,
)

browser, server_url = fixtures.browser, fixtures.server_url
open_page, expected_errors = fixtures.open_page, fixtures.expected_errors

pytestmark = BROWSER_MARKS

LAPTOP = {"width": 1280, "height": 800}
BROKEN_FILE = [{"name": "broken.json", "mimeType": "application/json",
                "buffer": b'{"grid": [[0, 1], [9]]}'}]


def open_at(browser, url, viewport, **options):
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    return context, page, errors


def in_view(page, selector):
    """Whether the element is wholly inside the window as it is scrolled now."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"] + 0.5
            and box["y"] + box["height"] <= size["height"] + 0.5)


def assert_in_view(page, *selectors):
    outside = [s for s in selectors if not in_view(page, s)]
    assert outside == [], f"outside the window: {outside}"


def scrolled(page):
    return page.evaluate("window.scrollY")


# ---------------------------------------------------------------------- one view


def test_the_maze_plan_buttons_playback_and_steps_fit_a_laptop_window(open_page):
    page = open_page(LAPTOP)
    controls = ("#grid", "#run-value", "#run-policy", "#live", "#play", "#frame",
                "#step-sweep", "#step-improve", ".legend")
    for size in ((3, 4), (10, 10)):  # the page's maze, and the largest the issue asks for
        if size != (3, 4):
            draw(page, *size)
            set_cell(page, 0, size[1] - 1, "treasure")
        run_plan(page, "policy")
        expect(page.locator("#pi-steps")).to_be_visible()
        page.click("#step-improve")
        assert scrolled(page) == 0
        assert_in_view(page, *controls)
    shoot(page, "layout_laptop_10x10")


def test_the_learning_page_fits_a_laptop_window_with_the_rooms(browser, server_url):
    context, page, errors = open_at(browser, server_url + "learn", LAPTOP)
    try:
        page.select_option("#preset", "rooms")
        expect(page.locator("#grid-a .cell")).to_have_count(100)
        assert scrolled(page) == 0
        assert_in_view(page, "#grid-a", "#start", "#pause", "#step", "#reset", "#speed",
                       "#learner-a", "#epsilon-a", ".legend")
        shoot(page, "layout_learn_laptop_rooms")
        # A broken file is refused next to the Load button, which may have to be scrolled to.
        page.set_input_files("#load-file", files=BROKEN_FILE)
        expect(page.locator("#message")).to_contain_text("broken.json")
        assert_in_view(page, "#message")
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("path", ["", "learn"])
def test_on_a_phone_a_cell_is_edited_and_seen_without_scrolling(browser, server_url, path):
    context, page, errors = open_at(browser, server_url + path, PHONE, is_mobile=True,
                                    has_touch=True)
    try:
        grid = "#grid" if path == "" else "#grid-a"
        target = page.locator(f"{grid} .cell[data-row='0'][data-column='0']")
        assert in_view(page, f"{grid} .cell[data-row='0'][data-column='0']")
        target.tap()
        assert_in_view(page, "button.kind.danger", "button.kind.treasure", "button.kind.block",
                       "button.kind.clear")
        page.locator("button.kind.danger").tap()
        expect(target).to_have_class(re.compile(r"\bdanger\b"))
        assert scrolled(page) == 0
        assert in_view(page, f"{grid} .cell[data-row='0'][data-column='0']")
        # The cells' bar covers nothing of the maze it edits.
        bar = page.locator(".edit-bar").bounding_box()
        maze = page.locator(grid).bounding_box()
        assert maze["y"] + maze["height"] <= bar["y"]
        shoot(page, f"layout_phone_{path or 'plan'}_edited")
        assert errors == []
    finally:
        context.close()


# ---------------------------------------------------------------------- messages


def test_a_plan_that_does_not_converge_is_explained_in_japanese_in_view(open_page,
                                                                        expected_errors):
    expected_errors.append("status of 422")
    page = open_page(LAPTOP)
    cell(page, 2, 3).click()
    page.fill("#reward", "0.5")
    page.click("#set-reward")
    set_range(page, "#gamma", 1)
    page.click("#run-value")
    message = page.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("収束しませんでした (422)")
    expect(message).to_contain_text("通常セルのプラスの報酬を何度でも取れる")
    expect(message).to_contain_text("positive reward")  # the server's English, beside it
    assert_in_view(page, "#message", "#run-value")
    shoot(page, "layout_laptop_422")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_broken_file_is_refused_next_to_the_load_button(open_page, viewport):
    page = open_page(viewport)
    page.set_input_files("#load-file", files=BROKEN_FILE)
    expect(page.locator("#message")).to_contain_text("broken.json を読み込めませんでした")
    assert_in_view(page, "#message")
    box, load = (page.locator(s).bounding_box() for s in ("#message", "#load"))
    assert abs(box["y"] - (load["y"] + load["height"])) < 60  # right under the buttons


def test_the_walks_seed_is_checked_as_on_the_learning_page(open_page):
    page = open_page(LAPTOP)
    run_plan(page, "value")
    message = page.locator("#message")
    # A number field holds no text: letters typed into it leave it empty.
    for seed in ("-1", "", "1.5", "4294967296"):
        page.fill("#seed", seed)
        page.locator("#seed").dispatch_event("change")
        expect(message).to_contain_text("seed は 0 から 4294967295 の整数")
        page.click("#walk")
        expect(page.locator("#walk-log li")).to_have_count(0)  # no walk with a bad seed
        assert_in_view(page, "#message")
        page.locator("#message-close").click()
    page.fill("#seed", "7")
    page.locator("#seed").dispatch_event("change")
    expect(message).to_be_hidden()
    page.click("#walk")
    expect(page.locator("#walk-status")).to_contain_text(re.compile("終了|打ち切り"),
                                                         timeout=20_000)


# ---------------------------------------------------------------------- texts


def test_the_texts_follow_the_page(open_page):
    page = open_page(LAPTOP)
    # Nothing planned: no arrows, and the legend does not mention any, in either view.
    expect(page.locator("#legend-note")).not_to_contain_text("矢印")
    page.check("input[name='view'][value='reward']")
    expect(page.locator("#legend-note")).to_have_text("色 = 報酬 R(s)")
    page.check("input[name='view'][value='value']")
    # The Block button does not look disabled on the first load (the start is selected).
    expect(page.locator("button.kind.block")).to_be_enabled()
    # A walk's summary goes with the plan it walked: a new γ or move probability drops both.
    run_plan(page, "value")
    expect(page.locator("#legend-note")).to_contain_text("矢印 = 戦略")
    page.fill("#episodes", "50")
    page.click("#walk-many")
    expect(page.locator("#walk-summary")).to_contain_text("50 エピソードの平均リターン")
    set_range(page, "#gamma", 0.8)
    expect(page.locator("#walk-summary")).to_have_text("")
    run_plan(page, "value")
    page.click("#walk-many")
    expect(page.locator("#walk-summary")).not_to_have_text("")
    set_range(page, "#prob", 0.9)
    expect(page.locator("#walk-summary")).to_have_text("")
    # Policy Iteration's chart: the labels of its improvements never overlap, and the last
    # one, "stable", is always shown.
    run_plan(page, "policy")
    labels = json.loads(page.get_attribute("#chart", "data-labels"))
    assert labels[-1][2] == "stable" and len(labels) >= 2
    for (_, end, _), (start, _, _) in zip(labels, labels[1:]):
        assert end < start, labels
    # The pages no longer point at a place ("左の迷路", "右下のグラフ") the layout moved.
    for path in ("", "learn"):
        page.goto(page.url.split("/learn")[0].rstrip("/") + "/" + path)
        text = page.inner_text("body")
        assert "左の迷路" not in text and "右下のグラフ" not in text


# ---------------------------------------------------------------------- screen readers


def accessibility_tree(page):
    client = page.context.new_cdp_session(page)
    return client.send("Accessibility.getFullAXTree")["nodes"]


def maze_nodes(nodes, role):
    return [n for n in nodes if not n.get("ignored") and n.get("role", {}).get("value") == role]


def maze_rows(nodes):
    """The rows that hold the maze's cells (tables on the page have rows too)."""
    cells = {n["nodeId"] for n in maze_nodes(nodes, "gridcell")}
    return [n for n in maze_nodes(nodes, "row") if cells & set(n.get("childIds", []))]


def selected(node):
    return any(p["name"] == "selected" and p["value"]["value"] for p in node.get("properties", []))


@pytest.mark.parametrize("path", ["", "learn"])
def test_a_screen_reader_hears_each_cell_row_by_row(browser, server_url, path):
    context, page, errors = open_at(browser, server_url + path, LAPTOP)
    try:
        grid = "#grid" if path == "" else "#grid-a"
        if path == "":
            run_plan(page, "value")
        nodes = accessibility_tree(page)
        cells = maze_nodes(nodes, "gridcell")
        assert len(cells) == 12  # the 3 x 4 maze on the page when it opens
        names = [n["name"]["value"] for n in cells]
        assert all(re.match(r"行 \d+, 列 \d+: ", name) for name in names), names
        assert len(maze_rows(nodes)) == 3
        by_name = dict(zip(names, cells))
        start = next(name for name in names if name.startswith("行 2, 列 0: "))
        assert "スタート" in start and selected(by_name[start])
        assert "行 0, 列 3: Treasure, 報酬 +1" in names
        assert "行 1, 列 1: Block（壁）" in names
        if path == "":
            # A planned cell says its value and the way its policy points.
            assert re.search(r"価値 V = 0\.\d\d, 戦略 ↑ 上 up", start), start
        # The selection moves with the keyboard and is announced: the grid's active cell.
        page.locator(grid).focus()
        page.keyboard.press("ArrowUp")
        active = f"{grid[1:]}-1-0"
        expect(page.locator(grid)).to_have_attribute("aria-activedescendant", active)
        expect(page.locator(f"#{active}")).to_have_attribute("aria-selected", "true")
        expect(cell(page, 2, 0).first).to_have_attribute("aria-selected", "false")
        assert errors == []
    finally:
        context.close()
