"""Companies, contacts and leads (SPEC §3)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from accounts.visibility import OwnedQuerySet, SharedReadQuerySet


class Company(models.Model):
    class Size(models.TextChoices):
        MICRO = "1-10", "1–10"
        SMALL = "11-50", "11–50"
        MEDIUM = "51-200", "51–200"
        LARGE = "201-1000", "201–1000"
        ENTERPRISE = "1000+", "1000+"

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True, default="")
    industry = models.CharField(max_length=100, blank=True, default="")
    size = models.CharField(max_length=10, choices=Size.choices, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="companies"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SharedReadQuerySet["Company"].as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                Lower("domain"),
                condition=~models.Q(domain=""),
                name="company_domain_unique_ci",
            ),
        ]
        indexes = [models.Index(Lower("name"), name="company_name_lower_idx")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    title = models.CharField(max_length=120, blank=True, default="")
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contacts"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SharedReadQuerySet["Contact"].as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="contact_email_unique_ci"
            ),
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name_order_idx")
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Lead(models.Model):
    class Source(models.TextChoices):
        COLD_CALL = "cold_call", "Cold call"
        EMAIL_CAMPAIGN = "email_campaign", "E-mail campaign"
        SOCIAL = "social", "Social"
        REFERRAL = "referral", "Referral"
        WEB_FORM = "web_form", "Web form"
        EVENT = "event", "Event"
        IMPORT = "import", "Import"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        QUALIFIED = "qualified", "Qualified"
        DISQUALIFIED = "disqualified", "Disqualified"

    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    company_name = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.OTHER)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    need = models.TextField(blank=True, default="")
    budget = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    authority = models.BooleanField(default=False)
    timeline = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leads"
    )
    score = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    # [{"rule_id", "rule", "points"}] of the scoring rules the lead meets (contacts.scoring).
    score_breakdown = models.JSONField(default=list, blank=True)
    # 0–100 from the learned model (people.learned_scoring); null until one is trained.
    learned_score = models.PositiveSmallIntegerField(null=True, blank=True)
    disqualified_reason = models.CharField(max_length=300, blank=True, default="")
    converted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet["Lead"].as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=100), name="lead_score_0_100"
            ),
            models.CheckConstraint(
                condition=models.Q(budget__isnull=True) | models.Q(budget__gte=0),
                name="lead_budget_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"]),
            # The lead list's default order (best score first) walks this index, no full sort.
            models.Index(fields=["-score", "-created_at", "-id"], name="lead_score_order_idx"),
            models.Index(fields=["owner", "-score", "-created_at"], name="lead_owner_score_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.company_name or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ScoringRule(models.Model):
    """A rule of the lead score (SPEC §9): a lead whose `field` meets `operator` `value` gets
    `points` (negative points take some off). `contacts.scoring` says which fields and
    operators exist and checks the value."""

    class Operator(models.TextChoices):
        EQUALS = "equals", "equals"
        CONTAINS = "contains", "contains"
        IN = "in", "is one of"
        GTE = "gte", "≥"
        LTE = "lte", "≤"
        IS_SET = "is_set", "is set"

    field = models.CharField(max_length=40)
    operator = models.CharField(max_length=10, choices=Operator.choices)
    value = models.JSONField(null=True, blank=True)
    points = models.SmallIntegerField(validators=[MinValueValidator(-100), MaxValueValidator(100)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        from contacts.scoring import describe  # the fields' labels live there

        return describe(self)


class ScoringModel(models.Model):
    """A learned lead-score model (logistic regression, people.learned_scoring); the newest
    row is the one in use. `features` holds, per input, its name, weight (on the standardised
    input) and the mean and scale that standardise it."""

    trained_at = models.DateTimeField()
    samples = models.PositiveIntegerField()
    auc = models.FloatField(null=True, blank=True)
    intercept = models.FloatField()
    features = models.JSONField(default=list)

    class Meta:
        ordering = ["-trained_at", "-id"]
        get_latest_by = ["trained_at", "id"]

    def __str__(self) -> str:
        return f"Scoring model of {self.trained_at:%Y-%m-%d %H:%M} ({self.samples} leads)"
