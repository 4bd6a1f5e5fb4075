from __future__ import annotations

from django.urls import path

from mentions import views

app_name = "mentions"
urlpatterns = [
    path("", views.mention_queue, name="queue"),
    path("updates/", views.mention_queue_updates, name="queue-updates"),
    path("bulk/", views.bulk_action, name="bulk"),
    path("<int:mention_id>/", views.mention_detail, name="detail"),
    path("<int:mention_id>/claim/", views.claim_mention, name="claim"),
    path("<int:mention_id>/assign/", views.assign_mention, name="assign"),
    path("<int:mention_id>/status/", views.set_status, name="status"),
    path("<int:mention_id>/priority/", views.set_priority, name="priority"),
    path("<int:mention_id>/tags/", views.tag_mention, name="tag"),
    path(
        "<int:mention_id>/tags/<int:tag_id>/remove/",
        views.untag_mention,
        name="untag",
    ),
    path("<int:mention_id>/notes/", views.add_note, name="note"),
    path("<int:mention_id>/presence/", views.mention_presence, name="presence"),
    path("streams/", views.stream_list, name="streams"),
    path("streams/<int:stream_id>/", views.stream_detail, name="stream-detail"),
]
