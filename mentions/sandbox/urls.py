"""Customer simulator pages of the sandbox X API (login required), under /sandbox/."""

from __future__ import annotations

from django.urls import path

from mentions.sandbox import views

app_name = "sandbox"
urlpatterns = [
    path("", views.simulator, name="simulator"),
    path("post/", views.post_as_customer, name="post-create"),
    path("dm/", views.dm_as_customer, name="dm-create"),
    path("faults/", views.add_fault, name="fault-create"),
    path("faults/clear/", views.clear_faults, name="fault-clear"),
]
