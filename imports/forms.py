"""The import page's forms: the upload (step 1) and the column mapping (step 2)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from imports.columns import Field
from imports.models import Import

CSV_SUFFIXES = (".csv", ".txt")


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds")
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, comma or semicolon separated, with a header row; at most 50 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,.txt"}),
    )
    on_duplicate = forms.ChoiceField(
        label="When a record already exists (same e-mail or domain)",
        choices=Import.OnDuplicate.choices,
        initial=Import.OnDuplicate.SKIP,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrowing for mypy
        field.choices = [(kind, Import.Kind(kind).label) for kind in kinds]

    def clean_file(self) -> UploadedFile[Any]:
        upload: UploadedFile[Any] = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(CSV_SUFFIXES):
            raise forms.ValidationError(
                f"“{upload.name}” is not a CSV file. Save it from your spreadsheet as "
                "“CSV UTF-8 (.csv)” and choose that file."
            )
        return upload


def mapping_from(data: Any, headers: list[str], known: dict[str, Field]) -> dict[str, str]:
    """The mapping the page's selects give (`map-<column index>` → field name, "" for a
    column not imported); unknown field names are dropped."""
    mapping: dict[str, str] = {}
    for index, header in enumerate(headers):
        field = str(data.get(f"map-{index}", ""))
        mapping[header] = field if field in known else ""
    return mapping
