"""Pipelines, stages, deals and their history (SPEC §2, §3).

Nothing here changes the pipeline: the rules live in `deals.services`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Lower

from accounts.visibility import OwnedQuerySet

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class Pipeline(models.Model):
    name = models.CharField(max_length=120, unique=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default(cls) -> Pipeline | None:
        return cls.objects.filter(is_default=True).first() or cls.objects.first()


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        POST_SALE = "post_sale", "Post-sale"

    # Deal fields an admin may require before a deal enters a stage.
    REQUIRABLE_FIELDS = ("amount", "expected_close_date", "company", "contact", "next_step")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=80)
    order = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OPEN)
    probability = models.PositiveSmallIntegerField(default=10, validators=PERCENT)
    stall_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days without a move or activity before a deal stalls."
    )
    required_fields = models.JSONField(default=list, blank=True)
    guidance = models.TextField(blank=True, default="")
    is_commit = models.BooleanField(
        default=False, help_text="Count open deals here as commit whatever their probability."
    )

    class Meta:
        ordering = ["pipeline", "order"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="stage_order_unique"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100),
                name="stage_probability_0_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_won(self) -> bool:
        return self.kind == self.Kind.WON

    @property
    def deal_status(self) -> str:
        """The status a deal takes on entering this stage: open in an open stage, won in a won
        or post-sale one (a customer being onboarded is a won deal)."""
        return Deal.Status.OPEN if self.kind == self.Kind.OPEN else Deal.Status.WON


def effective_probability(stage_probability: Any = None) -> Coalesce:
    """A deal's win probability in percent, as SQL: its override, else its stage's (or, when
    given, another figure per stage, such as the learned probabilities of the forecast).

    The one definition of the rule: the API, the deal page, the board's weighted totals, the
    forecast and the daily snapshots all use it. The running column totals' trigger (migration
    0010) keeps its own copy in SQL, held to this one by a test.
    """
    stage_figure = F("stage__probability") if stage_probability is None else stage_probability
    return Coalesce("probability_override", stage_figure, output_field=models.IntegerField())


class LostReasonQuerySet(models.QuerySet["LostReason"]):
    def offered(self) -> LostReasonQuerySet:
        """The reasons a user may pick when a deal is lost, in the admins' order."""
        return self.filter(active=True).order_by("order", "id")

    def named(self, name: str) -> LostReason | None:
        """The reason with this name, whatever its case and surrounding spaces."""
        return self.filter(name__iexact=(name or "").strip()).first()


class LostReason(models.Model):
    """One entry of the admin-kept list of reasons a deal is lost for (SPEC §9).

    A deal points at one; an entry that `allows_other` (an "Other") also takes free text, which
    the deal keeps as its `lost_reason_detail`. Entries are deactivated, never deleted, so lost
    deals keep theirs."""

    name = models.CharField(max_length=300)
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    allows_other = models.BooleanField(
        default=False, help_text="Picking it asks for free text (an “Other” entry)."
    )

    objects = LostReasonQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="lost_reason_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class DealQuerySet(OwnedQuerySet["Deal"]):
    def open(self) -> DealQuerySet:
        return self.filter(status=Deal.Status.OPEN)

    def with_effective_probability(self, stage_probability: Any = None) -> DealQuerySet:
        """Annotate `effective_probability` (see `effective_probability`)."""
        annotated: DealQuerySet = self.annotate(
            effective_probability=effective_probability(stage_probability)
        )
        return annotated

    def matching(self, text: str) -> DealQuerySet:
        """Deals whose title, company name or contact's name contains `text` (any case; a
        contact also by "first last").

        A UNION of id lists, not an OR across joins: each side can use its index (the title,
        company and contact name trigram indexes, the foreign keys), so a rare term costs
        milliseconds at 100,000 deals instead of a scan (measured: 5 ms against 120 ms).
        """
        from contacts.models import Company, Contact

        by_title = Deal.objects.filter(title__icontains=text).values("pk")
        companies = Company.objects.filter(name__icontains=text).values("pk")
        by_company = Deal.objects.filter(company_id__in=companies).values("pk")
        names = Q(first_name__icontains=text) | Q(last_name__icontains=text)
        first, _, last = text.strip().partition(" ")
        if last.strip():
            names |= Q(first_name__icontains=first, last_name__icontains=last.strip())
        contacts = Contact.objects.filter(names).values("pk")
        by_contact = Deal.objects.filter(contact_id__in=contacts).values("pk")
        return self.filter(pk__in=by_title.union(by_company, by_contact))

    def for_board(self) -> DealQuerySet:
        return self.select_related("company", "owner", "stage").order_by("position", "id")


