"""Typed errors the services raise; pages and the API turn them into messages (never a 500).

Every app's services raise these, so a view or the API's exception handler needs to know only
this module: `http_status` says how a refusal is answered, `field` which input was at fault.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A business rule refused the change. `field` names the input at fault, if any."""

    http_status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.field:
            payload[self.field] = [self.message]
        return payload


class NotAllowed(DomainError):
    """The user may see the record but not change it (403)."""

    http_status = 403
    code = "permission_denied"


class StaleVersion(DomainError):
    """Someone changed the record since the caller read it (409); carries it as it is now."""

    http_status = 409
    code = "stale_version"

    def __init__(self, current: Any) -> None:
        super().__init__(
            f"“{current}” was changed by someone else (now version {current.version}). "
            "Reload it and try again.",
            field=None,
        )
        self.current = current


class MissingRequiredFields(DomainError):
    """The target stage requires fields the record lacks."""

    code = "missing_required_fields"

    def __init__(self, stage_name: str, fields: list[str]) -> None:
        labels = ", ".join(f.replace("_", " ") for f in fields)
        super().__init__(f"{stage_name} needs: {labels}.")
        self.stage_name = stage_name
        self.fields = fields

    def as_payload(self) -> dict[str, Any]:
        payload = super().as_payload()
        payload["missing_fields"] = self.fields
        for name in self.fields:
            payload[name] = [f"This field is required to enter {self.stage_name}."]
        return payload


class InvalidTransition(DomainError):
    """The record's status does not allow this step (e.g. moving a lost deal)."""

    code = "invalid_transition"
