"""A small fixed data set whose every figure the tests work out by hand (see test_queries.py).

Range 2026-03-27 (Fri) .. 2026-03-30 (Mon); Europe's DST starts on Sunday 2026-03-29, so M2's first
response (Fri 16:00 CET -> Mon 10:00 CEST, 66 local hours) lasts 65 real hours; its clock has no
stored elapsed_seconds, so the dashboard's own stop - start fallback is what is tested there. Its
business seconds (Mo-Fr 9-17 Berlin: Fri 16-17 + Mon 9-10 = 2 h) are stored as the SLA service would.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from tests.dashboard.data import account, at, clock, mention, streams, teams

FR, NR, RES = "first_response", "next_response", "resolution"


@pytest.fixture
def dave(db) -> User:
    user = User.objects.create_user(
        username="dave", password="password", first_name="Dave"
    )
    user.groups.add(Group.objects.get_or_create(name="agent")[0])
    return user


@pytest.fixture
def world(db, agent, dave):
    alice = agent
    acct = account()
    s1, s2 = streams(acct)
    t1, t2 = teams()
    m = {}
    # Before the range: still open (backlog baseline) and one resolved inside the range.
    m[0] = mention(acct, at(26, 10), status="open", team=t2)
    clock(m[0], FR, "met", stopped_at=at(26, 10, 1), by=alice, channel="reply")
    clock(m[0], RES, "active")
    m["old"] = mention(acct, at(20, 10), status="resolved")
    clock(m["old"], FR, "met", stopped_at=at(20, 11), by=alice, channel="reply")
    clock(m["old"], RES, "met", stopped_at=at(27, 12))

    m[1] = mention(acct, at(27, 9), lag=30, sentiment=-0.6, team=t1, assignee=alice,
                   status="resolved", priority=3, streams=[s1])  # fmt: skip
    clock(m[1], FR, "met", stopped_at=at(27, 9, 10), by=alice, channel="reply")
    clock(m[1], RES, "met", stopped_at=at(27, 11), paused=1800)

    m[2] = mention(acct, at(27, 15), lag=90, kind="dm", sentiment=0.0, team=t1, assignee=dave,
                   status="resolved", streams=[s1])  # fmt: skip
    clock(m[2], FR, "met", stopped_at=at(30, 8), elapsed=None, business=7200, late=True, by=dave,
          channel="dm")  # fmt: skip
    clock(m[2], RES, "met", stopped_at=at(30, 9), business=10800)

    m[3] = mention(
        acct, at(28, 10), lag=10, sentiment=0.5, team=t2, status="open", streams=[s2]
    )
    clock(m[3], FR, "breached")
    clock(m[3], RES, "active")

    m[4] = mention(acct, at(29, 12), lag=20, team=t2, assignee=alice, status="waiting",
                   streams=[s1, s2])  # fmt: skip
    clock(m[4], FR, "met", stopped_at=at(29, 12, 30), by=alice, channel="email")
    clock(m[4], RES, "paused")
    # The customer's follow-up in the thread: a next-response clock on its own mention (as the SLA
    # service does), paused while waiting on the customer.
    m["4b"] = mention(
        acct, at(29, 14), sentiment=-0.3, team=t2, assignee=alice, status="waiting"
    )
    clock(m["4b"], NR, "paused", cycle=2)

    m[5] = mention(acct, at(30, 8), lag=40, sentiment=0.2, status="monitoring")
    clock(m[5], FR, "cancelled", stopped_at=at(30, 9), elapsed=None)
    clock(m[5], RES, "cancelled", stopped_at=at(30, 9), elapsed=None)

    m[6] = mention(acct, at(30, 20), lag=60, sentiment=-0.05, team=t1, assignee=dave,
                   status="resolved")  # fmt: skip
    clock(m[6], FR, "met", stopped_at=at(30, 20, 5), by=alice, channel="reply")
    clock(m[6], RES, "met", stopped_at=at(30, 22))
    m["6b"] = mention(
        acct, at(30, 20, 10), sentiment=0.9, team=t1, assignee=dave, status="resolved"
    )
    clock(
        m["6b"],
        NR,
        "met",
        stopped_at=at(30, 21, 10),
        late=True,
        by=dave,
        channel="phone",
        cycle=2,
    )

    # After the range: only in "open now".
    m[7] = mention(acct, at(31, 6), status="new")
    clock(m[7], FR, "active")
    clock(m[7], RES, "active")
    return {"alice": alice, "dave": dave, "account": acct, "streams": (s1, s2),
            "teams": (t1, t2), "m": m}  # fmt: skip
