"""Joins two branches of work made side by side: column totals per currency (0015) and the
stored stay ends of stage changes with the watchlist indexes (0015, 0016). They touch different
tables and triggers, so the order between them does not matter."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0015_column_totals_per_currency"),
        ("deals", "0016_watchlist_amount_indexes"),
    ]

    operations: list[migrations.operations.base.Operation] = []
