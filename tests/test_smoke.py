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
