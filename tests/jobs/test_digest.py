"""The daily digest: what it contains, who gets it, and that it comes once a day."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from deals.digest import queue_digest, send_daily_digests
from followups.models import EmailOutbox
from tests.factories import ActivityFactory, DealFactory, UserFactory
from tests.jobs.conftest import days_ago

pytestmark = pytest.mark.django_db


def digest_for(user):
    sent = [m for m in mail.outbox if m.to == [user.email]]
    assert len(sent) == 1, f"expected one digest for {user}, got {len(sent)}"
    return sent[0]


def test_the_digest_lists_todays_and_overdue_follow_ups_but_not_later_or_done_ones(rep):
    ActivityFactory(owner=rep, subject="Overdue call", due_at=days_ago(2))
    ActivityFactory(owner=rep, subject="Today's meeting", due_at=timezone.now())
    ActivityFactory(owner=rep, subject="Next week", due_at=timezone.now() + dt.timedelta(days=7))
    ActivityFactory(owner=rep, subject="Done already", due_at=days_ago(1), done_at=days_ago(1))

    send_daily_digests()

    body = digest_for(rep).body
    assert "Overdue call" in body
    assert "(overdue)" in body
    assert "Today's meeting" in body
    assert "Next week" not in body
    assert "Done already" not in body


def test_the_digest_lists_newly_stalled_deals_and_passed_close_dates(rep):
    DealFactory(owner=rep, title="Gone cold", stalled=True, stalled_since=timezone.now())
    DealFactory(owner=rep, title="Cold for ages", stalled=True, stalled_since=days_ago(5))
    late = DealFactory(
        owner=rep,
        title="Should have closed",
        expected_close_date=timezone.localdate() - dt.timedelta(1),
    )
    DealFactory(
        owner=rep, title="Lost and late", status="lost", expected_close_date=days_ago(9).date()
    )

    send_daily_digests()

    email = digest_for(rep)
    assert "Gone cold" in email.body
    assert "Cold for ages" not in email.body  # not new since yesterday's digest
    assert "Should have closed" in email.body
    assert f"/deals/{late.pk}/" in email.body
    assert "Lost and late" not in email.body
    html = email.alternatives[0].content
    assert "Should have closed" in html


def test_only_your_own_items_are_in_your_digest(rep, teammate):
    ActivityFactory(owner=teammate, subject="Teammate's call", due_at=days_ago(1))
    ActivityFactory(owner=rep, subject="My call", due_at=days_ago(1))
    send_daily_digests()
    assert "Teammate's call" not in digest_for(rep).body
    assert "My call" not in digest_for(teammate).body


def test_a_user_who_opted_out_gets_no_digest(rep):
    rep.digest_opt_out = True
    rep.save()
    ActivityFactory(owner=rep, due_at=days_ago(1))

    assert send_daily_digests() == 0
    assert mail.outbox == []


def test_nobody_gets_an_empty_digest(rep):
    ActivityFactory(owner=rep, due_at=timezone.now() + dt.timedelta(days=3))
    assert send_daily_digests() == 0
    assert mail.outbox == []


def test_users_without_email_or_inactive_get_none(rep):
    no_email = UserFactory(email="")
    inactive = UserFactory(is_active=False)
    for user in (no_email, inactive):
        ActivityFactory(owner=user, due_at=days_ago(1))
    ActivityFactory(owner=rep, due_at=days_ago(1))

    assert send_daily_digests() == 1
    assert [m.to for m in mail.outbox] == [[rep.email]]


def test_the_digest_is_sent_once_a_day_however_often_the_job_runs(rep):
    ActivityFactory(owner=rep, due_at=days_ago(1))
    send_daily_digests()
    send_daily_digests()
    assert len(mail.outbox) == 1
    assert EmailOutbox.objects.filter(key__startswith=f"digest:{rep.pk}:").count() == 1

    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert queue_digest(user=rep, now=tomorrow)  # a new day, a new digest
    assert EmailOutbox.objects.filter(key__startswith=f"digest:{rep.pk}:").count() == 2


def test_one_users_broken_digest_does_not_cost_the_others_theirs(rep, teammate, monkeypatch):
    from deals import digest

    ActivityFactory(owner=rep, due_at=days_ago(1))
    ActivityFactory(owner=teammate, due_at=days_ago(1))
    real_build = digest.build_digest

    def build(user, *, now):
        if user == rep:
            raise ValueError("bad data")
        return real_build(user, now=now)

    monkeypatch.setattr(digest, "build_digest", build)
    assert send_daily_digests() == 1
    assert [m.to for m in mail.outbox] == [[teammate.email]]
