"""Posting Django admin forms in tests: what a change form would send back unchanged."""

from django import forms

from tests.clients import signed_in


def _field_data(name, field, value):
    if isinstance(field.widget, forms.MultiWidget):  # a split date and time
        parts = field.widget.decompress(value)
        return {f"{name}_{i}": "" if part is None else part for i, part in enumerate(parts)}
    if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        return {name: [str(item) for item in value or ()]}
    if value is None:
        return {name: ""}
    return {name: value}


def change_form_data(response, **changes):
    """The data of the admin form in `response` (a GET of an add or change page) as the browser
    would post it untouched, with the inlines' management forms, then `changes` on top."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if not field.disabled:
            data.update(_field_data(name, field, form[name].value()))
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for item in formset.initial_forms:
            data[item.add_prefix("id")] = item["id"].value()
    data.update(changes)
    return data


def staff_client(admin_user):
    """A client signed in as `admin_user`, who needs staff status for the admin site too."""
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    return signed_in(admin_user)
