"""What every URL answers to each person: the rules the access matrix checks
(test_url_access_matrix.py). Every named URL of the URL conf needs an entry here; /admin/ is
summarised by ADMIN_SAMPLES.

A row lists the statuses of, in order: anonymous, rep, teammate, outsider, manager,
other_manager, admin. The records are rep's (team A: `teammate` reads them, `manager` writes
them; team B's `outsider` and `other_manager` do not see them). The rule everywhere:

- anonymous: LOGIN (302 to the login form) on pages, 401 on the API;
- out of sight: 404, exactly as a record that does not exist;
- visible but not yours to change: 403;
- admins-only settings pages: 404 to everyone else, as if they did not exist; the API's
  admins-only endpoints (users, teams, pipelines and stages writes, webhooks): 403, since
  DRF permission classes answer before any record is read and the endpoints are documented.

To add a URL: name it, then add `"<name>": Rule(methods={...})` below with one row per method
its view accepts (the test tells which), a `kwargs` entry if its `pk` is not guessed from the
name (url_matrix.PK_BY_NAME_PREFIX), and `bodies` for unsafe methods that must carry valid
input to reach the permission check.
"""

from collections.abc import Callable
from typing import Any

from tests.factories import CompanyFactory, ContactFactory, LeadFactory
from tests.security.url_matrix import LOGIN, Expected, Rule
from tests.security.url_world import ACTORS, World


def row(*codes: int | str) -> Expected:
    assert len(codes) == len(ACTORS)
    return dict(zip(ACTORS, codes, strict=True))


def everyone(code: int, *, anonymous: int | str = LOGIN) -> Expected:
    """Every signed-in person gets `code`."""
    return row(anonymous, code, code, code, code, code, code)


def public(code: int | str = 200) -> Expected:
    return row(code, code, code, code, code, code, code)


def team_reads(code: int = 200, *, anonymous: int | str = LOGIN) -> Expected:
    """rep's record read: team A and the admin see it, team B gets 404."""
    return row(anonymous, code, code, 404, code, 404, code)


def team_writes(code: int, *, anonymous: int | str = LOGIN) -> Expected:
    """rep's record changed: the teammate sees it but may not (403), team B gets 404."""
    return row(anonymous, code, 403, 404, code, 404, code)


def shared_writes(code: int, *, anonymous: int | str = LOGIN) -> Expected:
    """A company or contact of rep's changed: everyone reads them, only rep, the manager and
    the admin change them."""
    return row(anonymous, code, 403, 403, code, 403, code)


def own_only(code: int, *, anonymous: int | str = LOGIN, admin: int = 404) -> Expected:
    """Rep's own (a notification, an import): nobody else's business."""
    return row(anonymous, code, 404, 404, 404, 404, admin)


def admin_page(code: int) -> Expected:
    return row(LOGIN, 404, 404, 404, 404, 404, code)


def admin_api(code: int) -> Expected:
    return row(401, 403, 403, 403, 403, 403, code)


API = {"anonymous": 401}


def api(expected: Expected) -> Expected:
    return {**expected, **API}


def _second_stage(world: World) -> int:
    return world.pipeline.stages.order_by("order")[1].pk


def _move(world: World) -> dict[str, Any]:
    return {"stage": _second_stage(world), "version": world.deal.version}


def _other(kind: str) -> Callable[[World], dict[str, Any]]:
    """A merge's body: `other`, a second record of rep's of that kind, made for the request."""
    factories = {"company": CompanyFactory, "contact": ContactFactory, "lead": LeadFactory}

    def body(world: World) -> dict[str, Any]:
        return {"other": factories[kind](owner=world.people["rep"]).pk}

    return body


LOST = {"reason": "No budget"}  # the API also takes an entry's name (the older free text)


def _lost_form(world: World) -> dict[str, Any]:
    return {"lost_reason": world.lost_reason.pk}


ACTIVITY = {"kind": "call", "subject": "Call back"}


