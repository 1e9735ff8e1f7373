"""Joins the two lines of running counts made side by side: the funnel's (0004_funnel_day_counts)
and those of the pipeline on a day and movement (0004_pipeline_days, 0005_move_days)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("forecasting", "0004_funnel_day_counts"),
        ("forecasting", "0005_move_days"),
    ]

    operations = []
