"""Links to deals, for pages and for jobs (which have no request: absolute via SITE_URL)."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse


def deal_path(deal_id: int) -> str:
    try:
        return reverse("deal-detail", args=[deal_id])
    except NoReverseMatch:  # the deal page is another area's; keep its agreed address
        return f"/deals/{deal_id}/"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"
