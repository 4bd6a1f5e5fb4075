from __future__ import annotations

from django.urls import path

from mentions.sla import views

app_name = "sla"
urlpatterns = [
    path("", views.sla_settings, name="settings"),
    path("calendars/new/", views.calendar_edit, name="calendar-create"),
    path("calendars/<int:calendar_id>/", views.calendar_detail, name="calendar"),
    path(
        "calendars/<int:calendar_id>/edit/", views.calendar_edit, name="calendar-edit"
    ),
    path("policies/new/", views.policy_edit, name="policy-create"),
    path("policies/reapply/", views.policy_reapply, name="policy-reapply"),
    path("policies/<int:policy_id>/", views.policy_detail, name="policy"),
    path("policies/<int:policy_id>/edit/", views.policy_edit, name="policy-edit"),
    path("policies/<int:policy_id>/move/", views.policy_move, name="policy-move"),
]
