"""Column totals per currency: the board converts each currency's totals to the reporting
currency before adding them up (SPEC §9 Money), so a totals row is kept per (stage, status,
owner, currency). The trigger functions of 0010 are redefined with the currency in the key, the
update trigger also fires when a deal's currency changes, and the existing deals are summed
afresh. Nothing happens on SQLite, where the board counts deals."""

from importlib import import_module

from django.conf import settings
from django.db import migrations, models

keeping = import_module("deals.migrations.0010_column_totals")
PER_CURRENCY = (*keeping.KEY, "currency")


def _statements(key: tuple[str, ...]) -> list[str]:
    return [
        *keeping._functions(key),
        "DROP TRIGGER IF EXISTS deal_column_totals_update ON deals_deal",
        keeping._update_trigger(key),
        *keeping._resum(key),
    ]


def _run(*statements: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0014_lost_reasons"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Backwards, last: the 0010 functions and totals once the old key is back.
        migrations.RunPython(migrations.RunPython.noop, _run(*_statements(keeping.KEY))),
        migrations.RemoveConstraint(model_name="columntotal", name="column_total_key"),
        migrations.AddField(
            model_name="columntotal",
            name="currency",
            field=models.CharField(default="", max_length=3),
        ),
        migrations.AddConstraint(
            model_name="columntotal",
            constraint=models.UniqueConstraint(
                fields=("stage", "status", "owner", "currency"), name="column_total_key"
            ),
        ),
        migrations.RunPython(
            _run(*_statements(PER_CURRENCY)), _run("DELETE FROM deals_columntotal")
        ),
    ]
