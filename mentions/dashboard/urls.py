"""Manager dashboards: response times, SLA compliance, volume and backlog, aggregated in SQL.

A sub-package of `mentions/` (no models of its own) because every figure is read from the inbound side:
mentions, their SLA clocks and their history.
"""

from __future__ import annotations

from django.urls import path

from mentions.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("export/<slug:name>.csv", views.export_csv, name="export"),
]
