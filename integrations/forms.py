"""The webhook settings page's form. It only parses input; `integrations.services` decides."""

from __future__ import annotations

from django import forms

from integrations.models import Event, Webhook


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="Payload URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/crm-webhook"}),
    )
    events = forms.MultipleChoiceField(
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    active = forms.BooleanField(label="Active (send deliveries)", required=False, initial=True)
    secret = forms.CharField(
        label="Secret",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Signs every delivery. Leave empty: a new webhook gets one made up, "
        "an existing one keeps its own.",
    )

    @classmethod
    def for_webhook(cls, webhook: Webhook, *, prefix: str) -> WebhookForm:
        initial = {"url": webhook.url, "events": webhook.events, "active": webhook.active}
        return cls(initial=initial, prefix=prefix)
