"""Manager dashboards: response times, SLA compliance, volume and backlog, aggregated in SQL.

A sub-package of `mentions/` (no models of its own) because every figure is read from the inbound side:
mentions, their SLA clocks and their history.
"""
