from __future__ import annotations

from django.urls import path

from mentions.escalation import views

app_name = "escalation"
urlpatterns = [
    path("", views.rule_list, name="rules"),
    path("new/", views.rule_create, name="rule-create"),
    path("<int:rule_id>/", views.rule_detail, name="rule-detail"),
    path("<int:rule_id>/edit/", views.rule_edit, name="rule-edit"),
    path("<int:rule_id>/toggle/", views.rule_toggle, name="rule-toggle"),
]
