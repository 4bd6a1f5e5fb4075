from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

app_name = "dashboard"
# Placeholder until the dashboard pages land.
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="mentions:queue"), name="overview"),
]
