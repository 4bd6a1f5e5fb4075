"""The dashboard page: who may see what, the filters in the URL, bad input."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.dashboard.data import at

URL = reverse("dashboard:overview")
RANGE = "from=2026-03-27&to=2026-03-30"


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_a_role_is_refused(client, db):
    client.force_login(User.objects.create_user("eve", password="password"))
    assert client.get(URL).status_code == 403
    assert client.get(reverse("dashboard:export", args=["mentions"])).status_code == 403


def test_the_page_defaults_to_the_last_seven_days(client, manager, time_machine):
    time_machine.move_to(at(31, 12), tick=False)
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    f = response.context["filters"]
    assert (f.start.isoformat(), f.end.isoformat()) == ("2026-03-25", "2026-03-31")


def test_a_manager_sees_every_agent_and_team(client, manager, world):
    client.force_login(manager)
    response = client.get(f"{URL}?{RANGE}")
    assert response.status_code == 200
    labels = [row.cells[0].label for row in response.context["agent_rows"]]
    assert labels == ["Alice", "Dave", "Unassigned, unanswered"]
    assert {row.cells[0].label for row in response.context["team_rows"]} == {
        "Billing",
        "Tech",
    }
    html = response.content.decode()
    assert "3 still open, not in the median" not in html  # FR: only M3 is open
    assert "1 still open, not in the median" in html
    assert 'id="chart-compliance"' in html
    assert 'id="dashboard-data"' in html


def test_an_agent_sees_only_their_own_figures_even_when_asking_for_another_agent(
    agent_client, world
):
    dave = world["dave"]
    response = agent_client.get(f"{URL}?{RANGE}&agent={dave.pk}")
    assert response.status_code == 200
    d = response.context["d"]
    assert response.context["filters"].agent == world["alice"].pk
    assert [r.label for r in d.agents] == ["Alice"]
    assert d.teams == []
    assert d.volume.total == 4  # M1, M4, M4b, M6: not Dave's M2
    assert d.target("first_response").late == 0  # Dave's late answer is not hers
    html = response.content.decode()
    assert "Dave</a>" not in html
    assert "Per team" not in html


def test_an_admin_sees_everything(client, admin_user, world):
    client.force_login(admin_user)
    response = client.get(f"{URL}?{RANGE}")
    assert response.context["d"].volume.total == 8


def test_filters_live_in_the_url(client, manager, world):
    client.force_login(manager)
    _s1, s2 = world["streams"]
    response = client.get(f"{URL}?{RANGE}&stream={s2.pk}&kind=post&time=business")
    f = response.context["filters"]
    assert (f.stream, f.kind, f.business) == (s2.pk, "post", True)
    assert response.context["d"].volume.total == 2
    # Links through to the queue keep the filters.
    assert f"stream={s2.pk}" in response.context["range_link"]
    assert "from=2026-03-27" in response.context["range_link"]
    sla_links = [link for _, _, link in response.context["targets"][0].cells[1]]
    assert any("sla=breached" in link and "kind=post" in link for link in sla_links)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-03-30&to=2026-03-01", "starts after it ends"),
        ("from=2020-01-01&to=2026-03-01", "at most 400 days"),
        ("from=yesterday", "Enter a valid date"),
        ("kind=fax", "Select a valid choice"),
    ],
)
def test_bad_filters_get_a_clear_message(client, manager, query, message):
    client.force_login(manager)
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "d" not in response.context
