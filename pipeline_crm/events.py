"""What the services announce, and who listens: the one place side effects start from.

A service calls `announce(event)` once for each thing that happened (a deal moved, a stage
changed, an activity was logged). Listeners subscribe to an event type with `@listens_to(...)`
in their app's `listeners` module, which the app's `ready()` imports, in one of two phases:

- `DURING`: at once, inside the service's transaction, for records that must commit or roll
  back with the change: a notification row, a deal's last-activity time. Nothing half-written.
- `AFTER_COMMIT`: once the outermost transaction has committed (never if it rolls back), for
  what other processes see: open boards told to reload, Celery tasks queued, webhooks. A failing
  listener is logged and does not undo the committed change or stop the other listeners.

No model signals: a bulk update, a raw COPY or an admin edit reaches listeners exactly when the
service that made it announces it, and a reader sees every effect by grepping for the event.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


class Phase(enum.Enum):
    DURING = "during"
    AFTER_COMMIT = "after_commit"


DURING = Phase.DURING
AFTER_COMMIT = Phase.AFTER_COMMIT

Listener = Callable[[Any], None]

_listeners: dict[Phase, dict[type, list[Listener]]] = {phase: defaultdict(list) for phase in Phase}


def listens_to[L: Listener](*event_types: type, phase: Phase) -> Callable[[L], L]:
    """Decorator: call the function with every announced event of these types, in `phase`."""

    def register(listener: L) -> L:
        for event_type in event_types:
            if listener not in _listeners[phase][event_type]:
                _listeners[phase][event_type].append(listener)
        return listener

    return register


def listeners_of(event_type: type, phase: Phase) -> list[Listener]:
    """The listeners an event of this type reaches (its base classes' listeners too)."""
    found: list[Listener] = []
    for klass in event_type.__mro__:
        found.extend(_listeners[phase].get(klass, ()))
    return found


def announce(event: object) -> None:
    """Tell the listeners: `DURING` ones now, `AFTER_COMMIT` ones once the transaction commits."""
    for listener in listeners_of(type(event), DURING):
        listener(event)
    after = listeners_of(type(event), AFTER_COMMIT)
    if after:
        transaction.on_commit(functools.partial(_deliver_after_commit, event, after))


def _deliver_after_commit(event: object, listeners: list[Listener]) -> None:
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # the change is committed: one listener must not cost the others
            logger.exception(
                "Listener %s failed on %r", getattr(listener, "__name__", listener), event
            )
