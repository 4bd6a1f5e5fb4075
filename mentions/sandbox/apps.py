from __future__ import annotations

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "mentions.sandbox"
    label = "xsandbox"
    verbose_name = "Sandbox X API"
