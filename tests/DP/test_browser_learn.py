"""The Day3 page (/learn) in a real headless Chromium (Playwright for Python).

Uses the system Chromium (Debian package ``chromium``; ``.ci/run`` installs it); Playwright's
own browser download is never used. Without Chromium these tests are skipped, and say why,
unless ``RL_BOOK_REQUIRE_BROWSER=1`` (set by ``.ci/run``) asks for them to fail instead.
Screenshots of the page go to ``/tmp/shots/learn_*.png`` (``RL_BOOK_SHOTS`` to change).
"""

import json
import re

import pytest

from tests.DP import browser_fixtures as fixtures
from tests.DP.browser_fixtures import BROWSER_MARKS, DESKTOP, PHONE, expect

# The shared fixtures, named in this module so that pytest finds them.
browser, server_url = fixtures.browser, fixtures.server_url

pytestmark = BROWSER_MARKS

WAIT_MS = 60_000


@pytest.fixture()
def open_page(browser, server_url):
    """``open_page(viewport)``: /learn in a fresh browser context, connected to its socket.
    At the end, any script error or console error fails the test."""
    contexts, problems = [], []

    def open_(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(server_url + "learn")
        page.wait_for_selector("body[data-ready='true']")
        # The page starts a paused learner at once: the maze, V* and episode 0.
        expect(page.locator("#status-a")).to_contain_text("一時停止中", timeout=WAIT_MS)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert problems == []


def points(page, chart="#chart"):
    return int(page.get_attribute(chart, "data-points") or 0)


def coloured_triangles(page, board="#grid-a"):
    """How many Q triangles of a board have a colour (the unvisited ones have none)."""
    return page.eval_on_selector_all(f"{board} .tri",
                                     "tris => tris.filter(t => t.style.fill).length")


def episode_shown(page, key="a"):
    text = page.inner_text(f"#status-{key}")
    match = re.search(r"エピソード\s*(\d+)", text)
    return int(match.group(1)) if match else -1


def wait_for(page, condition, timeout=WAIT_MS):
    """Poll ``condition()`` (a Python function reading the page) until it holds."""
    waited = 0
    while not condition():
        assert waited < timeout, "the page did not get there in time"
        page.wait_for_timeout(100)
        waited += 100


def shoot(page, name):
    fixtures.shoot(page, f"learn_{name}", full_page=True)


def test_the_page_streams_q_learning_and_colours_the_triangles(open_page):
    page = open_page()
    assert coloured_triangles(page) == 0  # nothing learned yet
    expect(page.locator("#title-a")).to_contain_text("Q-learning")
    page.select_option("#speed", "0")
    page.click("#start")
    expect(page.locator("#status-a")).to_contain_text("完了", timeout=WAIT_MS)
    assert episode_shown(page) == 500
    assert points(page) == 500
    # Every ordinary cell the agent visited now has four coloured triangles, and greedy arrows.
    assert coloured_triangles(page) >= 4 * 5
    assert page.locator("#grid-a .cell[class*='go-']").count() >= 4
    # The greedy route from S reaches the Treasure round the block (5 moves), and is drawn.
    expect(page.locator("#status-a")).to_contain_text("Treasure まで 5 手")
    assert len(page.get_attribute("#grid-a .route", "points").split()) == 6
    assert page.get_attribute("#grid-a .episode", "points")
    assert points(page, "#gap-chart") >= 2
    shoot(page, "desktop")


def test_the_reward_curve_grows_while_the_learner_runs(open_page):
    page = open_page()
    page.select_option("#speed", "30")
    page.click("#start")
    wait_for(page, lambda: points(page) >= 3)
    first = points(page)
    wait_for(page, lambda: points(page) >= first + 5)
    assert 0 < episode_shown(page) <= 500


def test_pause_one_episode_and_resume(open_page):
    page = open_page()
    page.select_option("#speed", "10")
    page.click("#start")
    wait_for(page, lambda: points(page) >= 2)
    page.click("#pause")
    expect(page.locator("#status-a")).to_contain_text("一時停止中", timeout=WAIT_MS)
    paused_at = points(page)
    page.wait_for_timeout(600)
    assert points(page) == paused_at  # nothing happens while paused
    expect(page.locator("#pause")).to_contain_text("再開")
    for _ in range(2):  # one episode at a time
        before = points(page)
        page.click("#step")
        wait_for(page, lambda n=before: points(page) == n + 1
                 and "一時停止中" in page.inner_text("#status-a"))
        page.wait_for_timeout(300)
        assert points(page) == before + 1
    page.click("#pause")  # now "resume"
    wait_for(page, lambda: points(page) >= paused_at + 6)
    # Reset: a fresh learner, paused, nothing learned.
    page.click("#reset")
    wait_for(page, lambda: points(page) == 0 and episode_shown(page) == 0)
    assert coloured_triangles(page) == 0


def test_the_comparison_shows_q_learning_and_sarsa_on_the_cliff(open_page):
    page = open_page()
    page.select_option("#preset", "cliff")
    expect(page.locator("#box-b")).to_be_visible()
    expect(page.locator("#title-a")).to_contain_text("Q-learning")
    expect(page.locator("#title-b")).to_contain_text("SARSA")
    assert page.input_value("#epsilon-a") == "0.3"
    expect(page.locator("#status-b")).to_contain_text("一時停止中", timeout=WAIT_MS)
    page.select_option("#speed", "0")
    page.click("#start")
    for key in "ab":
        expect(page.locator(f"#status-{key}")).to_contain_text("完了", timeout=WAIT_MS)
    assert points(page) == 1000  # two curves of 500 episodes
    assert coloured_triangles(page, "#grid-a") > 0 and coloured_triangles(page, "#grid-b") > 0
    # The book's point: Q-learning's greedy route runs along the Danger (9 moves), SARSA's a
    # row higher (11 moves).
    expect(page.locator("#status-a")).to_contain_text("Treasure まで 9 手")
    expect(page.locator("#status-b")).to_contain_text("Treasure まで 11 手")
    shoot(page, "compare_desktop")
    page.check("#show-visits")
    expect(page.locator("#grid-a .cell.acting .visits").first).to_be_visible()
    shoot(page, "visits_desktop")


def test_the_phone_layout_fits_and_compares(open_page):
    page = open_page(PHONE)
    page.select_option("#preset", "cliff")
    page.select_option("#speed", "0")
    expect(page.locator("#status-b")).to_contain_text("一時停止中", timeout=WAIT_MS)
    page.click("#start")
    for key in "ab":
        expect(page.locator(f"#status-{key}")).to_contain_text("完了", timeout=WAIT_MS)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    box = page.locator("#grid-a").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    shoot(page, "compare_phone")


def test_editing_the_maze_starts_learning_again(open_page):
    page = open_page()
    page.select_option("#speed", "0")
    page.click("#start")
    expect(page.locator("#status-a")).to_contain_text("完了", timeout=WAIT_MS)
    page.locator("#grid-a .cell[data-row='0'][data-column='0']").click()
    page.click("button.kind.danger")
    expect(page.locator("#grid-a .cell[data-row='0'][data-column='0']")).to_have_class(
        re.compile(r"\bdanger\b"))
    wait_for(page, lambda: episode_shown(page) == 0 and points(page) == 0)
    expect(page.locator("#status-a")).to_contain_text("一時停止中")


def test_actor_critic_shows_its_policy(open_page):
    page = open_page()
    page.select_option("#learner-a", "actor_critic")
    expect(page.locator("#episodes-a")).to_have_value("3000")
    expect(page.locator("#epsilon-a")).to_be_disabled()
    page.fill("#episodes-a", "300")
    page.select_option("#speed", "0")
    page.click("#start")
    expect(page.locator("#status-a")).to_contain_text("完了", timeout=WAIT_MS)
    expect(page.locator("#legend-note")).to_contain_text("π(a|s)")
    assert coloured_triangles(page) > 0
    shoot(page, "actor_critic_desktop")
    phone = open_page(PHONE)
    phone.select_option("#speed", "0")
    phone.click("#start")
    expect(phone.locator("#status-a")).to_contain_text("完了", timeout=WAIT_MS)
    shoot(phone, "phone")


# ---------------------------------------------------------------------- changes while learning


def ends(page):
    """How learner A's episodes ended, one letter each: t(reasure), d(anger), l(imit)."""
    return page.get_attribute("#chart", "data-ends") or ""


def changes(page):
    """[episode, what] of every change A took while learning."""
    return json.loads(page.get_attribute("#chart", "data-changes") or "[]")


@pytest.mark.slow  # 4 s; tests/DP/test_learning_socket.py checks the same rule in the quick tier
def test_epsilon_changed_mid_run_rules_from_the_next_episode(open_page):
    page = open_page()
    page.select_option("#preset", "cliff")
    expect(page.locator("#status-b")).to_contain_text("一時停止中", timeout=WAIT_MS)
    page.uncheck("#compare")
    expect(page.locator("#box-b")).to_be_hidden()
    note = page.locator("#settings-note")
    page.fill("#epsilon-a", "0.05")
    page.press("#epsilon-a", "Enter")  # the field's value is committed (a "change")
    expect(note).to_contain_text("ε = 0.05 は次のエピソードから使われます")  # paused: it waits
    page.select_option("#speed", "30")
    page.click("#start")
    wait_for(page, lambda: len(ends(page)) >= 60)
    page.fill("#epsilon-a", "1")
    page.press("#epsilon-a", "Enter")
    expect(note).to_contain_text("から ε = 1で学んでいます", timeout=WAIT_MS)
    wait_for(page, lambda: any(what == "ε = 1" for _, what in changes(page)))
    n = next(episode for episode, what in changes(page) if what == "ε = 1")
    assert n > 60
    wait_for(page, lambda: len(ends(page)) >= n + 29)
    # Read at once: the chart's points and how each episode ended (the page keeps drawing).
    shown, drawn = page.eval_on_selector(
        "#chart", "chart => [chart.dataset.ends, Number(chart.dataset.points)]")
    # ε = 0.05: a few falls into the Danger; ε = 1 from episode n on: a random walk along the
    # Danger row falls in almost every time. Nothing started again in between.
    assert shown[n - 31:n - 1].count("d") <= 15 and shown[n - 1:n + 29].count("d") >= 25, shown
    assert drawn == len(shown)


def test_a_reward_edit_mid_run_keeps_q_and_the_learner_re_routes(open_page):
    """As in reinforcejs: the Treasure now costs −1 and the Danger pays +1. The learner goes
    on with its Q table, and its greedy route moves to the cell that pays."""
    page = open_page()
    page.select_option("#speed", "30")
    page.click("#start")
    wait_for(page, lambda: episode_shown(page) >= 20)
    shown, triangles = episode_shown(page), coloured_triangles(page)
    for row, column, reward in ((0, 3, "-1"), (1, 3, "1")):
        page.locator(f"#grid-a .cell[data-row='{row}'][data-column='{column}']").click()
        page.fill("#reward", reward)
        page.click("#set-reward")
    note = page.locator("#change-note")
    # "... keep their Q" at once, then "from episode n ... (Q kept)" once the server has it.
    expect(note).to_contain_text(re.compile("学んだ Q (のまま|はそのまま)"))
    assert episode_shown(page) >= shown and coloured_triangles(page) >= triangles
    expect(note).to_contain_text("新しい迷路で学んでいます", timeout=WAIT_MS)
    wait_for(page, lambda: changes(page))
    marks = changes(page)
    assert marks and all(episode > shown for episode, _ in marks), marks
    page.select_option("#speed", "0")
    expect(page.locator("#status-a")).to_contain_text("完了", timeout=WAIT_MS)
    assert points(page) == 500  # every episode once: never started again
    expect(page.locator("#status-a")).to_contain_text("Danger（報酬 +1）まで 4 手")


def test_a_lost_server_is_said_next_to_the_controls(browser):
    context = browser.new_context(viewport=DESKTOP)
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        with fixtures.serving() as url:
            page.goto(url + "learn")
            expect(page.locator("#status-a")).to_contain_text("一時停止中", timeout=WAIT_MS)
        # The server has stopped (as with Ctrl-C): the page says so, in view, not "connecting".
        status = page.locator("#status")
        expect(status).to_contain_text("サーバーとの接続が切れました")
        expect(status).not_to_contain_text("接続しています")
        expect(page.locator("#message")).to_contain_text("python DP/run_server.py")
        box = page.locator("#message").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= DESKTOP["height"]
        expect(page.locator("#start")).to_be_enabled()  # it connects again
        assert errors == []
    finally:
        context.close()


# Every animation frame's timestamp earlier than performance.now() read when the animation
# began: a frame may be stamped so, and the path animation once failed on it.
LATE_CLOCK = """(() => {
    const now = performance.now.bind(performance);
    performance.now = () => now() + 50;
})();"""


def watch_slow_episodes(browser, server_url, speed, count):
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(LATE_CLOCK)
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server_url + "learn")
        expect(page.locator("#status-a")).to_contain_text("一時停止中", timeout=WAIT_MS)
        page.select_option("#speed", speed)
        page.click("#start")
        wait_for(page, lambda: episode_shown(page) >= count)
        page.wait_for_timeout(500)  # the last episode's walk
        assert errors == []
        assert page.get_attribute("#grid-a .episode", "points")
    finally:
        context.close()


