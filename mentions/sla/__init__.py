"""SLA policies, business calendars and the per-mention clocks (app label `sla`).

A nested app inside `mentions/` because SLA clocks belong to the inbound side ("from a post arrived to
triaged with its clock running", STYLE.md §1); it has its own label and migrations so that the clock
tables evolve without touching the ingest-hot `mentions` tables.
"""
