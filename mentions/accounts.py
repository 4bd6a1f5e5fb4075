"""Brand accounts: building an X adapter for one, with a fresh OAuth 2.0 token."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction

from mentions.models import XAccount
from mentions.sources.x import XSource, refresh_user_token

logger = logging.getLogger(__name__)


def refresh_token_if_needed(account: XAccount, *, now: datetime) -> None:
    """Refresh the account's access token when it expires within two minutes and we can refresh it.

    Two workers may race here; the row lock makes the second one see the first one's new token instead of
    spending the (single-use, rotated) refresh token twice.
    """
    if (
        not account.token_expires_soon(now)
        or not account.refresh_token
        or not settings.X_CLIENT_ID
    ):
        return
    with transaction.atomic():
        locked = XAccount.objects.select_for_update().get(pk=account.pk)
        if locked.token_expires_soon(now):
            tokens = refresh_user_token(
                locked.refresh_token,
                client_id=settings.X_CLIENT_ID,
                client_secret=settings.X_CLIENT_SECRET,
            )
            locked.access_token = tokens.access_token
            locked.refresh_token = tokens.refresh_token
            locked.token_expires_at = tokens.expires_at
            if tokens.scope:
                locked.scopes = tokens.scope
            locked.save(
                update_fields=[
                    "access_token",
                    "refresh_token",
                    "token_expires_at",
                    "scopes",
                    "updated_at",
                ]
            )
            logger.info("x: refreshed the access token of %s", locked)
    account.refresh_from_db(
        fields=["access_token", "refresh_token", "token_expires_at", "scopes"]
    )


def source_for(account: XAccount, *, now: datetime) -> XSource:
    refresh_token_if_needed(account, now=now)
    return XSource(
        user_token=account.access_token,
        app_token=account.app_bearer_token,
        brand_id=account.x_user_id,
        brand_handle=account.handle,
    )
