"""Activities, notifications and the e-mail outbox moved to the `followups` app.

Only Django's idea of the models moves (state): the tables stay as they are, with their names
(`deals_activity`, `deals_notification`, `deals_emailoutbox`), indexes and rows. `followups`
0001 takes the same models over, pointing at the same tables.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('deals', '0011_forecast_covering_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.RemoveIndex(
                model_name='activity',
                name='activity_reminder_due_idx',
            ),
            migrations.RemoveIndex(
                model_name='activity',
                name='activity_deal_next_idx',
            ),
            migrations.RemoveIndex(
                model_name='emailoutbox',
                name='outbox_pending_idx',
            ),
            migrations.RemoveIndex(
                model_name='notification',
                name='notification_unread_idx',
            ),
            migrations.RemoveConstraint(
                model_name='notification',
                name='notification_dedupe_key_unique',
            ),
            migrations.RemoveField(
                model_name='emailoutbox',
                name='user',
            ),
            migrations.RemoveField(
                model_name='notification',
                name='deal',
            ),
            migrations.RemoveField(
                model_name='notification',
                name='user',
            ),
            migrations.DeleteModel(
                name='Activity',
            ),
            migrations.DeleteModel(
                name='EmailOutbox',
            ),
            migrations.DeleteModel(
                name='Notification',
            ),
            ],
            database_operations=[],
        )
    ]