def _api_list(post: Expected) -> Rule:
    return Rule(methods={"GET": everyone(200, anonymous=401), "POST": post})


def _api_detail(get: Expected, write: Expected, delete: Expected, put: Expected) -> Rule:
    return Rule(methods={"GET": get, "PUT": put, "PATCH": write, "DELETE": delete})


API_READ = api(team_reads())


def _owned_detail(put: dict[str, Any] | None = None) -> Rule:
    """A deal, lead or activity of rep's: read by team A, written by rep and the manager."""
    writes = {"PUT": api(team_writes(200)), "PATCH": api(team_writes(200))}
    return Rule(
        methods={"GET": API_READ, **writes, "DELETE": api(team_writes(204))},
        bodies={"PUT": put} if put else {},
    )


def _shared_detail(put: dict[str, Any]) -> Rule:
    """A company or contact of rep's: read by everyone, written by rep and the manager."""
    writes = {"PUT": api(shared_writes(200)), "PATCH": api(shared_writes(200))}
    return Rule(
        methods={"GET": api(everyone(200)), **writes, "DELETE": api(shared_writes(204))},
        bodies={"PUT": put},
    )


API_RULES: dict[str, Rule] = {
    # Everyone reads users, teams, pipelines and stages; admins alone change them (403).
    "api-user-list": _api_list(admin_api(400)),
    "api-user-detail": _api_detail(
        api(everyone(200)), admin_api(200), admin_api(400), admin_api(200)
    ),
    "api-user-deactivate": Rule(methods={"POST": admin_api(200)}),
    "api-user-reactivate": Rule(methods={"POST": admin_api(400)}),
    "api-user-resend-invitation": Rule(methods={"POST": admin_api(400)}),
    "api-team-list": _api_list(admin_api(400)),
    "api-team-detail": _api_detail(
        api(everyone(200)), admin_api(200), admin_api(204), admin_api(400)
    ),
    "api-pipeline-list": _api_list(admin_api(400)),
    "api-pipeline-detail": _api_detail(
        api(everyone(200)), admin_api(200), admin_api(400), admin_api(400)
    ),
    "api-lost-reason-list": _api_list(admin_api(400)),
    "api-lost-reason-detail": Rule(
        methods={"GET": api(everyone(200)), "PUT": admin_api(400), "PATCH": admin_api(200)}
    ),
    # Exchange rates: everyone reads them, admins alone add (400: no body) and delete them.
    "api-exchange-rate-list": _api_list(admin_api(400)),
    "api-exchange-rate-detail": Rule(methods={"GET": api(everyone(200)), "DELETE": admin_api(204)}),
    "api-stage-list": _api_list(admin_api(400)),
    "api-stage-detail": _api_detail(
        api(everyone(200)), admin_api(200), admin_api(400), admin_api(400)
    ),
    # Deals, leads, activities: the owner rule.
    "api-deal-list": _api_list(api(everyone(400))),
    "api-deal-detail": _owned_detail(put={"title": "Renamed"}),
    "api-deal-history": Rule(methods={"GET": API_READ}),
    "api-deal-move": Rule(methods={"POST": api(team_writes(200))}, bodies={"POST": _move}),
    "api-deal-won": Rule(methods={"POST": api(team_writes(200))}),
    "api-deal-lost": Rule(methods={"POST": api(team_writes(200))}, bodies={"POST": LOST}),
    "api-deal-reopen": Rule(methods={"POST": api(team_writes(400))}),  # it is open
    "api-lead-list": _api_list(api(everyone(400))),
    "api-lead-detail": _owned_detail(),
    "api-lead-convert": Rule(methods={"POST": api(team_writes(201))}),
    "api-lead-disqualify": Rule(methods={"POST": api(team_writes(200))}, bodies={"POST": LOST}),
    "api-lead-scoring-model": Rule(methods={"GET": api(everyone(200))}),
    # Lead scoring rules: everyone reads them, admins alone change them (403).
    "api-scoring-rule-list": _api_list(admin_api(400)),
    "api-scoring-rule-detail": Rule(
        methods={
            "GET": api(everyone(200)),
            "PUT": admin_api(400),
            "PATCH": admin_api(200),
            "DELETE": admin_api(204),
        },
        kwargs={"pk": "scoring_rule"},
    ),
    "api-activity-list": _api_list(api(everyone(400))),
    "api-activity-detail": _owned_detail(put=ACTIVITY),
    "api-activity-complete": Rule(methods={"POST": api(team_writes(200))}),
    # Companies and contacts: everyone reads, the owner rule writes.
    "api-company-list": _api_list(api(everyone(400))),
    "api-company-detail": _shared_detail(put={"name": "Renamed Inc"}),
    "api-contact-list": _api_list(api(everyone(400))),
    "api-contact-detail": _shared_detail(put={"first_name": "Renamed"}),
    "api-company-timeline": Rule(methods={"GET": api(everyone(200))}),
    "api-contact-timeline": Rule(methods={"GET": api(everyone(200))}),
    # Duplicates and merge: a merge needs write access to both records (rep's own here).
    "api-company-duplicates": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-contact-duplicates": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-lead-duplicates": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-company-merge": Rule(
        methods={"POST": api(shared_writes(200))}, bodies={"POST": _other("company")}
    ),
    "api-contact-merge": Rule(
        methods={"POST": api(shared_writes(200))}, bodies={"POST": _other("contact")}
    ),
    "api-lead-merge": Rule(
        methods={"POST": api(team_writes(200))}, bodies={"POST": _other("lead")}
    ),
    "api-lead-convert-preview": Rule(methods={"GET": API_READ}),
    # Notifications and imports: one's own (an admin reads every import).
    "api-notification-list": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-notification-detail": Rule(methods={"GET": api(own_only(200))}),
    "api-notification-read": Rule(methods={"POST": api(own_only(200))}),
    "api-notification-read-all": Rule(methods={"POST": everyone(200, anonymous=401)}),
    "api-import-list": _api_list(api(everyone(400))),
    "api-import-detail": Rule(methods={"GET": api(own_only(200, admin=200))}),
    "api-import-errors-csv": Rule(methods={"GET": api(own_only(200, admin=200))}),
    "api-import-commit": Rule(
        methods={"POST": api(own_only(400, admin=400))}, bodies={"POST": {"mode": "valid_rows"}}
    ),
    "api-import-undo": Rule(methods={"POST": api(own_only(200, admin=200))}),
    # Quotas: rep reads their own, managers of their teams and admins set them.
    "api-quota-list": _api_list(api(everyone(400))),
    "api-quota-detail": Rule(
        methods={
            "GET": row(401, 200, 404, 404, 200, 404, 200),
            "PUT": row(401, 403, 404, 404, 200, 404, 200),
            "PATCH": row(401, 403, 404, 404, 200, 404, 200),
            "DELETE": row(401, 403, 404, 404, 204, 404, 204),
        },
        bodies={
            "PUT": lambda w: {
                "user": w.people["rep"].pk,
                "period": "month",
                "period_start": w.quota.period_start.isoformat(),
                "amount": "20000.00",
            },
            "PATCH": {"amount": "20000.00"},
        },
    ),
    # Webhooks: admins only.
    "api-webhook-list": Rule(methods={"GET": admin_api(200), "POST": admin_api(400)}),
    "api-webhook-detail": _api_detail(
        admin_api(200), admin_api(200), admin_api(204), admin_api(400)
    ),
    "api-webhook-deliveries": Rule(methods={"GET": admin_api(200)}),
    "api-webhook-ping": Rule(methods={"POST": admin_api(202)}),
    "api-webhook-resend": Rule(methods={"POST": admin_api(202)}),
    # The audit log: admins only.
    "api-audit-list": Rule(methods={"GET": admin_api(200)}),
    "api-audit-detail": Rule(methods={"GET": admin_api(200)}),
}


