"""Escalation rules: conditions on a mention and its SLA clocks -> actions (app label `escalation`).

Nested inside `mentions/` because it acts on inbound mentions and their clocks; its own label and
migrations keep the firing and notification tables apart from the ingest-hot `mentions` tables.
"""
