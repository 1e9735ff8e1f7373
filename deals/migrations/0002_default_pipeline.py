"""The default pipeline of SPEC §2; admins edit it afterwards."""

from django.db import migrations

DEFAULT_STAGES = [
    # name, kind, probability, stall_days, guidance
    ("Prospecting", "open", 10, 14, "Find buyers: cold calls, e-mail outreach, social, referrals. "
     "Build a list that matches the ideal customer profile."),
    ("Qualification", "open", 20, 14, "Check need, budget, authority and timeline. "
     "Drop or park the unqualified."),
    ("Contact", "open", 35, 21, "First real conversation: nurture, understand needs, build trust."),
    ("Proposal", "open", 55, 14, "Present the solution: send a quote or formal proposal, demo or webinar."),
    ("Negotiation", "open", 75, 10, "Price, terms and conditions; answer objections."),
    ("Closed", "won", 100, None, "Contract signed or payment received: the prospect is a customer."),
    ("Post-sale", "post_sale", 100, 30, "Onboarding, follow-up, support, upsell and cross-sell."),
]


def create_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("deals", "Pipeline")
    Stage = apps.get_model("deals", "Stage")
    if Pipeline.objects.exists():
        return
    pipeline = Pipeline.objects.create(name="Sales", is_default=True)
    for order, (name, kind, probability, stall_days, guidance) in enumerate(DEFAULT_STAGES, 1):
        Stage.objects.create(
            pipeline=pipeline,
            name=name,
            order=order,
            kind=kind,
            probability=probability,
            stall_days=stall_days,
            guidance=guidance,
        )


def remove_default_pipeline(apps, schema_editor):
    apps.get_model("deals", "Pipeline").objects.filter(name="Sales", deals__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]
    operations = [migrations.RunPython(create_default_pipeline, remove_default_pipeline)]
