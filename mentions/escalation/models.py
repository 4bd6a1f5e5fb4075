"""Escalation rules, their firings and notifications."""

from __future__ import annotations
