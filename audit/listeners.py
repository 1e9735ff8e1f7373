"""What the audit log records from the services' events, each in the transaction of the change
(`DURING`): a change that rolls back leaves no entry, an entry that fails undoes the change.

Sign-ins come from Django's and django-axes's signals instead (`audit.sign_ins`).
"""

from __future__ import annotations

from accounts.events import (
    ApiTokenCreated,
    ApiTokenIssued,
    ApiTokenRevoked,
    RoleChanged,
    TeamManagersChanged,
    TwoFactorChanged,
    UserCreated,
    UserDeactivated,
    UserDeleted,
    UserInvited,
    UserReactivated,
)
from audit.models import Action
from audit.services import record
from contacts.events import RecordsMerged
from imports.events import RecordsImported
from pipeline_crm.csv_files import ExportDownloaded
from pipeline_crm.events import DURING, listens_to


@listens_to(UserCreated, phase=DURING)
def user_created(event: UserCreated) -> None:
    details = {"role": event.user.role}
    record(action=Action.USER_CREATED, actor=event.by, target=event.user, details=details)


@listens_to(UserInvited, phase=DURING)
def user_invited(event: UserInvited) -> None:
    details = {"email": event.user.email, "role": event.user.role}
    record(action=Action.USER_INVITED, actor=event.by, target=event.user, details=details)


@listens_to(UserDeleted, phase=DURING)
def user_deleted(event: UserDeleted) -> None:
    record(
        action=Action.USER_DELETED,
        actor=event.by,
        target_type="user",
        target_id=event.user_id,
        target_label=event.username,
    )


@listens_to(RoleChanged, phase=DURING)
def role_changed(event: RoleChanged) -> None:
    details = {"from": event.old, "to": event.new}
    record(action=Action.ROLE_CHANGED, actor=event.by, target=event.user, details=details)


@listens_to(UserDeactivated, phase=DURING)
def user_deactivated(event: UserDeactivated) -> None:
    details = {"work_to": event.reassign_to.get_username()}
    record(action=Action.USER_DEACTIVATED, actor=event.by, target=event.user, details=details)


@listens_to(UserReactivated, phase=DURING)
def user_reactivated(event: UserReactivated) -> None:
    record(action=Action.USER_REACTIVATED, actor=event.by, target=event.user)


@listens_to(TeamManagersChanged, phase=DURING)
def team_managers_changed(event: TeamManagersChanged) -> None:
    details = {
        "added": [user.get_username() for user in event.added],
        "removed": [user.get_username() for user in event.removed],
    }
    record(action=Action.TEAM_MANAGERS_CHANGED, actor=event.by, target=event.team, details=details)


@listens_to(ApiTokenIssued, phase=DURING)
def api_token_issued(event: ApiTokenIssued) -> None:
    """A sign-in at the token endpoint (a token made for it is `ApiTokenCreated`)."""
    via = {"via": "API token endpoint"}
    record(action=Action.LOGIN, actor=event.user, target=event.user, details=via)


@listens_to(ApiTokenCreated, phase=DURING)
def api_token_created(event: ApiTokenCreated) -> None:
    record(action=Action.TOKEN_CREATED, actor=event.by, target=event.user)


@listens_to(ApiTokenRevoked, phase=DURING)
def api_token_revoked(event: ApiTokenRevoked) -> None:
    record(action=Action.TOKEN_REVOKED, actor=event.by, target=event.user)


@listens_to(TwoFactorChanged, phase=DURING)
def two_factor_changed(event: TwoFactorChanged) -> None:
    details = {"change": event.change}
    record(action=Action.TWO_FACTOR_CHANGED, actor=event.by, target=event.user, details=details)


@listens_to(ExportDownloaded, phase=DURING)
def export_downloaded(event: ExportDownloaded) -> None:
    record(
        action=Action.EXPORT,
        actor=event.user,
        target_type="csv",
        target_label=event.name,
        details={"path": event.path, "filters": event.filters},
    )


@listens_to(RecordsImported, phase=DURING)
def records_imported(event: RecordsImported) -> None:
    record(
        action=Action.IMPORT_UNDONE if event.undone else Action.IMPORT_COMMITTED,
        actor=event.by,
        target_type="import",
        target_id=event.import_id,
        target_label=f"{event.kind} import #{event.import_id}",
        details={"kind": event.kind, "created": event.created, "updated": event.updated},
    )


@listens_to(RecordsMerged, phase=DURING)
def records_merged(event: RecordsMerged) -> None:
    record(
        action=Action.RECORDS_MERGED,
        actor=event.by,
        target_type=event.kind,
        target_id=event.kept_id,
        target_label=event.kept_label,
        details={"merged": {str(pk): label for pk, label in event.merged.items()}},
    )
