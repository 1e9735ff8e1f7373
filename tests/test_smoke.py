import pytest

from deals.models import Pipeline


@pytest.mark.django_db
def test_default_pipeline_has_the_seven_stages_of_the_spec():
    pipeline = Pipeline.objects.get(is_default=True)
    names = list(pipeline.stages.order_by("order").values_list("name", "probability"))
    assert names == [
        ("Prospecting", 10),
        ("Qualification", 20),
        ("Contact", 35),
        ("Proposal", 55),
        ("Negotiation", 75),
        ("Closed", 100),
        ("Post-sale", 100),
    ]


@pytest.mark.django_db
def test_default_pipeline_stages_have_the_order_kind_and_stall_days_of_the_spec():
    """SPEC §2: kinds open/won/post_sale; Closed never stalls (its stall days are "—")."""
    pipeline = Pipeline.objects.get()  # the one pipeline the migrations seed, and the default
    assert pipeline.is_default
    assert Pipeline.default() == pipeline
    stages = list(
        pipeline.stages.order_by("order").values_list("order", "name", "kind", "stall_days")
    )
    assert stages == [
        (1, "Prospecting", "open", 14),
        (2, "Qualification", "open", 14),
        (3, "Contact", "open", 21),
        (4, "Proposal", "open", 14),
        (5, "Negotiation", "open", 10),
        (6, "Closed", "won", None),
        (7, "Post-sale", "post_sale", 30),
    ]