class Deal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    title = models.CharField(max_length=200)
    # pipeline, stage and owner lead composite indexes below (close dates, columns, owners):
    # single-column indexes of their own would only slow every write down.
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", db_index=False)
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    expected_close_date = models.DateField(null=True, blank=True)
    probability_override = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=PERCENT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    company = models.ForeignKey(
        "contacts.Company", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    lead = models.ForeignKey(
        "contacts.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    # Sort key within the column: smaller is higher; gaps let a move land between two cards.
    position = models.BigIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    stage_entered_at = models.DateTimeField()
    last_activity_at = models.DateTimeField(null=True, blank=True)
    won_at = models.DateTimeField(null=True, blank=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason, on_delete=models.PROTECT, null=True, blank=True, related_name="deals"
    )
    lost_reason_detail = models.CharField(max_length=300, blank=True, default="")
    next_step = models.CharField(max_length=300, blank=True, default="")
    stalled = models.BooleanField(default=False)
    stall_reasons = models.JSONField(default=list, blank=True)
    stalled_since = models.DateTimeField(null=True, blank=True)
    # Who has been told of the current stall episode: 0 nobody yet, 1 the owner, 2 the managers
    # too. The stall sweep sets it; a new episode starts again from 0.
    stall_notified = models.PositiveSmallIntegerField(default=0)
    close_date_pushes = models.PositiveIntegerField(
        default=0, help_text="How often the expected close date was moved later."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last time the deal moved to a later stage of its pipeline, and the last times its
    # expected close date moved into a later month / quarter: "moved since a day" becomes a
    # range on the deal (the forecast's movement panel). Kept by PostgreSQL triggers on the
    # history (migration 0018), whoever writes it; the application never writes them (a save
    # keeps the stored values). SQLite leaves them unset: movement reads the history there.
    advanced_at = models.DateTimeField(null=True, blank=True, editable=False)
    slipped_month_at = models.DateTimeField(null=True, blank=True, editable=False)
    slipped_quarter_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="deal_amount_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(probability_override__isnull=True)
                | Q(probability_override__gte=0, probability_override__lte=100),
                name="deal_probability_override_0_100",
            ),
        ]
        indexes = [
            models.Index(fields=["stage", "status", "position", "id"], name="deal_column_idx"),
            models.Index(fields=["owner", "status"], name="deal_owner_status_idx"),
            models.Index(
                fields=["pipeline", "status", "expected_close_date"], name="deal_close_idx"
            ),
            # Column totals (count, sum, weighted sum) from the index alone, without the table.
            models.Index(
                fields=["pipeline", "stage", "status", "owner", "amount", "probability_override"],
                name="deal_board_totals_idx",
            ),
            # The forecast's sums: one partial covering index per status, holding every column
            # its queries read, so PostgreSQL answers them from the index alone (index-only
            # scans) instead of visiting pages all over the table. At 1,000,000 deals this
            # took a manager's dashboard from 0.76 s to about 0.2 s.
            models.Index(
                fields=["owner", "expected_close_date"],
                include=["id", "stage", "amount", "probability_override", "currency", "pipeline"],
                condition=models.Q(status="open"),
                name="deal_open_forecast_idx",
            ),
            models.Index(
                fields=["owner", "won_at"],
                include=["id", "status", "amount", "created_at", "currency", "pipeline"],
                condition=models.Q(status="won"),
                name="deal_won_idx",
            ),
            models.Index(
                fields=["owner", "lost_at"],
                include=["id", "status", "currency", "pipeline", "stage", "lost_reason"],
                condition=models.Q(status="lost"),
                name="deal_lost_idx",
            ),
            # Movement since a day: each move a range on one of these, from the index alone.
            *(
                models.Index(
                    fields=[moved],
                    include=["id", "owner", "pipeline", "currency", "amount"],
                    condition=models.Q(**{f"{moved}__isnull": False}),
                    name=f"deal_{moved}_idx",
                )
                for moved in ("created_at", "advanced_at", "slipped_month_at", "slipped_quarter_at")
            ),
            # (PostgreSQL also has deal_stalled_amount_idx and deal_open_amount_idx, for the
            # watchlist: migration 0016; SQLite cannot index NULLS LAST.)
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def lost_reason_text(self) -> str:
        """Why it was lost, in words: the list's entry, then the free text given with it."""
        name = self.lost_reason.name if self.lost_reason_id and self.lost_reason else ""
        return ": ".join(part for part in (name, self.lost_reason_detail) if part)


class ColumnTotal(models.Model):
    """Running totals of the deals of one owner in one column and status, for the board headers,
    per currency (a header converts each currency's totals before adding them up).

    PostgreSQL keeps them: triggers on the deal table (migration 0010) add every inserted deal,
    move amounts between rows when a deal's stage, status, owner, amount or override changes,
    and subtract deleted ones, in the same transaction as the change, whatever made it (services,
    admin, COPY). A header then sums a few dozen of these rows instead of counting deals. Not
    kept on SQLite, where the board counts the deals (development sizes).

    Weighted totals need the stage's probability, which an admin may change at any time: deals
    without an override are summed apart (`amount_without_override`) and weighted when read.
    """

    stage = models.ForeignKey(
        Stage, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    status = models.CharField(max_length=4)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    currency = models.CharField(max_length=3, default="")  # the deals' own (migration 0015)
    deals = models.BigIntegerField(default=0)
    amount_sum = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal(0))
    amount_without_override = models.DecimalField(
        max_digits=24, decimal_places=2, default=Decimal(0)
    )
    # Σ amount × override (a percent) over the deals that have an override.
    override_weighted = models.DecimalField(max_digits=28, decimal_places=2, default=Decimal(0))

    objects = OwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "status", "owner", "currency"], name="column_total_key"
            )
        ]

    def __str__(self) -> str:
        return (
            f"stage {self.stage_id} {self.status} owner {self.owner_id} {self.currency}: "
            f"{self.deals} deals"
        )


