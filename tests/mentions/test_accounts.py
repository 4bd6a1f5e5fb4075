"""Brand accounts: tokens encrypted at rest, never rendered back, refreshed through the sandbox's OAuth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from mentions import accounts
from mentions.models import XAccount

SECRET = "user-token-that-must-never-leak"


@pytest.mark.django_db
def test_tokens_are_encrypted_in_the_database():
    account = XAccount.objects.create(
        handle="Acme", x_user_id="42", access_token=SECRET, refresh_token="r-" + SECRET
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM mentions_xaccount WHERE id = %s",
            [account.pk],
        )
        stored = cursor.fetchone()

    assert SECRET not in stored[0]
    assert SECRET not in stored[1]
    assert XAccount.objects.get(pk=account.pk).access_token == SECRET


@pytest.mark.django_db
def test_a_value_encrypted_with_another_key_fails_loudly_instead_of_leaking(settings):
    account = XAccount.objects.create(
        handle="Acme", x_user_id="42", access_token=SECRET
    )
    settings.FIELD_ENCRYPTION_KEYS = ["x2Q8ZCw1Tf9mY7kP4nV6bR3sL0aD5gH8jK1qW9eR2tY="]

    with pytest.raises(ValueError, match="FIELD_ENCRYPTION_KEY"):
        XAccount.objects.get(pk=account.pk)


@pytest.mark.django_db
def test_the_admin_never_renders_a_token(client, admin_user):
    account = XAccount.objects.create(
        handle="Acme", x_user_id="42", access_token=SECRET, app_bearer_token=SECRET
    )
    client.force_login(admin_user)

    content = client.get(
        f"/admin/mentions/xaccount/{account.pk}/change/"
    ).content.decode()

    assert SECRET not in content


@pytest.mark.django_db
def test_saving_the_admin_form_with_blank_tokens_keeps_them(client, admin_user):
    account = XAccount.objects.create(
        handle="Acme", x_user_id="42", access_token=SECRET
    )
    client.force_login(admin_user)

    response = client.post(
        f"/admin/mentions/xaccount/{account.pk}/change/",
        {
            "handle": "AcmeHelp",
            "x_user_id": "42",
            "display_name": "",
            "scopes": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.handle, account.access_token) == ("AcmeHelp", SECRET)


@pytest.mark.django_db
def test_the_admin_is_closed_to_agents(agent_client):
    response = agent_client.get("/admin/mentions/xaccount/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_an_expiring_token_is_refreshed_through_oauth2(brand, settings):
    from mentions.sandbox import services as sandbox

    settings.X_CLIENT_ID = "earshot-tests"
    client = sandbox.create_oauth_client("earshot-tests")
    token = sandbox.issue_user_token(brand["user"], client=client)
    account: XAccount = brand["account"]
    account.access_token = token.access_token
    account.refresh_token = token.refresh_token
    account.token_expires_at = timezone.now() + timedelta(seconds=30)
    account.save()

    source = accounts.source_for(account, now=timezone.now())

    account.refresh_from_db()
    assert account.access_token != token.access_token
    assert account.refresh_token != token.refresh_token  # X rotates refresh tokens
    assert account.token_expires_at > timezone.now() + timedelta(hours=1)
    assert source.get_me()["username"] == "AcmeSupport"
