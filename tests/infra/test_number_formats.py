"""The one way numbers read on every page: `{% load figures %}` (pipeline_crm/templatetags)."""

import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import number_format

from pipeline_crm.templatetags.figures import count, days, grouped, money, money_short, percent


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("98600.00"), "USD", "$98,600"),
        (Decimal("1234567.5"), "USD", "$1,234,567.50"),
        (Decimal("0.125"), "USD", "$0.13"),  # cents rounded half up
        (12500, "EUR", "€12,500"),
        (Decimal("-40"), "GBP", "-£40"),
        (5000, "sek", "SEK 5,000"),  # no symbol: the code, upper case
        (999, None, "$999"),
    ],
)
def test_money_shows_the_currency_and_groups_thousands(value, currency, shown):
    assert money(value, currency) == shown


def test_short_money_for_column_headers():
    assert [money_short(v) for v in (1250, 98_600, 99_950, 2_400_000, 640)] == [
        "$1.3k",
        "$98.6k",
        "$100k",
        "$2.4M",
        "$640",
    ]


@pytest.mark.parametrize(
    ("share", "shown"),
    [(0.2593, "25.9 %"), (1.0956, "109.6 %"), (0.5, "50.0 %"), (0, "0.0 %"), (12.5, "1,250.0 %")],
)
def test_percent_reads_a_share_as_percent_with_one_decimal(share, shown):
    assert percent(share) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [(12.5, "12.5 days"), (15.0, "15 days"), (1, "1 day"), (0.04, "0 days")]
)
def test_days_with_one_decimal_at_most(value, shown):
    assert days(value) == shown


@pytest.mark.parametrize("formatter", [money, money_short, percent, days, count])
@pytest.mark.parametrize("nothing", [None, "", "not a number", float("nan")])
def test_nothing_reads_as_a_dash(formatter, nothing):
    assert formatter(nothing) == "—"


def test_counts_are_grouped():
    assert (count(12500), count(7)) == ("12,500", "7")


def test_other_languages_use_their_own_separators():
    with translation.override("de"):
        assert money(Decimal("1234567.5"), "EUR") == "€1.234.567,50"
        assert percent(0.2593) == "25,9 %"
        assert days(12.5) == "12,5 days"


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
def test_every_language_groups_as_djangos_number_format_does(language):
    """`grouped` formats groups of three itself (fast) and leaves the others (some languages
    do not group) to `number_format`: the same text either way."""
    values = [Decimal(0), Decimal("-0.5"), Decimal("999.995"), Decimal("-1234567.891")]
    values += [Decimal(10) ** n + Decimal("0.25") for n in range(13)]
    with translation.override(language):
        for value, places in itertools.product(values, (0, 1, 2)):
            rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            expected = number_format(rounded, decimal_pos=places, force_grouping=True)
            assert grouped(value, places) == expected, (value, places)


def test_templates_load_the_filters_and_the_locale_for_charts():
    template = Template(
        "{% load figures %}{{ amount|money:currency }} · {{ rate|percent }} · "
        "{{ cycle|days }} · {{ missing|money }} · {% number_locale %}"
    )
    context = Context({"amount": Decimal("98600.00"), "currency": "EUR", "rate": 0.2593})
    context.update({"cycle": 3, "missing": None})
    assert template.render(context) == "€98,600 · 25.9 % · 3 days · — · en-US"


def test_the_board_reads_money_from_the_same_filters():
    board = Template("{% load board_format %}{{ amount|money:'USD' }} {{ amount|money_short }}")
    assert board.render(Context({"amount": Decimal("98600.00")})) == "$98,600 $98.6k"
