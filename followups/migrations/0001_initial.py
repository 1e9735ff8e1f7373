"""Activities, notifications and the e-mail outbox, taken over from `deals` (its 0012).

State only: the tables exist already (created by the `deals` migrations) and keep their names.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contacts', '0003_search_trigram_indexes'),
        ('deals', '0012_move_followups_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='Activity',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('call', 'Call'), ('email', 'E-mail'), ('meeting', 'Meeting'), ('task', 'Task'), ('note', 'Note')], default='task', max_length=10)),
                    ('subject', models.CharField(max_length=200)),
                    ('body', models.TextField(blank=True, default='')),
                    ('due_at', models.DateTimeField(blank=True, null=True)),
                    ('remind_at', models.DateTimeField(blank=True, null=True)),
                    ('done_at', models.DateTimeField(blank=True, null=True)),
                    ('reminded_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('company', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='contacts.company')),
                    ('contact', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='contacts.contact')),
                    ('deal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='deals.deal')),
                    ('lead', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='contacts.lead')),
                    ('owner', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='activities', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name_plural': 'activities',
                    'db_table': 'deals_activity',
                    'ordering': ['-created_at', '-id'],
                    'indexes': [models.Index(condition=models.Q(('done_at__isnull', True), ('remind_at__isnull', False), ('reminded_at__isnull', True)), fields=['remind_at'], name='activity_reminder_due_idx'), models.Index(fields=['deal', 'done_at', 'due_at'], name='activity_deal_next_idx')],
                },
            ),
            migrations.CreateModel(
                name='EmailOutbox',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('key', models.CharField(max_length=200, unique=True)),
                    ('to', models.CharField(max_length=254)),
                    ('subject', models.CharField(max_length=300)),
                    ('body', models.TextField()),
                    ('html_body', models.TextField(blank=True, default='')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('next_attempt_at', models.DateTimeField()),
                    ('attempts', models.PositiveIntegerField(default=0)),
                    ('last_error', models.TextField(blank=True, default='')),
                    ('sent_at', models.DateTimeField(blank=True, null=True)),
                    ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name_plural': 'e-mail outbox',
                    'db_table': 'deals_emailoutbox',
                    'ordering': ['created_at', 'id'],
                    'indexes': [models.Index(condition=models.Q(('sent_at__isnull', True)), fields=['next_attempt_at'], name='outbox_pending_idx')],
                },
            ),
            migrations.CreateModel(
                name='Notification',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('reminder', 'Reminder'), ('stalled', 'Stalled deal'), ('assigned', 'Assignment'), ('digest', 'Digest')], max_length=10)),
                    ('message', models.CharField(max_length=500)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('read_at', models.DateTimeField(blank=True, null=True)),
                    ('dedupe_key', models.CharField(max_length=200)),
                    ('deal', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='deals.deal')),
                    ('user', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'deals_notification',
                    'ordering': ['-created_at', '-id'],
                    'indexes': [models.Index(fields=['user', 'read_at'], name='notification_unread_idx')],
                    'constraints': [models.UniqueConstraint(fields=('dedupe_key',), name='notification_dedupe_key_unique')],
                },
            ),
            ],
            database_operations=[],
        )
    ]
