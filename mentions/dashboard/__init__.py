"""Manager dashboards: response times, SLA compliance, volume and backlog, aggregated in SQL.

A sub-package of `mentions/` (app label `dashboard`) because every figure is read from the inbound
side: mentions, their SLA clocks and their history. Its only models are the daily rollup's derived
rows (models.py), which `manage.py rollupdashboard` can rebuild from those tables at any time.
"""
