"""Create the demo: role users with fresh passwords, a sandbox brand account and its streams.

Safe to run again: users get new passwords (printed), the brand's tokens are re-issued, streams kept.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from mentions.models import PriorityKeyword, Stream, Team, XAccount
from mentions.roles import Role

# Words that make a support mention urgent (admins edit them in the Django admin).
DEMO_KEYWORDS = {
    "refund": 20,
    "cancel": 20,
    "lawyer": 30,
    "outage": 30,
    "down": 15,
    "charged": 15,
}

DEMO_USERS = (
    ("agent", Role.AGENT, "Alex", False),
    ("manager", Role.MANAGER, "Morgan", False),
    ("admin", Role.ADMIN, "Ada", True),
)


class Command(BaseCommand):
    help = "Create demo users, a sandbox brand account (@EarshotDemo) and its mentions, search and DM streams."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--brand", default="EarshotDemo", help="The sandbox brand's handle."
        )
        parser.add_argument(
            "--password", default="", help="Use this password for every demo user."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.XSANDBOX_ENABLED:
            raise CommandError(
                "The demo needs the sandbox X API: set XSANDBOX_ENABLED=1."
            )
        from mentions.sandbox import services as sandbox

        brand_handle: str = options["brand"]
        with transaction.atomic():
            logins = []
            for username, role, first_name, is_admin in DEMO_USERS:
                password = options["password"] or secrets.token_urlsafe(9)
                user, _ = User.objects.get_or_create(
                    username=username, defaults={"first_name": first_name}
                )
                user.set_password(password)
                user.is_staff = user.is_superuser = is_admin
                user.email = f"{username}@example.com"
                user.save()
                user.groups.set([Group.objects.get(name=role.value)])
                logins.append((username, password, role.value))
            for term, points in DEMO_KEYWORDS.items():
                PriorityKeyword.objects.get_or_create(
                    term=term, defaults={"points": points}
                )
            team, _ = Team.objects.get_or_create(name="Social care")
            team.members.add(*User.objects.filter(username__in=["agent", "manager"]))

            sandbox.set_rate_limit(
                "dm_events", 300, 900
            )  # the real 15/15 min would make the demo DMs slow
            brand = sandbox.get_or_create_user(
                brand_handle, "Earshot Demo", followers_count=48_200, verified=True
            )
            client = sandbox.create_oauth_client(
                settings.X_CLIENT_ID or "earshot-demo", settings.X_CLIENT_SECRET
            )
            token = sandbox.issue_user_token(brand, client=client)
            account, _ = XAccount.objects.update_or_create(
                x_user_id=brand.x_id,
                defaults={
                    "handle": brand.username,
                    "display_name": brand.name,
                    "access_token": token.access_token,
                    "refresh_token": token.refresh_token or "",
                    "token_expires_at": token.expires_at,
                    "app_bearer_token": sandbox.issue_app_token("earshot-demo"),
                    "scopes": token.scope,
                },
            )
            now = timezone.now()
            streams = [
                (Stream.Kind.MENTIONS, "@mentions", "", 10),
                (
                    Stream.Kind.SEARCH,
                    "Brand search",
                    f'(@{brand.username} OR "earshot demo" OR earshot) -is:retweet -from:{brand.username}',
                    15,
                ),
                (Stream.Kind.DMS, "Direct messages", "", 10),
            ]
            for kind, name, query, interval in streams:
                Stream.objects.get_or_create(
                    account=account,
                    kind=kind,
                    name=name,
                    defaults={
                        "query": query,
                        "team": team,
                        "poll_interval_seconds": interval,
                        "next_poll_at": now,
                    },
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo brand @{brand.username} with {len(streams)} streams is ready."
            )
        )
        for username, password, role_name in logins:
            self.stdout.write(
                f"  login {username:<8} password {password:<14} ({role_name})"
            )
