"""The sandbox X API: a stand-in for X's v2 API that speaks its wire format over HTTP.

It lives inside `mentions/` because it is the other end of the inbound adapter (mentions/sources/x.py):
the demo, the tests and the benchmarks point X_API_BASE_URL at it and tweepy runs unchanged. It has its
own tables (app label `xsandbox`) and never imports the helpdesk's models, so it could move out whole.

Deliberate differences from the real X API (each is documented where it is implemented):
- no indexing lag: recent search's default end_time is "now", not about 30 s ago;
- OAuth 1.0a signatures are not verified, only the consumer key and token (auth.py);
- sort_order=relevancy is accepted but results stay newest first.
"""

from __future__ import annotations
