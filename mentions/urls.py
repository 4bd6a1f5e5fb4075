from __future__ import annotations

from django.urls import path

from mentions import views

app_name = "mentions"
urlpatterns = [
    path("", views.mention_queue, name="queue"),
    path("new/", views.mention_queue_updates, name="queue-updates"),
    path("<int:mention_id>/", views.mention_detail, name="detail"),
    path("streams/", views.stream_list, name="streams"),
    path("streams/<int:stream_id>/", views.stream_detail, name="stream-detail"),
]
