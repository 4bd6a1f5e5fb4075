"""The daily rollup: same figures as the live queries, late changes, today live, the task and command."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command

from helpdesk.celery import app as celery_app
from mentions import triage
from mentions.dashboard import bins, rollup
from mentions.dashboard.filters import DashboardFilters
from mentions.dashboard.models import RollupCount, RollupDay, RollupState
from mentions.dashboard.queries import build_dashboard
from mentions.dashboard.sql import percentile_cont
from mentions.dashboard.tasks import refresh_dashboard_rollup_task
from mentions.models import Mention
from mentions.sla import services as sla
from tests.dashboard.data import account, at, clock, mention, streams, teams

FR, NR, RES = "first_response", "next_response", "resolution"
NOW = at(31, 12)  # Tuesday 2026-03-31, noon: the 26th .. 30th are closed days
RANGE = DashboardFilters(start=date(2026, 3, 26), end=date(2026, 3, 31))


def close_enough(rolled, live):
    """Within one bin: under 1 s below bins.EXACT seconds, under 2 % above (bins.py)."""
    if live is None:
        return rolled is None
    return rolled is not None and abs(rolled - live) <= max(
        1.0, (bins.RATIO - 1) * abs(live)
    )


def assert_same_durations(rolled, live):
    assert rolled.count == live.count
    assert close_enough(rolled.median, live.median), (rolled, live)
    assert close_enough(rolled.p90, live.p90), (rolled, live)
    assert rolled.mean == pytest.approx(live.mean)


def assert_same_page(f, *, now=NOW):
    """Every figure from the rollup equals the live computation (percentiles within one bin)."""
    assert rollup.covers(f)
    rolled = rollup.read_dashboard(f, now=now)
    live = build_dashboard(f, now=now)
    for r, lv in zip(rolled.targets, live.targets, strict=True):
        assert (r.target, r.on_time, r.late, r.breached_open, r.active, r.paused) == (
            lv.target, lv.on_time, lv.late, lv.breached_open, lv.active, lv.paused,
        )  # fmt: skip
        assert (r.cancelled, r.channels) == (lv.cancelled, lv.channels)
        assert_same_durations(r.durations, lv.durations)
    for r, lv in zip(rolled.trend, live.trend, strict=True):
        # One day's trend point is computed exactly when the day is built.
        assert (r.at, r.open, r.durations.count) == (lv.at, lv.open, lv.durations.count)
        assert (r.durations.median, r.durations.p90) == pytest.approx(
            (lv.durations.median, lv.durations.p90)
        )
    assert rolled.volume == live.volume
    assert rolled.streams == live.streams
    assert rolled.customers_heatmap == live.customers_heatmap
    assert rolled.answers_heatmap == live.answers_heatmap
    assert_same_durations(rolled.detection_lag, live.detection_lag)
    assert rolled.backlog == live.backlog
    for rows, live_rows in ((rolled.agents, live.agents), (rolled.teams, live.teams)):
        assert [(p.key, p.label, p.handled) for p in rows] == [
            (p.key, p.label, p.handled) for p in live_rows
        ]
        for p, lp in zip(rows, live_rows, strict=True):
            assert (p.on_time, p.late, p.breached_open, p.active) == (
                lp.on_time, lp.late, lp.breached_open, lp.active,
            )  # fmt: skip
            assert_same_durations(p.first_response, lp.first_response)
            assert_same_durations(p.resolution, lp.resolution)
    return rolled


def random_world(rng, agent, dave):
    acct = account()
    s1, s2 = streams(acct)
    t1, t2 = teams()
    for _ in range(60):
        created = at(20 + rng.randrange(12), rng.randrange(24), rng.randrange(60))
        if created > NOW:
            continue
        status = rng.choice(
            ["new", "open", "waiting", "resolved", "resolved", "monitoring", "spam"]
        )
        m = mention(
            acct, created, lag=rng.randrange(0, 400), kind=rng.choice(["post", "dm"]),
            sentiment=rng.choice([None, -0.5, 0.0, 0.7]), team=rng.choice([t1, t2, None]),
            assignee=rng.choice([agent, dave, None]), status=status, priority=rng.randrange(1, 5),
            streams=rng.sample([s1, s2], rng.randrange(0, 3)),
        )  # fmt: skip
        target = rng.choice([FR, FR, NR])
        answer = rng.choice([30, 95, 100, 400, 3000, 90_000, 400_000])
        stopped = created + timedelta(seconds=answer)
        if status in ("monitoring", "spam"):
            clock(
                m,
                target,
                "cancelled",
                stopped_at=min(stopped, NOW),
                cycle=2 if target == NR else 1,
            )
            clock(m, RES, "cancelled", stopped_at=min(stopped, NOW))
            continue
        if stopped < NOW and status != "new":
            clock(m, target, "met", stopped_at=stopped, late=answer > 3600,
                  by=rng.choice([agent, dave]), channel=rng.choice(["reply", "dm", "email", "phone"]),
                  business=answer // 3 if rng.random() < 0.5 else None,
                  cycle=2 if target == NR else 1)  # fmt: skip
        else:
            clock(
                m,
                target,
                rng.choice(["active", "breached"]),
                cycle=2 if target == NR else 1,
            )
        resolved = stopped + timedelta(seconds=rng.randrange(60, 200_000))
        if status == "resolved" and resolved < NOW:
            clock(m, RES, "met", stopped_at=resolved, paused=rng.choice([0, 0, 1800]))
        else:
            clock(m, RES, "paused" if status == "waiting" else "active")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_figures_equal_the_live_figures_for_random_data(agent, dave, seed):
    random_world(random.Random(seed), agent, dave)
    rollup.refresh(now=NOW, backfill_days=100)
    assert set(RollupDay.objects.values_list("day", flat=True)) == {
        date(2026, 3, d) for d in range(20, 31)
    }
    assert_same_page(RANGE)
    assert_same_page(DashboardFilters(start=date(2026, 3, 21), end=date(2026, 3, 29)))
    assert_same_page(
        DashboardFilters(start=date(2026, 3, 22), end=date(2026, 3, 30), business=True)
    )


def test_the_fixed_world_reads_the_same_from_the_rollup(world):
    rollup.refresh(now=NOW, backfill_days=100)
    d = assert_same_page(
        DashboardFilters(start=date(2026, 3, 27), end=date(2026, 3, 30))
    )
    assert d.detection_lag.count == 8


def test_binned_percentiles_are_exact_for_whole_seconds_below_the_log_bins():
    values = [3, 7, 7, 12, 29]
    histogram = sorted((bins.bin_of(v), values.count(v)) for v in set(values))
    assert bins.percentile(histogram, 0.5) == 7
    assert bins.percentile(histogram, 0.9) == pytest.approx(12 + 0.6 * 17)


@pytest.mark.parametrize("seed", range(5))
def test_binned_percentiles_stay_within_one_bin_of_percentile_cont(seed):
    rng = random.Random(seed)
    values = [int(rng.lognormvariate(7, 1.5)) for _ in range(rng.randrange(1, 3000))]
    counts: dict[int, int] = {}
    for v in values:
        counts[bins.bin_of(v)] = counts.get(bins.bin_of(v), 0) + 1
    histogram = sorted(counts.items())
    for p in (0.5, 0.9):
        assert close_enough(bins.percentile(histogram, p), percentile_cont(values, p))


def test_a_page_without_a_built_day_is_computed_live(world):
    assert not rollup.covers(RANGE)
    rollup.refresh(now=NOW, backfill_days=100)
    assert rollup.covers(RANGE)
    assert not rollup.covers(
        DashboardFilters(start=RANGE.start, end=RANGE.end, kind="dm")
    )
    assert not rollup.covers(
        DashboardFilters(start=date(2026, 3, 29), end=date(2026, 3, 30))
    )


def test_todays_partial_day_is_live(world):
    rollup.refresh(now=NOW, backfill_days=100)
    before = rollup.read_dashboard(RANGE, now=NOW).volume.total
    mention(world["account"], at(31, 11), status="new")
    assert not RollupDay.objects.filter(day=date(2026, 3, 31)).exists()
    assert rollup.read_dashboard(RANGE, now=NOW).volume.total == before + 1
    assert_same_page(RANGE)


def test_a_clock_stopped_days_later_shows_at_once_and_after_the_refresh(
    world, time_machine
):
    time_machine.move_to(at(30, 23), tick=False)
    rollup.refresh(now=at(30, 23), backfill_days=100)
    m3 = world["m"][3]  # posted the 28th, first response still open (breached)
    assert rollup.read_dashboard(RANGE, now=NOW).target(FR).breached_open == 1

    time_machine.move_to(NOW, tick=False)
    sla.record_human_answer(m3, at=NOW, channel="reply", user=world["alice"])
    # Before the refresh, the changed day is computed live: the page is not stale.
    assert rollup.live_days(RANGE.start, RANGE.end, now=NOW) >= {date(2026, 3, 28)}
    fr = assert_same_page(RANGE).target(FR)
    assert (fr.breached_open, fr.late) == (0, 2)

    report = rollup.refresh(now=NOW)
    assert date(2026, 3, 28) in report.built
    late = RollupCount.objects.get(
        day=date(2026, 3, 28), measure="outcome", bucket="first_response:late"
    )
    assert late.n == 1
    assert_same_page(RANGE, now=NOW + timedelta(seconds=1))


def test_a_reopened_mention_shows_after_the_refresh(world, time_machine):
    time_machine.move_to(at(30, 23), tick=False)
    rollup.refresh(now=at(30, 23), backfill_days=100)
    assert rollup.read_dashboard(RANGE, now=NOW).volume.by_status["open"] == 2  # M0, M3
    m1 = Mention.objects.get(pk=world["m"][1].pk)  # posted and resolved on the 27th
    time_machine.move_to(NOW, tick=False)
    triage.set_status(m1, Mention.Status.OPEN, actor=world["alice"], now=NOW)
    report = rollup.refresh(now=NOW + timedelta(minutes=1))
    assert date(2026, 3, 27) in report.built
    assert (
        RollupCount.objects.get(
            day=date(2026, 3, 27), measure="status", bucket="open"
        ).n
        == 1
    )
    d = assert_same_page(RANGE, now=NOW + timedelta(minutes=1))
    assert d.volume.by_status["open"] == 3


def test_a_breach_marked_by_the_sweep_reaches_its_closed_day(world, time_machine):
    m = mention(world["account"], at(29, 9), status="open")
    clock(m, FR, "active")  # due an hour after the post
    time_machine.move_to(at(30, 23), tick=False)
    rollup.refresh(now=at(30, 23), backfill_days=100)
    assert sla.mark_breaches(now=NOW)
    report = rollup.refresh(now=NOW + timedelta(minutes=1))
    assert date(2026, 3, 29) in report.built
    assert_same_page(RANGE, now=NOW + timedelta(minutes=1))


def test_the_refresh_fills_missing_days_newest_first(world):
    report = rollup.refresh(now=NOW, backfill_days=3)
    assert report.built == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    report = rollup.refresh(now=NOW, backfill_days=100)
    assert report.built[0] == date(2026, 3, 20)
    assert RollupState.objects.get().changes_seen_at == NOW


def test_the_beat_task_refreshes_the_rollup(world, time_machine):
    time_machine.move_to(NOW, tick=False)
    refresh_dashboard_rollup_task()
    assert RollupDay.objects.filter(day=date(2026, 3, 30)).exists()
    celery_app.loader.import_default_modules()
    celery_app.finalize()
    entry = celery_app.conf.beat_schedule["refresh-dashboard-rollup"]
    assert entry["task"] == refresh_dashboard_rollup_task.name


def test_the_command_rebuilds_a_range(world, capsys, time_machine):
    time_machine.move_to(NOW, tick=False)
    call_command("rollupdashboard", "--from", "2026-03-27", "--to", "2026-03-28")
    assert sorted(RollupDay.objects.values_list("day", flat=True)) == [
        date(2026, 3, 27),
        date(2026, 3, 28),
    ]
    assert "Rebuilt 2 day(s)" in capsys.readouterr().out
    call_command("rollupdashboard", "--all")
    assert RollupDay.objects.count() == 11  # the 20th .. the 30th; today stays live
    call_command("rollupdashboard")
    assert "Refreshed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "is not a date"),
        (["--from", "2026-03-28", "--to", "2026-03-27"], "--to is before --from"),
    ],
)
def test_the_command_refuses_bad_dates(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("rollupdashboard", *args)


def test_the_page_reads_the_rollup(client, manager, world, time_machine):
    time_machine.move_to(NOW, tick=False)
    rollup.refresh(now=NOW, backfill_days=100)
    client.force_login(manager)
    response = client.get("/dashboard/?from=2026-03-27&to=2026-03-30")
    assert response.status_code == 200
    assert response.context["d"] == rollup.read_dashboard(
        DashboardFilters(start=date(2026, 3, 27), end=date(2026, 3, 30)), now=NOW
    )
    fr = response.context["d"].target("first_response").durations
    assert fr.approximate
    assert f"{fr.median_text} <small>median</small>" in response.content.decode()
    assert fr.median_text.startswith("≈ ")


@pytest.mark.parametrize(
    "name", ["sla", "first-response-trend", "backlog", "agents", "teams"]
)
def test_the_table_exports_read_the_rollup_like_the_page(
    client, manager, world, time_machine, name
):
    time_machine.move_to(NOW, tick=False)
    rollup.refresh(now=NOW, backfill_days=100)
    client.force_login(manager)
    query = "from=2026-03-27&to=2026-03-30"
    response = client.get(f"/dashboard/export/{name}.csv?{query}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    d = rollup.read_dashboard(
        DashboardFilters(start=date(2026, 3, 27), end=date(2026, 3, 30)), now=NOW
    )
    if name == "sla":
        fr = d.target("first_response").durations
        assert (
            f"first_response,3,1,1,0,0,1,60.0,{fr.count},{fr.median},{fr.p90}" in body
        )
    elif name == "backlog":
        assert [line.split(",")[1] for line in body.splitlines()[1:]] == [
            str(p.open) for p in d.backlog.points
        ]
    else:
        assert len(body.splitlines()) > 1
