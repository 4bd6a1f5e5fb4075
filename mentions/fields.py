"""Model fields: EncryptedTextField keeps tokens encrypted at rest (DESIGN invariant 5)."""

from __future__ import annotations

from typing import Any

from django.db import models

from helpdesk.lib import crypto


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]  # django-stubs generic field
    """A text column stored as a Fernet token; Python code sees plaintext, the database never does.

    Empty strings stay empty (no secret configured). Not searchable, not shown by the admin's forms.
    """

    def from_db_value(
        self, value: str | None, expression: Any, connection: Any
    ) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))
