from __future__ import annotations

from django.urls import path

from responders import views, views_settings

app_name = "responders"
urlpatterns = [
    path("mentions/<int:mention_id>/composer/", views.composer, name="composer"),
    path("mentions/<int:mention_id>/compose/", views.compose_page, name="compose-page"),
    path("mentions/<int:mention_id>/reply/", views.reply_create, name="reply-create"),
    path("mentions/<int:mention_id>/dm/", views.dm_create, name="dm-create"),
    path("mentions/<int:mention_id>/email/", views.email_create, name="email-create"),
    path("mentions/<int:mention_id>/phone/", views.phone_create, name="phone-create"),
    path("mentions/<int:mention_id>/preview/", views.preview, name="preview"),
    path("outbound/<int:outbound_id>/", views.outbound_status, name="outbound"),
    path("outbound/<int:outbound_id>/undo/", views.outbound_undo, name="outbound-undo"),
    path(
        "outbound/<int:outbound_id>/retry/", views.outbound_retry, name="outbound-retry"
    ),
    path("handoffs/<int:handoff_id>/", views.handoff_status, name="handoff"),
    path("handoffs/<int:handoff_id>/call/", views.handoff_call, name="handoff-call"),
    path(
        "handoffs/<int:handoff_id>/resolve/",
        views.handoff_resolve,
        name="handoff-resolve",
    ),
    path(
        "handoffs/<int:handoff_id>/dismiss-followup/",
        views.handoff_dismiss_followup,
        name="handoff-dismiss-followup",
    ),
    path("settings/", views_settings.responder_settings, name="settings"),
]
