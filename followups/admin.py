"""Django admin for activities and notifications (admins only).

Activities are written through `followups.services` like everywhere else (the deal they are
logged on is refreshed, reminders re-armed, events announced). Notifications are the system's
messages to one person: read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import ReadOnly, ServiceAdmin, TypedModelAdmin, TypedModelForm
from accounts.models import User
from followups import services
from followups.models import Activity, Notification

# What an activity is about is set when it is logged: no service moves it to another record.
SUBJECT_RECORDS = ["deal", "contact", "lead", "company"]


class ActivityForm(TypedModelForm[Activity]):
    done = forms.BooleanField(
        required=False, help_text="Done now (a note always is). A done activity stays done."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        is_done = self.instance.done_at is not None
        self.fields["done"].initial = is_done
        self.fields["done"].disabled = is_done  # no service reopens an activity


@admin.register(Activity)
class ActivityAdmin(ServiceAdmin[Activity]):
    list_display = ["subject", "kind", "owner", "deal", "due_at", "remind_at", "done_at"]
    list_filter = ["kind", ("done_at", admin.EmptyFieldListFilter), "due_at"]
    search_fields = ["subject", "body", "deal__title"]
    autocomplete_fields = ["owner", "company", "contact"]
    raw_id_fields = ["deal", "lead"]
    list_select_related = ["owner", "deal"]
    show_full_result_count = False
    form = ActivityForm
    fields = [
        "kind",
        "subject",
        "body",
        "owner",
        "due_at",
        "remind_at",
        "done",
        "done_at",
        "reminded_at",
        *SUBJECT_RECORDS,
        "created_at",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Activity | None = None) -> list[str]:
        system = ["done_at", "reminded_at", "created_at"]
        return system + SUBJECT_RECORDS if obj is not None else system

    def create(self, by: User, data: dict[str, Any]) -> Activity:
        logged = ("kind", "subject", "body", "owner", "due_at", "remind_at", "done")
        return services.log_activity(
            by=by, **{name: data[name] for name in (*logged, *SUBJECT_RECORDS)}
        )

    def update(self, by: User, record: Activity, changes: dict[str, Any]) -> Activity:
        done = changes.pop("done", False)
        if changes:
            record = services.update_activity(activity=record, by=by, changes=changes)
        if done:
            record = services.complete_activity(activity=record, by=by)
        return record

    def delete(self, by: User, record: Activity) -> None:
        services.delete_activity(activity=record, by=by)


@admin.register(Notification)
class NotificationAdmin(ReadOnly, TypedModelAdmin[Notification]):
    list_display = ["created_at", "user", "kind", "message", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "user__username", "dedupe_key"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["deal"]
    list_select_related = ["user"]
    show_full_result_count = False
