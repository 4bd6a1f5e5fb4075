from __future__ import annotations

app_name = "xsandbox_api"
urlpatterns: list[object] = []