def test_the_slow_path_animation_survives_early_frames(browser, server_url):
    watch_slow_episodes(browser, server_url, "3", 3)


@pytest.mark.slow
def test_no_page_error_over_twenty_episodes_at_one_a_second(browser, server_url):
    watch_slow_episodes(browser, server_url, "1", 20)


def test_each_learner_keeps_its_own_settings(open_page):
    page = open_page()
    rows = {name: page.locator(f"#settings tr[data-setting='{name}']")
            for name in ("lambda", "planning_steps")}
    expect(rows["lambda"]).to_be_hidden()  # Q-learning has no λ, and no planning steps
    expect(rows["planning_steps"]).to_be_hidden()
    page.select_option("#learner-a", "sarsa_lambda")
    expect(rows["lambda"]).to_be_visible()
    expect(page.locator("#lambda-a")).to_have_value("0.8")
    page.select_option("#learner-a", "dyna")
    expect(rows["lambda"]).to_be_hidden()
    expect(page.locator("#planning-steps-a")).to_have_value("50")
    # Side by side: B has its own column; Actor-Critic keeps its own 3000 episodes and no ε,
    # while A keeps its 500.
    page.check("#compare")
    page.select_option("#learner-b", "actor_critic")
    expect(page.locator("#episodes-b")).to_have_value("3000")
    expect(page.locator("#epsilon-b")).to_be_disabled()
    expect(page.locator("#episodes-a")).to_have_value("500")
    expect(page.locator("#status-b")).to_contain_text("/ 3000", timeout=WAIT_MS)
    expect(page.locator("#status-a")).to_contain_text("/ 500")
    # The cliff example sets ε = 0.3 for both, and keeps it when a learner is changed.
    page.select_option("#preset", "cliff")
    expect(page.locator("#epsilon-a")).to_have_value("0.3")
    expect(page.locator("#epsilon-b")).to_have_value("0.3")
    page.select_option("#learner-a", "n_step_sarsa")
    expect(page.locator("#epsilon-a")).to_have_value("0.3")
