"""The dashboard page and its CSV exports.

Managers and admins see every figure; agents see only their own: the agent filter is forced to them,
the per-agent table keeps only their row and the per-team table is hidden.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from helpdesk.lib.http import AuthedHttpRequest
from mentions.dashboard import export
from mentions.dashboard.forms import DashboardFilterForm
from mentions.dashboard.presenter import present
from mentions.dashboard.rollup import dashboard as build_dashboard
from mentions.roles import Role, has_role

ROW_EXPORTS = [
    "mentions",
    "clocks-first_response",
    "clocks-next_response",
    "clocks-resolution",
]
TABLE_EXPORTS = [
    "sla", "first-response-trend", "volume", "kind", "sentiment", "status", "streams",
    "heatmap-customers", "heatmap-answers", "channels", "detection-lag", "backlog", "agents", "teams",
]  # fmt: skip


def _scope(request: AuthedHttpRequest) -> int | None:
    """None for managers and admins (everything), the agent's id for agents; others get 403."""
    if has_role(request.user, Role.MANAGER, Role.ADMIN):
        return None
    if has_role(request.user, Role.AGENT):
        return request.user.pk
    raise PermissionDenied("The dashboard is for agents, managers and admins.")


@require_GET
def overview(request: AuthedHttpRequest) -> HttpResponse:
    only_agent = _scope(request)
    now = timezone.now()
    form = DashboardFilterForm(request.GET, today=now.date())
    context: dict[str, object] = {"form": form, "only_agent": only_agent}
    if not form.is_valid():
        return render(request, "dashboard/overview.html", context, status=400)
    f = form.to_filters()
    if only_agent is not None:
        f = f.with_agent(only_agent)
    dashboard = build_dashboard(f, now=now, only_agent=only_agent)
    context.update(
        filters=f,
        d=dashboard,
        query=request.GET.urlencode(),
        row_exports=ROW_EXPORTS,
        **present(dashboard, f),
    )
    return render(request, "dashboard/overview.html", context)


@require_GET
def export_csv(
    request: AuthedHttpRequest, name: str
) -> HttpResponse | StreamingHttpResponse:
    """`/dashboard/export/<name>.csv?<the page's query>`: a table of the page or the rows behind it."""
    only_agent = _scope(request)
    now = timezone.now()
    form = DashboardFilterForm(request.GET, today=now.date())
    if not form.is_valid():
        return HttpResponse(
            " ".join(str(e) for e in form.non_field_errors())
            or "Invalid filters: "
            + "; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    f = form.to_filters()
    if only_agent is not None:
        f = f.with_agent(only_agent)
    result: export.Table | None
    if name == "mentions":
        result = export.mention_rows(f)
    elif name.startswith("clocks-"):
        result = export.clock_rows(f, name.removeprefix("clocks-"))
    else:
        result = export.table(name, f, now=now, only_agent=only_agent)
    if result is None:
        return HttpResponse(
            f"Unknown export {name!r}.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    header, rows = result
    response = StreamingHttpResponse(
        export.csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    filename = f"earshot-{name}-{f.start.isoformat()}-{f.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
