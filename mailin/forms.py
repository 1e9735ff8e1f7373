from __future__ import annotations

from typing import Any, cast

from django import forms

from accounts.models import User
from contacts.models import Contact
from mailin.models import InboundMessage


class AttachForm(forms.Form):
    """Log one of the user's unmatched e-mails on the contact with this address."""

    message = forms.ModelChoiceField(
        queryset=InboundMessage.objects.none(), widget=forms.HiddenInput
    )
    contact_email = forms.EmailField(label="Contact's e-mail")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        message = cast("forms.ModelChoiceField[InboundMessage]", self.fields["message"])
        message.queryset = InboundMessage.objects.visible_to(user).unmatched()

    def clean_contact_email(self) -> Contact:
        address = self.cleaned_data["contact_email"]
        contact = Contact.objects.visible_to(self.user).filter(email__iexact=address).first()
        if contact is None:
            raise forms.ValidationError(
                "No contact has this e-mail address: add the contact first."
            )
        return contact
