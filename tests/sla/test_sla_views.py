"""The SLA settings pages: roles (agent 403, manager reads, admin changes) and validation errors."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse

from mentions.sla.businesstime import END_OF_DAY
from mentions.sla.models import BusinessCalendar, SlaPolicy

pytestmark = pytest.mark.django_db


def calendar_data(**overrides):
    data = {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "custom_holidays": "2026-12-31 New Year's Eve\n2026-12-24",
        "day_0": "09:00-12:00, 13:00-17:00",
        "day_1": "09:00-17:00",
        "day_2": "09:00-17:00",
        "day_3": "09:00-17:00",
        "day_4": "09:00-15:00",
        "day_5": "",
        "day_6": "",
    }
    data.update(overrides)
    return data


def policy_data(calendar, **overrides):
    data = {
        "name": "Urgent DMs",
        "calendar": calendar.pk,
        "is_active": "on",
        "first_response_minutes": "15",
        "next_response_minutes": "30",
        "resolution_minutes": "",
        "warning_share": "80",
        "kinds": ["dm"],
        "priorities": ["4"],
        "min_followers": "",
        "verified": "",
        "languages": "en, DE",
        "tags": "",
    }
    data.update(overrides)
    return data


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def calendar(default_policy):
    return default_policy.calendar


def all_urls(calendar, policy):
    return [
        reverse("sla:settings"),
        reverse("sla:calendar", args=[calendar.pk]),
        reverse("sla:calendar-edit", args=[calendar.pk]),
        reverse("sla:calendar-create"),
        reverse("sla:policy", args=[policy.pk]),
        reverse("sla:policy-edit", args=[policy.pk]),
        reverse("sla:policy-create"),
    ]


def test_anonymous_visitors_are_sent_to_the_login(client, default_policy):
    response = client.get(reverse("sla:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_agents_get_403_on_every_page(client, agent, calendar, default_policy):
    login(client, agent)
    for url in all_urls(calendar, default_policy):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("sla:policy-reapply")).status_code == 403


def test_managers_read_but_cannot_change(client, manager, calendar, default_policy):
    login(client, manager)
    page = client.get(reverse("sla:settings"))
    assert page.status_code == 200
    assert b"Default" in page.content
    assert b"Read only" in page.content
    assert b"New policy" not in page.content
    assert client.get(reverse("sla:calendar", args=[calendar.pk])).status_code == 200
    assert (
        client.get(reverse("sla:policy", args=[default_policy.pk])).status_code == 200
    )
    assert client.get(reverse("sla:calendar-create")).status_code == 403
    assert (
        client.get(reverse("sla:policy-edit", args=[default_policy.pk])).status_code
        == 403
    )
    response = client.post(reverse("sla:calendar-create"), calendar_data())
    assert response.status_code == 403
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()
    assert client.post(reverse("sla:policy-reapply")).status_code == 403
    assert (
        client.post(
            reverse("sla:policy-move", args=[default_policy.pk]), {"direction": "up"}
        ).status_code
        == 403
    )


def test_an_admin_creates_a_calendar_with_several_intervals_and_holidays(
    client, admin_user, default_policy
):
    login(client, admin_user)
    response = client.post(
        reverse("sla:calendar-create"), calendar_data(day_6="10:00-24:00")
    )
    cal = BusinessCalendar.objects.get(name="Berlin office")
    assert response.status_code == 302
    assert response["Location"] == reverse("sla:calendar", args=[cal.pk])
    assert list(
        cal.intervals.filter(weekday=0).values_list("opens_at", "closes_at")
    ) == [
        (time(9), time(12)),
        (time(13), time(17)),
    ]
    assert cal.intervals.get(weekday=6).closes_at == END_OF_DAY
    assert sorted(str(h.date) for h in cal.holidays.all()) == [
        "2026-12-24",
        "2026-12-31",
    ]
    assert (cal.holiday_country, cal.holiday_subdivision) == ("DE", "BE")
    page = client.get(reverse("sla:calendar", args=[cal.pk]))
    assert b"09:00-12:00, 13:00-17:00" in page.content
    assert b"10:00-24:00" in page.content


def test_editing_a_calendar_replaces_its_hours(client, admin_user, default_policy):
    login(client, admin_user)
    client.post(reverse("sla:calendar-create"), calendar_data())
    cal = BusinessCalendar.objects.get(name="Berlin office")
    form = client.get(reverse("sla:calendar-edit", args=[cal.pk]))
    assert b"09:00-12:00, 13:00-17:00" in form.content
    client.post(
        reverse("sla:calendar-edit", args=[cal.pk]),
        calendar_data(day_0="08:00-16:00", custom_holidays=""),
    )
    assert list(cal.intervals.filter(weekday=0).values_list("opens_at", flat=True)) == [
        time(8)
    ]
    assert not cal.holidays.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {f"day_{d}": "" for d in range(7)},
            "The calendar has no open hours: add an interval or make it 24/7.",
        ),
        (
            {"day_0": "09:00-12:00, 11:00-14:00"},
            "Monday: 09:00-12:00 overlaps 11:00-14:00.",
        ),
        ({"day_2": "17:00-09:00"}, "Wednesday: 17:00-09:00 closes before it opens"),
        (
            {"day_1": "nine to five"},
            "Tuesday: &#x27;nine to five&#x27; is not an interval",
        ),
        (
            {"time_zone": "Mars/Olympus"},
            "Unknown time zone Mars/Olympus: pick an IANA zone",
        ),
        ({"holiday_subdivision": "ZZ"}, "DE has no subdivision &#x27;ZZ&#x27;"),
        ({"custom_holidays": "31/12/2026"}, "write one date per line as YYYY-MM-DD"),
    ],
)
def test_a_bad_calendar_is_refused_with_a_clear_message_and_changes_nothing(
    client, admin_user, default_policy, overrides, message
):
    login(client, admin_user)
    response = client.post(reverse("sla:calendar-create"), calendar_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BusinessCalendar.objects.filter(name="Berlin office").exists()


def test_an_always_open_calendar_needs_no_hours(client, admin_user, default_policy):
    login(client, admin_user)
    data = calendar_data(
        name="Night shift",
        is_always_open="on",
        holiday_country="",
        holiday_subdivision="",
    )
    data.update({f"day_{d}": "" for d in range(7)})
    assert client.post(reverse("sla:calendar-create"), data).status_code == 302
    assert BusinessCalendar.objects.get(name="Night shift").is_always_open


def test_an_admin_creates_a_policy_with_conditions_and_targets(
    client, admin_user, calendar
):
    login(client, admin_user)
    response = client.post(reverse("sla:policy-create"), policy_data(calendar))
    policy = SlaPolicy.objects.get(name="Urgent DMs")
    assert response.status_code == 302
    assert policy.conditions == {
        "kinds": ["dm"],
        "priorities": [4],
        "languages": ["de", "en"],
    }
    assert (policy.first_response_minutes, policy.resolution_minutes) == (15, None)
    assert policy.warning_share == 80
    settings_page = client.get(reverse("sla:settings")).content.decode()
    assert "kind dm · priority 4 · language de, en" in settings_page
    # New policies go before the default.
    assert settings_page.index("Urgent DMs") < settings_page.index(">Default<")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"first_response_minutes": "", "next_response_minutes": ""},
            "Set at least one target (first response, next response or resolution).",
        ),
        ({"first_response_minutes": "0"}, "A target is at least 1 minute."),
        ({"warning_share": "100"}, "between 1 and 99"),
        (
            {"is_default": "on"},
            "The default policy applies when no other policy matches",
        ),
        (
            {"is_default": "on", "kinds": [], "priorities": [], "languages": ""},
            "&#x27;Default&#x27; is already the default policy",
        ),
    ],
)
def test_a_bad_policy_is_refused_with_a_clear_message_and_changes_nothing(
    client, admin_user, calendar, overrides, message
):
    login(client, admin_user)
    response = client.post(
        reverse("sla:policy-create"), policy_data(calendar, **overrides)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SlaPolicy.objects.filter(name="Urgent DMs").exists()


def test_an_admin_reorders_policies_with_htmx(client, admin_user, calendar):
    login(client, admin_user)
    a = SlaPolicy.objects.create(
        name="A", position=10, calendar=calendar, first_response_minutes=5
    )
    b = SlaPolicy.objects.create(
        name="B", position=20, calendar=calendar, first_response_minutes=5
    )
    response = client.post(
        reverse("sla:policy-move", args=[b.pk]),
        {"direction": "up"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="policy-table">')
    assert body.index(">B<") < body.index(">A<")
    a.refresh_from_db()
    b.refresh_from_db()
    assert b.position < a.position


def test_the_reapply_button_lists_the_mentions_that_changed(
    client, admin_user, default_policy, make_mention
):
    from mentions.sla import services as sla
    from tests.sla.conftest import utc

    m = make_mention(created_at=utc(2026, 11, 23, 10))
    sla.start_clocks([m.pk], now=m.created_at)
    default_policy.first_response_minutes = 30
    default_policy.save()
    login(client, admin_user)
    response = client.post(reverse("sla:policy-reapply"))
    body = response.content.decode()
    assert "1 open mention changed" in body
    assert reverse("mentions:detail", args=[m.pk]) in body
    assert "Mon 23 Nov 11:00 UTC" in body
    assert "Mon 23 Nov 10:30 UTC" in body


def test_the_settings_page_takes_the_same_queries_however_many_policies(
    client, manager, calendar
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("sla:settings")).status_code == 200
        return len(ctx.captured_queries)

    queries()  # warm the per-user role cache the navigation reads
    few = queries()
    for n in range(15):
        SlaPolicy.objects.create(
            name=f"P{n}", position=n, calendar=calendar, first_response_minutes=5
        )
    assert queries() == few
