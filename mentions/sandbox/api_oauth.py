"""OAuth 2.0 endpoints of the sandbox X API: token (code + PKCE S256, refresh), revoke, authorize page.

Errors use the OAuth 2.0 shape `{"error": ..., "error_description": ...}` as X's token endpoint does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from mentions.sandbox import faults, ratelimit, services
from mentions.sandbox.endpoint import API_VERSION, json_response
from mentions.sandbox.models import SandboxAuthCode, SandboxOAuthClient, SandboxUser
from mentions.sandbox.problems import ApiError, JsonDict

CODE_LIFETIME = timedelta(seconds=30)


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, {"error": error, "error_description": description})


def _client(request: HttpRequest) -> SandboxOAuthClient:
    """Confidential clients authenticate with HTTP Basic; public clients send client_id in the body."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise _oauth_error(
                401, "unauthorized_client", "Missing valid authorization header"
            ) from None
        client = SandboxOAuthClient.objects.filter(client_id=client_id).first()
        if client is None or not hmac.compare_digest(client.client_secret, secret):
            raise _oauth_error(
                401, "unauthorized_client", "Missing valid authorization header"
            )
        return client
    client = SandboxOAuthClient.objects.filter(
        client_id=request.POST.get("client_id", "")
    ).first()
    if client is None:
        raise _oauth_error(
            400, "invalid_request", "Missing required parameter [client_id]."
        )
    if client.client_secret:
        raise _oauth_error(
            401, "unauthorized_client", "Missing valid authorization header"
        )
    return client


def _pkce_ok(verifier: str, code: SandboxAuthCode) -> bool:
    if code.code_challenge_method == "plain":
        return hmac.compare_digest(verifier, code.code_challenge)
    digest = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    return hmac.compare_digest(digest, code.code_challenge)


def _exchange_code(
    request: HttpRequest, client: SandboxOAuthClient
) -> services.IssuedToken:
    form = request.POST
    now = timezone.now()
    code = SandboxAuthCode.objects.filter(
        code=form.get("code", ""), client=client
    ).first()
    invalid = _oauth_error(
        400, "invalid_request", "Value passed for the authorization code was invalid."
    )
    if code is None or code.created_at < now - CODE_LIFETIME:
        raise invalid
    if form.get("redirect_uri") != code.redirect_uri or not _pkce_ok(
        form.get("code_verifier", ""), code
    ):
        raise invalid
    # Claim the code with a conditional UPDATE: a replayed code loses.
    if not SandboxAuthCode.objects.filter(pk=code.pk, is_used=False).update(
        is_used=True
    ):
        raise invalid
    return services.issue_user_token(code.user, scopes=code.scope, client=client)


@login_not_required
@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    headers = {"api-version": API_VERSION, "Cache-Control": "no-store"}
    headers |= ratelimit.unmetered_headers("oauth2_token", now=timezone.now())
    try:
        if request.method != "POST":
            raise _oauth_error(405, "invalid_request", "Use POST.")
        fault = faults.claim("oauth2_token")
        if fault is not None:
            faults.raise_for(fault, now=timezone.now(), rate_headers={})
        client = _client(request)
        grant = request.POST.get("grant_type")
        if grant == "authorization_code":
            issued = _exchange_code(request, client)
        elif grant == "refresh_token":
            refreshed = services.refresh_user_token(
                request.POST.get("refresh_token", ""), client=client
            )
            if refreshed is None:
                raise _oauth_error(
                    400, "invalid_request", "Value passed for the token was invalid."
                )
            issued = refreshed
        else:
            raise _oauth_error(400, "unsupported_grant_type", "Unsupported grant_type.")
    except ApiError as error:
        return json_response(error.status, error.body, headers | error.headers)
    body: JsonDict = {
        "token_type": "bearer",
        "expires_in": services.ACCESS_TOKEN_SECONDS,
        "access_token": issued.access_token,
        "scope": issued.scope,
    }
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    return json_response(200, body, headers)


@login_not_required
@csrf_exempt
def revoke(request: HttpRequest) -> HttpResponse:
    headers = {"api-version": API_VERSION} | ratelimit.unmetered_headers(
        "oauth2_token", now=timezone.now()
    )
    if request.method != "POST":
        return json_response(
            405, {"error": "invalid_request", "error_description": "Use POST."}, headers
        )
    try:
        _client(request)
    except ApiError as error:
        return json_response(error.status, error.body, headers)
    services.revoke_token(request.POST.get("token", ""))
    return json_response(200, {"revoked": True}, headers)


class AuthorizeForm(forms.Form):
    username = forms.CharField(
        max_length=15, help_text="Sandbox X account that grants access."
    )


def authorize(request: HttpRequest) -> HttpResponse:
    """The consent page (login required): pick the sandbox account, then redirect with code and state."""
    get = request.GET
    client = SandboxOAuthClient.objects.filter(
        client_id=get.get("client_id", "")
    ).first()
    redirect_uri = get.get("redirect_uri", "")
    problem = None
    if client is None:
        problem = "Unknown client_id."
    elif client.redirect_uris and redirect_uri not in client.redirect_uris:
        problem = "redirect_uri does not match the app's callback URLs."
    elif get.get("response_type") != "code" or not get.get("code_challenge"):
        problem = "response_type=code and a PKCE code_challenge are required."
    form = AuthorizeForm(request.POST or None)
    if (
        problem is None
        and client is not None
        and request.method == "POST"
        and form.is_valid()
    ):
        user = SandboxUser.objects.filter(
            username_lower=form.cleaned_data["username"].lower()
        ).first()
        if user is None:
            form.add_error("username", "No sandbox X account with that username.")
        else:
            code = services.create_authorization_code(
                client,
                user,
                redirect_uri=redirect_uri,
                scope=get.get("scope", ""),
                code_challenge=get["code_challenge"],
                code_challenge_method=get.get("code_challenge_method", "S256"),
            )
            sep = "&" if "?" in redirect_uri else "?"
            return HttpResponseRedirect(
                redirect_uri
                + sep
                + urlencode({"state": get.get("state", ""), "code": code})
            )
    context = {
        "client": client,
        "problem": problem,
        "form": form,
        "scopes": get.get("scope", "").split(),
    }
    return render(request, "sandbox/oauth_authorize.html", context)
