"""Django admin for accounts, streams, authors and mentions (purpose-built settings pages come later).

Tokens are write-only here: the form offers empty password inputs and keeps the stored value when left
blank, so a secret is never rendered back to a browser (DESIGN invariant 5).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from mentions import polling
from mentions.models import Author, Mention, PriorityKeyword, Stream, Team, XAccount

SECRET_FIELDS = ("access_token", "refresh_token", "app_bearer_token")


class XAccountForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic form
    access_token = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave blank to keep."
    )
    refresh_token = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave blank to keep."
    )
    app_bearer_token = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave blank to keep."
    )

    class Meta:
        model = XAccount
        fields = [
            "handle",
            "x_user_id",
            "display_name",
            *SECRET_FIELDS,
            "token_expires_at",
            "scopes",
            "is_active",
        ]

    def save(self, commit: bool = True) -> XAccount:
        account: XAccount = super().save(commit=False)
        kept = [name for name in SECRET_FIELDS if not self.cleaned_data.get(name)]
        if kept and account.pk:
            stored = XAccount.objects.get(pk=account.pk)
            for name in kept:
                setattr(account, name, getattr(stored, name))
        if commit:
            account.save()
        return account


@admin.register(XAccount)
class XAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = XAccountForm
    list_display = [
        "handle",
        "x_user_id",
        "is_active",
        "token_expires_at",
        "has_tokens",
    ]

    @admin.display(boolean=True)
    def has_tokens(self, obj: XAccount) -> bool:
        return bool(obj.access_token)


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "name",
        "account",
        "kind",
        "enabled",
        "state",
        "last_success_at",
        "last_error",
    ]
    list_filter = ["kind", "enabled", "account"]
    readonly_fields = [
        "since_id",
        "checkpoint",
        "next_poll_at",
        "rate_limit_remaining",
        "rate_limit_reset_at",
        "consecutive_failures",
        "last_error",
        "last_error_at",
        "stopped_at",
        "last_poll_at",
        "last_success_at",
        "backfill_completed_at",
        "lease_owner",
        "lease_expires_at",
    ]
    actions = ["resume_streams"]

    @admin.action(description="Resume the selected streams (clear a stop)")
    def resume_streams(self, request: HttpRequest, queryset: QuerySet[Stream]) -> None:
        for stream in queryset:
            polling.resume_stream(stream.pk)
        self.message_user(
            request, f"Resumed {queryset.count()} stream(s).", messages.SUCCESS
        )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name"]
    filter_horizontal = ["members"]


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["handle", "name", "followers_count", "verified"]
    search_fields = ["handle", "name", "x_id"]


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["x_id", "kind", "author", "status", "created_at", "ingested_at"]
    list_filter = ["kind", "status"]
    search_fields = ["x_id", "text"]
    raw_id_fields = ["author", "thread", "assignee"]
    readonly_fields = ["raw"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Mention]:
        return super().get_queryset(request).select_related("author")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PriorityKeyword)
class PriorityKeywordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Admin keywords for priority scoring at ingest (mentions/scoring.py). A term matches at the start of
    a word, case-insensitively; changes apply to mentions ingested from the next poll on."""

    list_display = ["term", "points", "is_active", "created_at"]
    list_editable = ["points", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["term"]
    ordering = ["term"]
    fields = ["term", "points", "is_active"]
