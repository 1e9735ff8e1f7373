"""Every main page in a real browser: no console error, no sideways scroll on a 390 px phone,
no serious or critical axe-core finding; filters and the URL agree after Back. Also saves
docs/screenshots/phone.png."""

import re
from pathlib import Path

import pytest

from followups.models import Notification
from tests.browser.test_board_browser import team  # noqa: F401 - the fixture
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    UserFactory,
    stage_named,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# axe-core's serious and critical findings: rule, then up to three elements with their data
# (a contrast finding names both colours and the ratio).
SERIOUS_VIOLATIONS = """async () => {
  const found = (await axe.run(document, {resultTypes: ["violations"]})).violations;
  return found
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => v.id + ": " + v.nodes.slice(0, 3)
      .map((n) => n.target.join(" ") + " " + JSON.stringify((n.any[0] || {}).data || ""))
      .join(" | "));
}"""


@pytest.fixture
def admin(team):  # noqa: F811
    rep, _ = team
    company = CompanyFactory(name="Acme Corp")
    contact = ContactFactory(first_name="Carla", last_name="Cole", company=company)
    deal = DealFactory(owner=rep, title="Acme – Annual licence", company=company, contact=contact)
    DealFactory(owner=rep, title="Globex – Pilot", stage=stage_named("Proposal"))
    LeadFactory(owner=rep, first_name="Lena", last_name="Lead")
    user = UserFactory(username="ada", first_name="Ada", last_name="Admin", role="admin")
    Notification.objects.create(
        user=user, kind="assigned", message="A deal was handed to you.", dedupe_key="a11y-1"
    )
    user.deal_pk = deal.pk
    return user


def main_pages(deal_pk):
    return [
        "/board/",
        f"/deals/{deal_pk}/",
        "/deals/",
        "/activities/",
        "/leads/",
        "/contacts/",
        "/companies/",
        "/forecast/",
        "/forecast/quotas/",
        "/notifications/",
        "/search/?q=acme",
        "/import/",
        "/settings/pipelines/",
        "/settings/users/",
        "/settings/teams/",
        "/settings/webhooks/",
        "/settings/audit/",
        "/settings/me/",
        "/settings/me/api-token/",
        "/settings/me/two-factor/",
        "/api/docs/",
    ]


def visit(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")


def test_no_page_writes_an_error_to_the_console(open_page, admin, live_server):
    page = open_page(admin)
    errors = []
    page.on(
        "console",
        lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
    )
    for path in main_pages(admin.deal_pk):
        visit(page, f"{live_server.url}{path}")

    assert errors == []
    assert page.errors == []


def test_a_phone_scrolls_no_page_sideways_and_opens_the_nav_from_a_menu(
    open_page, admin, live_server, screenshot
):
    page = open_page(admin, width=390, height=780)
    wide = []
    for path in main_pages(admin.deal_pk):
        visit(page, f"{live_server.url}{path}")
        if page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth"):
            wide.append(path)
    assert not wide, wide

    visit(page, f"{live_server.url}/board/")
    # The board's columns scroll inside their own strip.
    assert page.evaluate("() => document.querySelector('.board-scroller').scrollWidth") > 390
    forecast = page.get_by_role("link", name="Forecast", exact=True)
    assert not forecast.is_visible()
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    for name in ("Board", "Forecast", "Settings"):
        box = page.get_by_role("link", name=name, exact=True).bounding_box()
        assert box["x"] >= 0, name
        assert box["x"] + box["width"] <= 390, name
    assert page.locator(".mainnav .menu-user").inner_text().startswith("Ada")
    screenshot(page, "phone.png")
    page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert not forecast.is_visible()


def test_axe_finds_nothing_serious_or_critical_on_any_main_page(open_page, admin, live_server):
    page = open_page(admin, bypass_csp=True)
    found = {}
    for path in main_pages(admin.deal_pk):
        if path == "/api/docs/":
            continue  # Swagger UI's own page, drawn by its library
        visit(page, f"{live_server.url}{path}")
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(SERIOUS_VIOLATIONS)
        if violations:
            found[path] = violations

    assert not found, "\n".join(f"{path}: {found[path]}" for path in found)


def test_back_after_filtering_the_board_restores_its_controls(open_page, team, live_server):  # noqa: F811
    rep, mate = team
    theirs = DealFactory(owner=mate, title="Theirs")
    DealFactory(owner=rep, title="Won one", status="won", stage=stage_named("Closed"))
    page = open_page(rep)
    clear = page.get_by_role("link", name="Clear filters")
    assert not clear.is_visible()

    page.select_option("#f-owner", "me")
    page.wait_for_url(re.compile(r"owner=me"))
    page.locator(f"#deal-{theirs.pk}").wait_for(state="detached")
    assert clear.is_visible()  # without a reload
    page.select_option("#f-status", "won")
    page.wait_for_url(re.compile(r"status=won"))
    page.locator("#f-q").press_sequentially("Won")
    page.wait_for_url(re.compile(r"q=Won"))

    page.go_back()
    page.wait_for_url(lambda url: "q=Won" not in url)
    assert page.input_value("#f-q") == ""
    assert page.input_value("#f-status") == "won"
    assert page.input_value("#f-owner") == "me"
    page.go_back()
    page.wait_for_url(lambda url: "status=won" not in url)
    assert page.input_value("#f-status") == ""
    assert page.input_value("#f-owner") == "me"
    page.go_back()
    page.locator(f"#deal-{theirs.pk}").wait_for()
    assert page.input_value("#f-owner") == "all"
    assert not page.get_by_role("link", name="Clear filters").is_visible()
    page.go_forward()
    page.locator(f"#deal-{theirs.pk}").wait_for(state="detached")
    assert page.input_value("#f-owner") == "me"
    assert page.get_by_role("link", name="Clear filters").is_visible()


def test_back_after_filtering_the_forecast_restores_its_controls(open_page, admin, live_server):
    page = open_page(admin, path="/forecast/")
    assert page.input_value("#id_period") == "month"

    page.select_option("#id_period", "quarter")
    page.wait_for_url(re.compile(r"period=quarter"))
    page.select_option("#id_probabilities", "learned")
    page.wait_for_url(re.compile(r"probabilities=learned"))

    page.go_back()
    page.wait_for_url(lambda url: "probabilities=learned" not in url)
    assert page.input_value("#id_probabilities") == "configured"
    assert page.input_value("#id_period") == "quarter"
    page.go_back()
    page.wait_for_url(lambda url: "period=quarter" not in url)
    assert page.input_value("#id_period") == "month"


def test_every_control_the_keyboard_reaches_shows_a_focus_ring(open_page, admin, live_server):
    page = open_page(admin, path="/deals/")
    unringed = []
    for _ in range(25):
        page.keyboard.press("Tab")
        ring = page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
                const name = e.tagName + (e.id ? '#' + e.id : '') + ' ' + e.textContent.trim();
                // at least 2 px, and opaque (the fields' own faint :focus ring is not enough)
                const ringed = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                    && !s.outlineColor.startsWith('rgba');
                return [name.slice(0, 40), ringed];
            }"""
        )
        if not ring[1]:
            unringed.append(ring[0])
    assert unringed == []
