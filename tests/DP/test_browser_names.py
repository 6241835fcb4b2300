"""Every control of both simulator pages has an accessible name, the text a screen reader
announces (Chromium's own accessibility tree, read over the DevTools protocol)."""

import pytest

from tests.DP import browser_fixtures as fixtures
from tests.DP.browser_fixtures import BROWSER_MARKS, DESKTOP, PHONE

browser, server_url = fixtures.browser, fixtures.server_url

pytestmark = BROWSER_MARKS

# The roles of buttons, inputs and selects in the accessibility tree.
CONTROL_ROLES = {"button", "textbox", "spinbutton", "slider", "checkbox", "radio", "combobox",
                 "listbox", "searchbox", "switch", "menuitem", "tab", "link"}
# The five icon-only playback buttons of "/": drawn as icons, announced by these names.
PLAYBACK = {"first": "最初へ", "prev": "1 つ戻る", "play": "再生", "next": "1 つ進む",
            "last": "最後へ"}


def unnamed_controls(page):
    """The controls the accessibility tree holds without a name, as ``(role, DOM id)``."""
    client = page.context.new_cdp_session(page)
    nodes = client.send("Accessibility.getFullAXTree")["nodes"]
    unnamed = []
    for node in nodes:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in CONTROL_ROLES:
            continue
        if not node.get("name", {}).get("value", "").strip():
            described = client.send("DOM.describeNode", {"backendNodeId": node["backendDOMNodeId"]})
            attributes = described["node"].get("attributes", [])
            ids = dict(zip(attributes[::2], attributes[1::2])).get("id")
            unnamed.append((role, ids))
    return unnamed


def controls_in_dom(page):
    """How many buttons, inputs and selects a user can reach (not hidden)."""
    return page.eval_on_selector_all(
        "button, input, select, textarea",
        "els => els.filter(e => e.type !== 'hidden' && !e.hidden && e.getClientRects().length)"
        ".length")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("path", ["", "learn"])
def test_every_control_has_an_accessible_name(browser, server_url, path, viewport):
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        page.goto(server_url + path)
        page.wait_for_selector("body[data-ready='true']")
        assert controls_in_dom(page) > 10
        assert unnamed_controls(page) == []
    finally:
        context.close()


def test_the_playback_buttons_are_announced_in_japanese_and_english(browser, server_url):
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(server_url)
        page.wait_for_selector("body[data-ready='true']")
        for element_id, japanese in PLAYBACK.items():
            button = page.locator(f"#{element_id}")
            name = button.get_attribute("aria-label")
            assert name.startswith(japanese) and "(" in name, (element_id, name)
            assert page.get_by_role("button", name=name, exact=True).count() == 1
    finally:
        context.close()
