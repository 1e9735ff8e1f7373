"""factory_boy factories for every model tests build."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Team, User
from contacts.models import Company, Contact, Lead
from deals.models import Deal, LostReason, Pipeline, Stage, StageChange
from followups.models import Activity, Notification

# Every test user signs in with this made-up password.
PASSWORD = "pw-for-tests-1"  # noqa: S105


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)

    @factory.post_generation
    def managers(self, create, extracted, **kwargs):
        if create and extracted:
            self.managers.add(*extracted)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    owner = factory.SubFactory(UserFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    company = factory.SubFactory(CompanyFactory)
    owner = factory.SubFactory(UserFactory)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@lead{n}.example")
    company_name = factory.Sequence(lambda n: f"Lead Co {n}")
    source = Lead.Source.REFERRAL
    owner = factory.SubFactory(UserFactory)


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    order = factory.Sequence(lambda n: n + 1)
    kind = Stage.Kind.OPEN
    probability = 20
    stall_days = 14


def default_pipeline() -> Pipeline:
    """The migration-seeded pipeline of SPEC §2."""
    return Pipeline.objects.get(is_default=True)


def stage_named(name: str, pipeline: Pipeline | None = None) -> Stage:
    return (pipeline or default_pipeline()).stages.get(name=name)


def lost_reason_entry(name: str, *, allows_other: bool = False) -> LostReason:
    """The lost-reason list's entry with this name (case aside), added when missing."""
    found = LostReason.objects.named(name)
    if found is None:
        found = LostReason.objects.create(name=name, allows_other=allows_other)
    return found


def lost_for(name: str) -> dict[str, int]:
    """The form/API input that loses a deal for this entry of the list."""
    return {"lost_reason": lost_reason_entry(name).pk}


class DealFactory(factory.django.DjangoModelFactory):
    """A deal in the default pipeline's first stage unless told otherwise (no history rows)."""

    class Meta:
        model = Deal

    title = factory.Sequence(lambda n: f"Deal {n}")
    pipeline = factory.LazyFunction(default_pipeline)
    stage = factory.LazyAttribute(lambda d: d.pipeline.stages.order_by("order").first())
    status = Deal.Status.OPEN
    amount = Decimal("1000.00")
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    owner = factory.SubFactory(UserFactory)
    position = factory.Sequence(lambda n: n * 1024)
    stage_entered_at = factory.LazyFunction(timezone.now)


class StageChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StageChange

    deal = factory.SubFactory(DealFactory)
    to_stage = factory.LazyAttribute(lambda c: c.deal.stage)
    to_stage_name = factory.LazyAttribute(lambda c: c.to_stage.name)
    at = factory.LazyFunction(timezone.now)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.CALL
    subject = factory.Sequence(lambda n: f"Follow-up {n}")
    owner = factory.SubFactory(UserFactory)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    kind = Notification.Kind.REMINDER
    message = "Something happened"
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")


def bulk_deals(owners, count, title="Bulk"):
    """`count` deals in the default pipeline's first five stages, owned in turn by `owners`,
    inserted in a few statements (for lists of hundreds or thousands of rows)."""
    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order"))
    now = timezone.now()
    Deal.objects.bulk_create(
        (
            Deal(
                title=f"{title} {i}",
                pipeline=pipeline,
                stage=stages[i % 5],
                owner=owners[i % len(owners)],
                amount=1000 + i,
                position=i * 1024,
                stage_entered_at=now,
            )
            for i in range(count)
        ),
        batch_size=1000,
    )
