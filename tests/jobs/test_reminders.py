"""Reminders: one in-app notification and one e-mail per due activity, never more, never early."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from followups import outbox
from followups.models import EmailOutbox, Notification
from followups.reminders import record_due_reminders, send_due_reminders
from followups.services import complete_activity, update_activity
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def reminders_for(user):
    return Notification.objects.filter(user=user, kind=Notification.Kind.REMINDER)


def test_a_due_reminder_notifies_the_owner_in_the_app_and_by_email(rep, due_activity):
    deal = DealFactory(owner=rep, title="Acme renewal")
    activity = due_activity(subject="Call Jane about pricing", deal=deal)

    result = send_due_reminders()

    assert (result.reminded, result.emails_sent) == (1, 1)
    notification = reminders_for(rep).get()
    assert "Call Jane about pricing" in notification.message
    assert notification.deal == deal
    assert notification.read_at is None
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [rep.email]
    assert "Call Jane about pricing" in email.subject
    assert f"/deals/{deal.pk}/" in email.body
    activity.refresh_from_db()
    assert activity.reminded_at is not None


def test_an_activity_handed_to_a_teammate_reminds_its_new_owner(people, due_activity):
    rep, teammate = people["rep"], people["teammate"]
    activity = due_activity(subject="Send the contract")

    update_activity(activity=activity, by=people["manager"], changes={"owner": teammate})
    send_due_reminders()

    assert reminders_for(rep).count() == 0
    assert "Send the contract" in reminders_for(teammate).get().message
    assert [email.to for email in mail.outbox] == [[teammate.email]]


def test_running_the_sweep_again_sends_nothing_more(rep, due_activity):
    due_activity()
    send_due_reminders()
    again = send_due_reminders()

    assert (again.reminded, again.emails_sent) == (0, 0)
    assert reminders_for(rep).count() == 1
    assert len(mail.outbox) == 1
    assert EmailOutbox.objects.get().sent_at is not None


def test_a_reminder_in_the_future_waits_for_its_time(rep, due_activity):
    activity = due_activity(minutes_ago=-10)

    assert send_due_reminders().reminded == 0
    assert not reminders_for(rep).exists()
    assert mail.outbox == []

    activity.remind_at = timezone.now() - dt.timedelta(seconds=1)
    activity.save()
    assert send_due_reminders().reminded == 1


def test_completing_the_activity_before_its_time_cancels_the_reminder(rep, due_activity):
    activity = due_activity(minutes_ago=-10)
    complete_activity(activity=activity, by=rep)
    activity.refresh_from_db()
    activity.remind_at = timezone.now() - dt.timedelta(minutes=1)  # its time comes
    activity.save()

    assert send_due_reminders().reminded == 0
    assert not reminders_for(rep).exists()
    assert mail.outbox == []


def test_rescheduling_moves_the_reminder_to_the_new_time(rep, due_activity):
    activity = due_activity(minutes_ago=-5)
    later = timezone.now() + dt.timedelta(hours=2)
    update_activity(activity=activity, by=rep, changes={"due_at": later, "remind_at": later})

    assert send_due_reminders().reminded == 0  # neither at the old time…

    update_activity(
        activity=activity, by=rep, changes={"remind_at": timezone.now() - dt.timedelta(seconds=1)}
    )
    assert send_due_reminders().reminded == 1  # …but at the new one


def test_rescheduling_after_a_reminder_reminds_again_at_the_new_time(rep, due_activity):
    activity = due_activity()
    send_due_reminders()
    update_activity(
        activity=activity,
        by=rep,
        changes={"remind_at": timezone.now() - dt.timedelta(seconds=1)},
    )

    assert send_due_reminders().reminded == 1
    assert reminders_for(rep).count() == 2
    assert len(mail.outbox) == 2


def test_a_reminder_goes_to_the_activity_owner_only(rep, teammate, due_activity):
    due_activity(owner=teammate)
    send_due_reminders()

    assert not reminders_for(rep).exists()
    assert reminders_for(teammate).count() == 1
    assert mail.outbox[0].to == [teammate.email]


def test_an_owner_without_email_address_still_gets_the_in_app_reminder(rep, due_activity):
    rep.email = ""
    rep.save()
    due_activity()

    send_due_reminders()

    assert reminders_for(rep).count() == 1
    assert mail.outbox == []
    assert not EmailOutbox.objects.exists()


def test_many_due_reminders_are_processed_in_batches(rep, due_activity):
    for _ in range(7):
        due_activity()

    assert record_due_reminders(batch_size=3) == 7
    assert reminders_for(rep).count() == 7


def test_an_email_that_fails_to_send_stays_pending_and_is_retried_later(
    rep, due_activity, monkeypatch
):
    due_activity()

    def broken(row):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(outbox, "_send", broken)
    first = send_due_reminders()
    row = EmailOutbox.objects.get()
    assert (first.reminded, first.emails_sent) == (1, 0)
    assert row.sent_at is None
    assert row.attempts == 1
    assert "mail server down" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert reminders_for(rep).count() == 1  # the in-app reminder did not wait for the e-mail

    monkeypatch.undo()
    EmailOutbox.objects.update(next_attempt_at=timezone.now())
    assert send_due_reminders().emails_sent == 1
    assert len(mail.outbox) == 1


def test_a_sweep_stops_trying_after_a_few_failures_in_a_row(rep, due_activity, monkeypatch):
    for _ in range(5):
        due_activity()
    tried = []

    def broken(row):
        tried.append(row.pk)
        raise OSError("timeout")

    monkeypatch.setattr(outbox, "_send", broken)
    send_due_reminders()

    assert len(tried) == outbox.GIVE_UP_AFTER_FAILURES_IN_A_ROW
    assert EmailOutbox.objects.filter(sent_at__isnull=True).count() == 5


def test_an_email_is_given_up_after_the_last_attempt(rep, due_activity, monkeypatch):
    due_activity()
    record_due_reminders()
    EmailOutbox.objects.update(attempts=EmailOutbox.MAX_ATTEMPTS)

    assert outbox.deliver_pending_emails() == 0
    assert mail.outbox == []


def test_the_sweep_query_count_does_not_grow_with_the_number_of_reminders(
    rep, due_activity, django_assert_max_num_queries
):
    for _ in range(40):
        due_activity(deal=DealFactory(owner=rep))

    with django_assert_max_num_queries(12):
        assert record_due_reminders() == 40


def test_a_subject_with_line_breaks_still_makes_a_valid_email(rep, due_activity):
    due_activity(subject="Call back\nabout the contract")
    assert send_due_reminders().emails_sent == 1
    assert "Call back about the contract" in mail.outbox[0].subject