class StageChange(models.Model):
    """Append-only: one row per move. Funnel and time-in-stage are computed from it."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    # A deleted stage leaves its name behind, so history never loses a step.
    from_stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_stage_name = models.CharField(max_length=80, blank=True, default="")
    to_stage_name = models.CharField(max_length=80, blank=True, default="")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(db_index=True)
    # What the funnel would otherwise recompute from the whole history, kept by PostgreSQL
    # triggers (migration 0015) whoever writes moves: when the stay this move began ended (the
    # deal's next move, else its lost_at), whether the deal later reached a later stage of the
    # same pipeline, and when the deal entered this stage the time before (so "deals that
    # entered in a range" counts first entries, without a DISTINCT). SQLite leaves them unset
    # (the funnel walks the history there).
    left_at = models.DateTimeField(null=True, blank=True, editable=False)
    advanced = models.BooleanField(default=False, editable=False)
    entered_before = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["deal", "at"], name="stagechange_deal_at_idx"),
            # Covering: the funnel reads a range of entries per stage without the table.
            models.Index(
                fields=["to_stage", "at"],
                include=["deal", "left_at", "advanced", "entered_before"],
                name="stagechange_to_at_stay_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"


class FieldChange(models.Model):
    """Append-only: changes of amount, close date, probability, owner and status."""

    TRACKED_FIELDS = ("amount", "expected_close_date", "probability_override", "owner", "status")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="field_changes")
    field = models.CharField(max_length=40)
    old_value = models.CharField(max_length=200, blank=True, default="")
    new_value = models.CharField(max_length=200, blank=True, default="")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["deal", "field", "at"], name="fieldchange_deal_idx")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.field} {self.old_value} → {self.new_value}"


class DeletedDealQuerySet(OwnedQuerySet["DeletedDeal"]):
    def visible_to(self, user: Any) -> DeletedDealQuerySet:
        """The trash shows a deleted deal to whoever could have deleted it: its owner, their
        managers and admins (the write rule, not the read one)."""
        return self.writable_by(user)


class DeletedDeal(models.Model):
    """A deleted deal in the trash (`deals.services.trash`): the rows the delete removed (the
    deal, its history, activities and whatever else pointed at it), serialized, so a restore
    puts them back with their ids. The live tables never hold a deleted deal, so no query of
    the board, the totals, the forecast or the API has to leave one out."""

    deal_id = models.BigIntegerField(unique=True)
    title = models.CharField(max_length=200)
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stage_name = models.CharField(max_length=80, blank=True, default="")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    deleted_at = models.DateTimeField(db_index=True)
    # [{"model": "app.model", "pk": …, "fields": {…}}, …] in insert order (the deal first).
    rows = models.JSONField(default=list)
    # Rows that kept living but lost their link to the deal (SET_NULL): {"app.model.field": [pk…]}
    unlinked = models.JSONField(default=dict, blank=True)

    objects = DeletedDealQuerySet.as_manager()

    class Meta:
        ordering = ["-deleted_at", "-id"]
        indexes = [models.Index(fields=["owner", "deleted_at"], name="deleteddeal_owner_idx")]

    def __str__(self) -> str:
        return self.title