RULES: dict[str, Rule] = {
    # --- project pages ------------------------------------------------------------------------
    "home": Rule(methods={"GET": everyone(302), "POST": everyone(302)}),
    "healthz": Rule(methods={"GET": public()}),
    "favicon": Rule(methods={"GET": public()}),
    "audit-log": Rule(methods={"GET": admin_page(200)}),
    "search": Rule(methods={"GET": everyone(200)}, query="q=deal"),
    # --- sign-in pages (Django's, the password reset form is ours) ---------------------------
    "login": Rule(methods={"GET": public(), "PUT": public(), "POST": public()}),
    "logout": Rule(methods={"POST": public(LOGIN)}),
    "password_change": Rule(
        methods={"GET": everyone(200), "PUT": everyone(200), "POST": everyone(200)}
    ),
    "password_change_done": Rule(methods={"GET": everyone(200)}),
    "password_reset": Rule(methods={"GET": public(), "PUT": public(), "POST": public()}),
    "password_reset_done": Rule(methods={"GET": public()}),
    "password_reset_confirm": Rule(methods={"GET": public(), "PUT": public(), "POST": public()}),
    "password_reset_complete": Rule(methods={"GET": public()}),
    # --- user and team settings (admins) ------------------------------------------------------
    "user-settings": Rule(methods={"GET": admin_page(200)}),
    "user-invite": Rule(methods={"GET": admin_page(200), "POST": admin_page(422)}),
    "user-edit": Rule(methods={"GET": admin_page(200), "POST": admin_page(422)}),
    "user-deactivate": Rule(methods={"GET": admin_page(200), "POST": admin_page(422)}),
    "user-reactivate": Rule(methods={"POST": admin_page(400)}),
    "user-resend-invitation": Rule(methods={"POST": admin_page(400)}),
    "team-settings": Rule(methods={"GET": admin_page(200)}),
    "team-create": Rule(methods={"GET": admin_page(200), "POST": admin_page(422)}),
    "team-edit": Rule(methods={"GET": admin_page(200), "POST": admin_page(422)}),
    "team-delete": Rule(methods={"GET": admin_page(200), "POST": admin_page(302)}),
    # --- my settings ----------------------------------------------------------------------------
    "my-settings": Rule(methods={"GET": everyone(200), "POST": everyone(302)}),
    "my-api-token": Rule(methods={"GET": everyone(200)}),
    # Two-factor sign-in is for admins: the pages do not exist for anyone else (an empty form
    # is a 400 with its errors).
    "my-two-factor": Rule(methods={"GET": admin_page(200)}),
    "my-two-factor-confirm": Rule(methods={"POST": admin_page(400)}),
    "my-two-factor-recovery-codes": Rule(methods={"POST": admin_page(400)}),
    "my-two-factor-disable": Rule(methods={"POST": admin_page(400)}),
    # The code step without a password step first sends back to the login form.
    "login-code": Rule(methods={"GET": public(LOGIN), "POST": public(LOGIN)}),
    "my-api-token-revoke": Rule(methods={"POST": everyone(302)}),
    "calendar-revoke": Rule(methods={"POST": everyone(302)}),
    # BCC logging: one's own address and unmatched mail (an empty attach form is a 400; a
    # message that is not the caller's is no choice of theirs, as a missing one).
    "bcc-address-new": Rule(methods={"POST": everyone(302)}),
    "bcc-address-revoke": Rule(methods={"POST": everyone(302)}),
    "mail-unmatched": Rule(methods={"GET": everyone(200)}),
    "mail-unmatched-attach": Rule(methods={"POST": everyone(400)}),
    # The token is the key (calendar apps cannot sign in): whoever holds it reads rep's feed.
    "calendar-feed": Rule(methods={"GET": public()}),
    # --- the board ------------------------------------------------------------------------------
    "board": Rule(methods={"GET": everyone(200)}),
    "board-pipeline": Rule(methods={"GET": everyone(200)}),
    "board-live": Rule(methods={"GET": everyone(204)}, query="v=0"),
    "board-cards": Rule(methods={"GET": everyone(200)}),
    "board-quick-add": Rule(
        methods={"GET": everyone(200), "POST": everyone(201)},
        bodies={"POST": {"title": "Quick one", "amount": "5"}},
    ),
    # --- a deal ---------------------------------------------------------------------------------
    "deal-detail": Rule(methods={"GET": team_reads()}),
    "deal-move": Rule(methods={"POST": team_writes(200)}, bodies={"POST": _move}),
    "deal-won": Rule(methods={"POST": team_writes(200)}),
    "deal-lost": Rule(
        methods={"GET": team_reads(), "POST": team_writes(200)}, bodies={"POST": _lost_form}
    ),
    "deal-reopen": Rule(methods={"POST": team_writes(400)}),  # an open deal: nothing to reopen
    "deal-delete": Rule(methods={"POST": team_writes(302)}),
    "deal-field": Rule(
        methods={"GET": team_reads(), "POST": team_writes(200)},
        bodies={"POST": {"title": "Renamed"}},
    ),
    "deal-field-edit": Rule(methods={"GET": team_reads()}),
    "deal-plan": Rule(
        methods={"POST": team_writes(200)},
        bodies={"POST": {**ACTIVITY, "due_at": "2030-01-02T10:00"}},
    ),
    "deal-log": Rule(methods={"POST": team_writes(200)}, bodies={"POST": ACTIVITY}),
    "activity-complete": Rule(methods={"POST": team_writes(200)}),
    # --- My activities ----------------------------------------------------------------------------
    "my-activities": Rule(methods={"GET": everyone(200)}),
    "activity-done": Rule(methods={"POST": team_writes(200)}, kwargs={"pk": "activity"}),
    "activity-reschedule": Rule(
        methods={"POST": team_writes(200)},
        kwargs={"pk": "activity"},
        bodies={"POST": {"due_at": "2030-01-02T10:00"}},
    ),
    # --- the deals list and trash ---------------------------------------------------------------
    "deal-list": Rule(methods={"GET": everyone(200)}),
    "deal-bulk": Rule(
        methods={"POST": team_writes(302)},
        bodies={"POST": lambda w: {"action": "lost", **_lost_form(w), "ids": [w.deal.pk]}},
    ),
    "deal-trash": Rule(methods={"GET": everyone(200)}),
    # Nothing in the trash: 404 whoever asks.
    "deal-restore": Rule(methods={"POST": everyone(404)}),
    # --- stage settings (admins) ----------------------------------------------------------------
    "lost-reason-settings": Rule(methods={"GET": admin_page(200)}),
    "exchange-rate-settings": Rule(methods={"GET": admin_page(200)}),
    "exchange-rate-create": Rule(methods={"POST": admin_page(422)}),  # no currency
    "exchange-rate-delete": Rule(methods={"POST": admin_page(200)}),
    "lost-reason-create": Rule(methods={"POST": admin_page(422)}),  # no name
    "lost-reason-update": Rule(methods={"POST": admin_page(422)}),
    "lost-reason-shift": Rule(methods={"POST": admin_page(200)}),
    "pipeline-settings": Rule(methods={"GET": admin_page(200)}),
    "pipeline-settings-detail": Rule(methods={"GET": admin_page(200)}),
    "pipeline-create": Rule(methods={"POST": admin_page(400)}),
    "stage-create": Rule(methods={"POST": admin_page(422)}),
    "stage-reorder": Rule(methods={"POST": admin_page(400)}),
    "stage-update": Rule(methods={"POST": admin_page(422)}),
    "stage-shift": Rule(methods={"POST": admin_page(200)}),
    "stage-delete": Rule(methods={"POST": admin_page(422)}),
    # --- notifications --------------------------------------------------------------------------
    "notifications": Rule(methods={"GET": everyone(200)}),
    "notification-bell": Rule(methods={"GET": everyone(200)}),
    "notifications-read-all": Rule(methods={"POST": everyone(302)}),
    "notification-read": Rule(methods={"POST": own_only(302)}),
    "notification-open": Rule(methods={"POST": own_only(302)}),
    # --- leads, contacts, companies -------------------------------------------------------------
    "leads": Rule(methods={"GET": everyone(200)}),
    "lead-create": Rule(methods={"GET": everyone(200), "POST": everyone(400)}),
    "lead-detail": Rule(methods={"GET": team_reads()}),
    "lead-edit": Rule(methods={"GET": team_writes(200), "POST": team_writes(400)}),
    "lead-delete": Rule(methods={"POST": team_writes(302)}),
    "lead-activity": Rule(methods={"POST": team_writes(302)}, bodies={"POST": ACTIVITY}),
    "lead-activity-done": Rule(methods={"POST": team_writes(302)}),
    "lead-convert": Rule(methods={"POST": team_writes(302)}),
    "lead-disqualify": Rule(methods={"POST": team_writes(302)}, bodies={"POST": LOST}),
    "contacts": Rule(methods={"GET": everyone(200)}),
    "contact-create": Rule(methods={"GET": everyone(200), "POST": everyone(400)}),
    "contact-detail": Rule(methods={"GET": everyone(200)}),
    "contact-edit": Rule(methods={"GET": shared_writes(200), "POST": shared_writes(400)}),
    "contact-delete": Rule(methods={"POST": shared_writes(302)}),
    "contact-activity": Rule(methods={"POST": everyone(302)}, bodies={"POST": ACTIVITY}),
    "contact-activity-done": Rule(methods={"POST": team_writes(302)}),
    "contact-timeline": Rule(methods={"GET": everyone(200)}),
    "companies": Rule(methods={"GET": everyone(200)}),
    "company-create": Rule(methods={"GET": everyone(200), "POST": everyone(400)}),
    "company-detail": Rule(methods={"GET": everyone(200)}),
    "company-edit": Rule(methods={"GET": shared_writes(200), "POST": shared_writes(400)}),
    "company-delete": Rule(methods={"POST": shared_writes(302)}),
    "company-activity": Rule(methods={"POST": everyone(302)}, bodies={"POST": ACTIVITY}),
    "company-activity-done": Rule(methods={"POST": team_writes(302)}),
    "company-timeline": Rule(methods={"GET": everyone(200)}),
    "company-options": Rule(methods={"GET": everyone(200)}, query="q=Comp"),
    # Duplicates and merge pages: everyone lists what they see; a merge writes both records.
    "lead-duplicates": Rule(methods={"GET": everyone(200)}),
    "contact-duplicates": Rule(methods={"GET": everyone(200)}),
    "company-duplicates": Rule(methods={"GET": everyone(200)}),
    "lead-similar": Rule(methods={"GET": everyone(200)}, query="email=a%40example.com"),
    "contact-similar": Rule(methods={"GET": everyone(200)}, query="first_name=Ann"),
    "company-similar": Rule(methods={"GET": everyone(200)}, query="name=Comp"),
    "lead-merge": Rule(methods={"POST": team_writes(302)}, bodies={"POST": _other("lead")}),
    "contact-merge": Rule(methods={"POST": shared_writes(302)}, bodies={"POST": _other("contact")}),
    "company-merge": Rule(methods={"POST": shared_writes(302)}, bodies={"POST": _other("company")}),
    # --- forecast -------------------------------------------------------------------------------
    "forecast": Rule(methods={"GET": everyone(200)}),
    "forecast-panel": Rule(methods={"GET": everyone(200)}, kwargs={"name": "=funnel"}),
    "forecast-export": Rule(methods={"GET": everyone(200)}),
    "forecast-movement": Rule(methods={"GET": everyone(200)}),
    "forecast-deal-probability": Rule(methods={"GET": team_reads()}),
    "forecast-movement-deals": Rule(methods={"GET": everyone(200)}, query="kind=won"),
    # Quotas are set by managers and admins; reps get 403 on the page.
    "forecast-quotas": Rule(
        methods={
            "GET": row(LOGIN, 403, 403, 403, 200, 200, 200),
            "POST": row(LOGIN, 403, 403, 403, 400, 400, 400),
        }
    ),
    # rep's own quota: rep reads it but may not change it (403); nobody else in team A sees a
    # rep's personal quota but their manager.
    "forecast-quota-delete": Rule(methods={"POST": row(LOGIN, 403, 404, 404, 302, 404, 302)}),
    # --- lead scoring settings (admins) --------------------------------------------------------
    "scoring-settings": Rule(methods={"GET": admin_page(200)}),
    "scoring-rule-create": Rule(methods={"POST": admin_page(422)}),
    "scoring-rule-edit": Rule(
        methods={"GET": admin_page(200), "POST": admin_page(422)},
        kwargs={"rule_id": "scoring_rule"},
    ),
    "scoring-rule-delete": Rule(
        methods={"POST": admin_page(200)}, kwargs={"rule_id": "scoring_rule"}
    ),
    "scoring-retrain": Rule(methods={"POST": admin_page(200)}),
    # --- webhooks (admins) ----------------------------------------------------------------------
    "webhook-settings": Rule(methods={"GET": admin_page(200)}),
    "webhook-create": Rule(methods={"POST": admin_page(422)}),
    "webhook-detail": Rule(methods={"GET": admin_page(200)}),
    "webhook-update": Rule(methods={"POST": admin_page(422)}),
    "webhook-delete": Rule(methods={"POST": admin_page(200)}),
    "webhook-ping": Rule(methods={"POST": admin_page(200)}),
    "webhook-deliveries": Rule(methods={"GET": admin_page(200)}),
    "webhook-resend": Rule(methods={"POST": admin_page(200)}),
    # --- import (rep's import, done: only rep and the admin see it) -----------------------------
    "import": Rule(methods={"GET": everyone(200), "POST": everyone(422)}),
    "import-mapping": Rule(methods={"GET": everyone(422), "POST": everyone(422)}),
    "import-check": Rule(methods={"POST": everyone(422)}),
    "import-recent": Rule(methods={"GET": everyone(200)}),
    "import-batch": Rule(methods={"GET": own_only(200, admin=200)}),
    "import-commit": Rule(methods={"POST": own_only(422, admin=422)}),  # done already: 422
    "import-undo": Rule(methods={"POST": own_only(200, admin=200)}),
    "import-errors-csv": Rule(methods={"GET": own_only(200, admin=200)}),
    # --- the API --------------------------------------------------------------------------------
    "api-token": Rule(methods={"POST": public(400)}),
    "api-schema": Rule(methods={"GET": public()}),  # the schema names no record: public
    "api-docs": Rule(methods={"GET": public()}),
    "api-search": Rule(methods={"GET": everyone(200, anonymous=401)}, query="q=deal"),
    "api-forecast": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-forecast-accuracy": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-funnel": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-forecast-movement": Rule(methods={"GET": everyone(200, anonymous=401)}),
    "api-forecast-movement-deals": Rule(
        methods={"GET": everyone(200, anonymous=401)}, query="kind=won"
    ),
    **API_RULES,
}


# /admin/ (Django's admin site, ~140 routes) is summarised by a few of its pages: a signed-out
# visitor and every non-admin (not staff) are sent to the admin's login form (302).
ADMIN_SAMPLES: dict[str, Expected] = {
    name: row(302, 302, 302, 302, 302, 302, 200)
    for name in ("admin:index", "admin:deals_deal_changelist", "admin:deals_deal_change")
}
