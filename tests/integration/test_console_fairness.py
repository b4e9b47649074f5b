"""Fairness figures: Jain's index, shares against targets, fair-share factors, CPU-hours in windows."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from apps.core import charts, fairness
from apps.core.exceptions import SchedulerUnavailable

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=dt_timezone.utc)
HOUR = timedelta(hours=1)


def row(owner, cpus, *, submitted, start=None, end=None):
    return (owner, cpus, submitted, start, end)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 1, 1, 1], 1.0),
        ([4, 0, 0, 0], 0.25),
        ([3, 1], 0.8),
        ([2, 1, 1], 16 / 18),
        ([0.5], 1.0),
    ],
)
def test_jains_index_known_values(values, expected):
    assert fairness.jains_index(values) == pytest.approx(expected)


def test_jains_index_undefined_without_usage():
    assert fairness.jains_index([]) is None
    assert fairness.jains_index([0, 0, 0]) is None


def test_jains_index_ignores_scale():
    assert fairness.jains_index([1, 2, 3]) == pytest.approx(fairness.jains_index([10, 20, 30]))


def test_shares_against_equal_targets():
    shares = fairness.shares_against_targets({1: 300.0, 2: 100.0}, {1, 2, 3})

    assert shares[1] == {"share": 0.75, "target": pytest.approx(1 / 3), "ratio": pytest.approx(2.25)}
    assert shares[3]["share"] == 0.0
    assert shares[3]["ratio"] == 0.0
    ratios = [entry["ratio"] for entry in shares.values()]
    # Ratios 2.25, 0.75 and 0: (3)^2 / (3 * (5.0625 + 0.5625)) = 0.5333...
    assert fairness.jains_index(ratios) == pytest.approx(9 / (3 * 5.625))


def test_fairshare_factor_follows_classic_formula():
    factors = fairness.fairshare_factors({1: 300.0, 2: 100.0}, {1, 2})

    # U = 0.75 and 0.25, S = 0.5: F = 2^(-1.5) and 2^(-0.5).
    assert factors[1] == pytest.approx(2 ** -1.5)
    assert factors[2] == pytest.approx(2 ** -0.5)


def test_fairshare_factor_is_one_without_usage():
    assert fairness.fairshare_factors({}, {1, 2}) == {1: 1.0, 2: 1.0}


def test_cpu_seconds_clipped_to_window():
    rows = [
        row(1, 2, submitted=NOW - 30 * HOUR, start=NOW - 26 * HOUR, end=NOW - 22 * HOUR),
        row(2, 4, submitted=NOW - 2 * HOUR, start=NOW - HOUR),
        row(3, 8, submitted=NOW - HOUR),
    ]

    usage = fairness.cpu_seconds_by_user(rows, NOW - 24 * HOUR, NOW, NOW)

    # User 1's job ran 2 of its 4 hours inside the window. User 2's job is
    # still running and counts up to now. User 3's job never started.
    assert usage == {1: 2 * 2 * 3600.0, 2: 4 * 3600.0}


def test_users_with_demand_include_waiting_jobs():
    rows = [
        row(1, 1, submitted=NOW - 3 * HOUR, start=NOW - 3 * HOUR, end=NOW - 2 * HOUR),
        row(2, 1, submitted=NOW - HOUR),
        row(3, 1, submitted=NOW - 50 * HOUR, start=NOW - 50 * HOUR, end=NOW - 49 * HOUR),
    ]

    assert fairness.users_with_demand(rows, NOW - 24 * HOUR, NOW) == {1, 2}


def test_window_summary_counts_starved_user():
    rows = [
        row(1, 4, submitted=NOW - 5 * HOUR, start=NOW - 5 * HOUR, end=NOW - 4 * HOUR),
        row(2, 1, submitted=NOW - 5 * HOUR),
    ]

    summary = fairness.window_summary(rows, NOW - 24 * HOUR, NOW)

    assert summary["users"] == 2
    assert summary["cpu_hours"] == pytest.approx(4.0)
    assert summary["jain"] == pytest.approx(0.5)


def test_trend_has_one_index_per_day():
    rows = [row(1, 1, submitted=NOW - 3 * HOUR, start=NOW - 3 * HOUR, end=NOW - 2 * HOUR)]

    trend = fairness.jain_trend(rows, NOW)

    assert [point["end"] for point in trend] == [NOW - timedelta(days=back) for back in range(6, -1, -1)]
    assert [point["jain"] for point in trend] == [None] * 6 + [1.0]


def test_cpus_in_use_per_bucket():
    rows = [row(1, 2, submitted=NOW - 2 * HOUR, start=NOW - 90 * timedelta(minutes=1))]
    starts = [NOW - 2 * HOUR, NOW - HOUR]

    assert fairness.cpus_in_use(rows, starts, HOUR, NOW) == pytest.approx([1.0, 2.0])


class ReportingBackend:
    def __init__(self, factors):
        self.factors = factors

    def fairshare(self):
        return self.factors


@pytest.mark.django_db
def test_scheduler_factors_mapped_to_users(owner, other_user):
    backend = ReportingBackend({f"u_{owner.pk}": 0.25, "bob": 0.5, "u_unknown": 0.1, "ghost": 0.9})

    assert fairness.scheduler_fairshare(backend) == {owner.pk: 0.25, other_user.pk: 0.5}


class UnreachableBackend:
    name = "slurm"

    def fairshare(self):
        raise SchedulerUnavailable("sshare timed out after 30 s.")


def test_unreachable_scheduler_falls_back():
    assert fairness.scheduler_fairshare(UnreachableBackend()) is None


def test_backend_without_factors_falls_back():
    assert fairness.scheduler_fairshare(ReportingBackend(None)) is None
    assert fairness.scheduler_fairshare(object()) is None


def test_sparkline_leaves_gaps_for_missing_days():
    svg = str(charts.sparkline([None, 0.5, 1.0, None, 0.8], title="trend"))

    assert svg.count("<polyline") == 2
    assert "<title>trend: –, 0.50, 1.00, –, 0.80</title>" in svg


def test_usage_chart_draws_bars_and_line():
    points = [{"start": 0, "cpus": 2.0, "admitted": 3, "rejected": 1}, {"start": 60, "cpus": 0.0, "admitted": 0, "rejected": 0}]

    svg = str(charts.usage_chart(points, title="Last <2> minutes", chart_id="c"))

    assert svg.startswith('<svg id="c"')
    assert svg.count('class="rejected"') == 1
    assert svg.count('class="admitted"') == 1
    assert "Last &lt;2&gt; minutes" in svg
