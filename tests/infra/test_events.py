"""pipeline_crm.events: DURING listeners share the service's transaction, AFTER_COMMIT listeners
run once it commits (never after a rollback), and one failing listener costs no other."""

import logging
from collections import defaultdict
from dataclasses import dataclass

import pytest
from django.db import connection, transaction

from accounts.models import Team
from pipeline_crm import events
from pipeline_crm.events import AFTER_COMMIT, DURING, announce, listens_to

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Happened:
    name: str


@dataclass(frozen=True)
class HappenedToo(Happened):
    pass


class Undone(Exception):
    pass


def announce_then_roll_back(event, *, seen_inside=None):
    """Announce in a transaction that then fails; `seen_inside()` is read before it rolls back."""
    inside = None
    try:
        with transaction.atomic():
            announce(event)
            inside = seen_inside() if seen_inside else None
            raise Undone
    except Undone:
        return inside


@pytest.fixture(autouse=True)
def own_listeners(monkeypatch):
    """The apps' listeners stay out of these tests, and these tests' listeners out of the apps."""
    monkeypatch.setattr(events, "_listeners", {phase: defaultdict(list) for phase in events.Phase})


def test_a_during_listener_runs_at_once_inside_the_transaction(django_capture_on_commit_callbacks):
    seen = []

    @listens_to(Happened, phase=DURING)
    def record(event):
        seen.append((event.name, connection.in_atomic_block))

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        announce(Happened("a"))
        assert seen == [("a", True)]  # before the transaction ends

    assert callbacks == []  # nothing left for after the commit


def test_what_a_during_listener_writes_rolls_back_with_the_transaction():
    @listens_to(Happened, phase=DURING)
    def write(event):
        Team.objects.create(name=event.name)

    written = Team.objects.filter(name="Written then undone")

    existed = announce_then_roll_back(Happened("Written then undone"), seen_inside=written.exists)

    assert existed
    assert not written.exists()


def test_an_after_commit_listener_runs_once_after_the_outermost_commit(
    django_capture_on_commit_callbacks,
):
    seen = []

    @listens_to(Happened, phase=AFTER_COMMIT)
    def record(event):
        seen.append(event.name)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            with transaction.atomic():  # a service calling another: still one delivery
                announce(Happened("a"))
            assert seen == []
        assert seen == []  # the test's own transaction stands for the outermost one

    assert len(callbacks) == 1
    assert seen == ["a"]


def test_an_after_commit_listener_never_runs_after_a_rollback(django_capture_on_commit_callbacks):
    seen = []

    @listens_to(Happened, phase=AFTER_COMMIT)
    def record(event):
        seen.append(event.name)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        announce_then_roll_back(Happened("undone"))
        announce(Happened("kept"))

    assert len(callbacks) == 1
    assert seen == ["kept"]


@pytest.mark.django_db(transaction=True)
def test_after_a_real_commit_the_listener_runs_once_and_after_a_real_rollback_never():
    seen = []

    @listens_to(Happened, phase=AFTER_COMMIT)
    def record(event):
        seen.append(event.name)

    with transaction.atomic():
        announce(Happened("committed"))
        assert seen == []
    announce_then_roll_back(Happened("rolled back"))

    assert seen == ["committed"]


def test_a_failing_after_commit_listener_is_logged_and_the_others_still_run(
    django_capture_on_commit_callbacks, caplog
):
    seen = []

    @listens_to(Happened, phase=AFTER_COMMIT)
    def broken(event):
        raise RuntimeError("webhook down")

    @listens_to(Happened, phase=AFTER_COMMIT)
    def record(event):
        seen.append(event.name)

    with (
        caplog.at_level(logging.ERROR, logger="pipeline_crm.events"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        announce(Happened("a"))

    assert seen == ["a"]
    (failure,) = caplog.records
    assert failure.getMessage().startswith("Listener broken failed on Happened(name='a')")
    assert failure.exc_info[0] is RuntimeError


def test_listeners_of_a_base_event_hear_its_subclasses_and_register_once(
    django_capture_on_commit_callbacks,
):
    seen = []

    def record(event):
        seen.append(type(event).__name__)

    listens_to(Happened, phase=DURING)(record)
    listens_to(Happened, phase=DURING)(record)  # a module imported twice

    announce(HappenedToo("b"))
    announce(Happened("a"))

    assert seen == ["HappenedToo", "Happened"]
