"""Views of the mentions app: the queue, the mention workspace and the stream status pages."""

from __future__ import annotations

from mentions.views.queue import bulk_action, mention_queue, mention_queue_updates
from mentions.views.streams import stream_detail, stream_list
from mentions.views.workspace import (
    add_note,
    assign_mention,
    claim_mention,
    mention_detail,
    mention_presence,
    set_priority,
    set_status,
    tag_mention,
    untag_mention,
)

__all__ = [
    "add_note",
    "assign_mention",
    "bulk_action",
    "claim_mention",
    "mention_detail",
    "mention_presence",
    "mention_queue",
    "mention_queue_updates",
    "set_priority",
    "set_status",
    "stream_detail",
    "stream_list",
    "tag_mention",
    "untag_mention",
]
