"""CSV imports (SPEC §9): the uploaded file, what validating it found, and what committing it did,
so an undo removes exactly what it created and restores what it updated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models

from accounts.visibility import is_admin

if TYPE_CHECKING:
    from accounts.visibility import Caller


class ImportQuerySet(models.QuerySet["Import"]):
    def visible_to(self, user: Caller) -> Self:
        """One's own imports; an admin sees everyone's."""
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(created_by=user.pk)


class Import(models.Model):
    class Kind(models.TextChoices):
        COMPANIES = "companies", "Companies"
        CONTACTS = "contacts", "Contacts"
        LEADS = "leads", "Leads"
        DEALS = "deals", "Deals"

    class Status(models.TextChoices):
        VALIDATING = "validating", "Validating"
        READY = "ready", "Ready to import"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        UNDONE = "undone", "Undone"
        FAILED = "failed", "Failed"

    class OnDuplicate(models.TextChoices):
        SKIP = "skip", "Skip the row"
        UPDATE = "update", "Update the existing record"

    class Mode(models.TextChoices):
        VALID_ROWS = "valid_rows", "Valid rows only"
        ALL_OR_NOTHING = "all_or_nothing", "All or nothing"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALIDATING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imports"
    )
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_name = models.CharField(max_length=255, blank=True, default="")
    # CSV header → field name, as applied (the caller's mapping completed with the headers that
    # name a field themselves).
    mapping = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=list, blank=True)
    on_duplicate = models.CharField(
        max_length=6, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    mode = models.CharField(max_length=14, choices=Mode.choices, blank=True, default="")
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Why the whole file failed (not UTF-8, no header…), empty otherwise.
    failure = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_owner_idx")]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.kind} ({self.status})"


class RowError(models.Model):
    """One reason a row of the file cannot be imported. `row` is the spreadsheet row (the
    header is row 1); `column` the CSV header at fault, empty for the whole row."""

    batch = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=200, blank=True, default="")
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["batch", "row"], name="import_rowerror_idx")]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.message}"


class ImportedRecord(models.Model):
    """A record an import created or updated. `written`: the values the import left (a deal:
    its version), compared at undo to tell whether someone changed the record since;
    `previous`: for an update, the values it had before, which undo puts back."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    batch = models.ForeignKey(Import, on_delete=models.CASCADE, related_name="records")
    model = models.CharField(max_length=10)  # company | contact | lead | deal
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=7, choices=Action.choices)
    written = models.JSONField(default=dict, blank=True)
    previous = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["batch", "model"], name="import_record_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.model} {self.object_id}"


class SavedMapping(models.Model):
    """The last mapping a user applied to a kind of import, offered again next time."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings"
    )
    kind = models.CharField(max_length=10, choices=Import.Kind.choices)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="import_mapping_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"
