"""Outbound adapters, one module per channel, all the same shape (STYLE §1): `send(outbound)` returns a
`SentMessage` or raises `ChannelError`; `find_sent(outbound)` reconciles where the channel allows it."""
