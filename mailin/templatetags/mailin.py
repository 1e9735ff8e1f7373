"""`{% bcc_address_section %}`: the BCC logging section of My settings (a followups page, which
cannot import this app; a template tag library needs no import)."""

from __future__ import annotations

from typing import Any

from django import template

from mailin.models import BccAddress, InboundMessage

register = template.Library()


@register.inclusion_tag("mailin/bcc_address_section.html", takes_context=True)
def bcc_address_section(context: template.Context) -> dict[str, Any]:
    user = context["request"].user
    return {
        "address": BccAddress.objects.filter(user=user).first(),
        "unmatched": InboundMessage.objects.visible_to(user).unmatched().count(),
        "csrf_token": context.get("csrf_token"),
    }
