"""X's error bodies (RFC 7807 "Problem" objects, xapi/README.md §2.7) and the exception that carries them."""

from __future__ import annotations

from typing import Any

PROBLEMS = "https://api.twitter.com/2/problems/"

JsonDict = dict[str, Any]


class ApiError(Exception):
    """Raised anywhere while handling an API call; the endpoint wrapper turns it into the response."""

    def __init__(
        self, status: int, body: JsonDict, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("detail") or body.get("title") or status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid_request(
    message: str, parameters: dict[str, list[str]] | None = None
) -> ApiError:
    error: JsonDict = {"message": message}
    if parameters is not None:
        error["parameters"] = parameters
    return ApiError(
        400,
        {
            "errors": [error],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def invalid_parameter(name: str, value: str, message: str) -> ApiError:
    return invalid_request(message, {name: [value]})


def unauthorized() -> ApiError:
    return ApiError(
        401,
        {
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        },
    )


def forbidden(detail: str) -> ApiError:
    return ApiError(
        403,
        {"detail": detail, "type": "about:blank", "title": "Forbidden", "status": 403},
    )


def unsupported_authentication() -> ApiError:
    return ApiError(
        403,
        {
            "title": "Unsupported Authentication",
            "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            "type": PROBLEMS + "unsupported-authentication",
            "status": 403,
        },
    )


def too_many_requests() -> JsonDict:
    return {
        "title": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
        "detail": "Too Many Requests",
    }


def usage_capped() -> JsonDict:
    return {
        "account_id": 1400000000,
        "product_name": "standard-basic",
        "title": "UsageCapExceeded",
        "period": "Monthly",
        "scope": "Product",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": PROBLEMS + "usage-capped",
    }


def credits_depleted() -> JsonDict:
    return {
        "account_id": 1400000000,
        "title": "CreditsDepleted",
        "detail": "Your enrolled account [1400000000] does not have any credits to fulfill this request.",
        "type": PROBLEMS + "credits",
    }


def server_error(status: int) -> JsonDict:
    title = "Service Unavailable" if status == 503 else "Internal Server Error"
    return {"title": title, "detail": title, "type": "about:blank", "status": status}


def not_found_error(resource_type: str, parameter: str, value: str) -> JsonDict:
    """An entry of `errors[]` inside a 200 (§2.8) for something that does not exist."""
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


def not_authorized_error(resource_type: str, parameter: str, value: str) -> JsonDict:
    """An entry of `errors[]` inside a 200 (§2.8) for a protected or suspended item."""
    noun = "Tweet" if resource_type == "tweet" else "User"
    return {
        "value": value,
        "detail": f"Sorry, you are not authorized to see the {noun} with {parameter}: [{value}].",
        "title": "Authorization Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "section": "includes",
        "type": PROBLEMS + "not-authorized-for-resource",
    }
