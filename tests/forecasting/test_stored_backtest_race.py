"""The nightly backtest stored while another run stores it too (a rerun by hand during the
nightly job, two beat instances): both finish, and one backtest per period is kept. Each
(kind, pipeline) is replaced under `pipeline_crm.db.serialize_on` (PostgreSQL)."""

import pytest
from django.db import connection

from forecasting.models import BacktestPart, StoredBacktest
from forecasting.tasks import store_forecast_backtests
from tests.concurrency import all_at_once
from tests.forecasting.conftest import TODAY

# serialized_rollback comes from tests/conftest.py for every transactional test.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no race to lose")


def test_runs_of_the_nightly_backtest_at_once_all_finish_and_keep_one_of_each(
    people, backtest_world
):
    alone = store_forecast_backtests(TODAY.isoformat())

    outcomes = all_at_once([lambda: store_forecast_backtests(TODAY.isoformat())] * 4)

    assert outcomes == [alone] * 4
    assert StoredBacktest.objects.count() == 32  # 12 months and 4 quarters, × 2 pipelines
    assert BacktestPart.objects.count() == alone
