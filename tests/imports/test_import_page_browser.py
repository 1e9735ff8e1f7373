"""The import page in a real browser: a leads CSV whose e-mail column needs mapping goes
through upload, mapping (with its live preview), the check and the import, and the new leads
are on /leads/. Saves docs/screenshots/import.png (the mapping step)."""

import pytest

from contacts.models import Lead
from imports.models import Import
from tests.browser.conftest import (  # noqa: F401 - the browser fixtures, shared
    chromium,
    open_page,
    screenshot,
    seed_data,
)
from tests.factories import TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LEADS = (
    "First name,Last name,E-mail address,Company,Phone\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines,+44 20 7946 0001\n"
    "Grace,Hopper,grace@example.com,US Navy,+1 202 555 0143\n"
    "Katherine,Johnson,katherine@example.com,NASA Langley,\n"
)


@pytest.fixture
def rep(db):
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="rep")
    TeamFactory(name="North", members=[rita])
    return rita


def test_a_rep_maps_previews_and_imports_a_leads_file(request, rep, tmp_path):
    # The browser fixtures (tests/browser/conftest.py), imported above, by name.
    page = request.getfixturevalue("open_page")(rep, "/leads/")
    save_screenshot = request.getfixturevalue("screenshot")
    page.get_by_role("link", name="Import", exact=True).click()
    page.wait_for_url("**/import/")

    source = tmp_path / "new-leads.csv"
    source.write_text(LEADS, encoding="utf-8")
    page.select_option("#id_kind", "leads")
    page.set_input_files("#id_file", str(source))
    page.get_by_role("button", name="Upload and map the columns").click()

    page.wait_for_selector("text=Map the columns of “new-leads.csv”")
    email = page.get_by_label("E-mail address")
    assert email.input_value() == ""  # nothing names "E-mail address": the user maps it
    assert page.get_by_label("First name").input_value() == "first_name"
    email.select_option("email")
    page.get_by_label("Company", exact=True).select_option("company_name")
    preview = page.locator("#mapping-preview table.preview")
    preview.locator("th", has_text="E-mail address").locator(".to", has_text="E-mail").wait_for()
    assert "ada@example.com" in preview.inner_text()
    page.wait_for_load_state("networkidle")
    save_screenshot(page, "import.png")

    page.get_by_role("button", name="Check every row").click()
    commit = page.get_by_role("button", name="Import valid rows only (3)")
    commit.wait_for()
    page.locator("#recent-imports").get_by_text("Ready to import").wait_for()
    commit.click()
    page.wait_for_selector("text=3 created")
    assert Import.objects.get().status == "done"

    page.get_by_role("link", name="See the leads").click()
    page.wait_for_url("**/leads/")
    listed = page.locator("#results").inner_text()
    for name in ("Ada", "Grace", "Katherine"):
        assert name in listed
    assert set(Lead.objects.values_list("email", flat=True)) == {
        "ada@example.com",
        "grace@example.com",
        "katherine@example.com",
    }
    assert page.errors == []
