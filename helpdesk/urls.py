from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="mentions:queue", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("mentions/", include("mentions.urls")),
    path("responders/", include("responders.urls")),
    path("settings/sla/", include("mentions.sla.urls")),
    path("settings/escalations/", include("mentions.escalation.urls")),
    path("dashboard/", include("mentions.dashboard.urls")),
]

if settings.XSANDBOX_ENABLED:
    # The sandbox X API speaks X's v2 wire format under X_API_BASE_URL=<site>/xsandbox (no login: it has
    # its own bearer/OAuth auth); the customer simulator pages live under /sandbox/ (login required).
    urlpatterns += [
        path("xsandbox/", include("mentions.sandbox.api_urls")),
        path("sandbox/", include("mentions.sandbox.urls")),
    ]
