from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

app_name = "escalation"
# Placeholder until the escalation settings pages land.
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="mentions:queue"), name="rules"),
]
