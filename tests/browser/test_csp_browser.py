"""The Content-Security-Policy in a real browser: the board (drag, the lost-reason dialog), the
forecast charts, the people pages, settings and the API docs work with no CSP violation."""

import pytest

from deals.models import Deal
from tests.browser.test_board_browser import drag, team  # noqa: F401 - the fixture
from tests.factories import DealFactory, LeadFactory, lost_reason_entry, stage_named

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def collect_csp_violations(page):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def test_the_app_works_under_its_content_security_policy(open_page, team, live_server):  # noqa: F811
    rep, _ = team
    deal = DealFactory(owner=rep, title="Doomed", stage=stage_named("Negotiation"))
    DealFactory(owner=rep, title="Growing", stage=stage_named("Proposal"))
    lead = LeadFactory(owner=rep, first_name="Lena", last_name="Lead")
    lost_reason_entry("No budget")
    page = open_page(rep)
    violations = collect_csp_violations(page)
    page.reload()
    page.wait_for_load_state("networkidle")

    drag(page, page.locator(f"#deal-{deal.pk}"), ".dropzone.lost")
    dialog = page.locator("#app-dialog")
    dialog.get_by_label("No budget").check()  # an entry of the admins' list
    dialog.get_by_role("button", name="Mark lost").click()
    page.locator(f"#deal-{deal.pk}").wait_for(state="detached")
    deal.refresh_from_db()
    assert deal.status == Deal.Status.LOST

    page.goto(f"{live_server.url}/forecast/")
    page.wait_for_load_state("networkidle")
    assert page.locator("canvas").count() > 0

    for path in [
        "/leads/",
        f"/leads/{lead.pk}/",
        "/contacts/",
        "/notifications/",
        "/settings/me/",
        "/activities/",
        "/activities/?view=week",
    ]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")

    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()

    assert violations == []
    assert page.errors == []


def test_the_policy_header_forbids_inline_scripts_and_framing(open_page, team, live_server):  # noqa: F811
    rep, _ = team
    page = open_page(rep)

    policy = page.request.get(f"{live_server.url}/board/").headers["content-security-policy"]

    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
