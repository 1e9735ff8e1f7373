"""Races run for real: each attempt in a thread of its own, with its own database connection
and transaction (tests marked `django_db(transaction=True)`, on PostgreSQL)."""

import threading


def all_at_once(attempts):
    """Run each attempt in a thread of its own (its own connection and transaction), all let go
    at the same moment; returns what each returned, or the exception it raised."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        from django.db import connection as thread_connection

        try:
            thread_connection.ensure_connection()
            barrier.wait(timeout=60)
            outcomes[index] = attempt()
        except Exception as exc:  # reported by the test's assertions
            outcomes[index] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return outcomes


def raised(outcomes):
    """The exceptions among all_at_once's outcomes."""
    return [outcome for outcome in outcomes if isinstance(outcome, Exception)]
