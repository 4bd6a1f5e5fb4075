"""Email hand-offs through Django's email backend (SMTP in production, a loopback server in tests).

By default the message does not quote the customer's post: their employer may read forwarded mail.
"""

from __future__ import annotations

import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string

from responders.channels.base import ChannelError, SentMessage
from responders.models import Outbound


def build_message(outbound: Outbound) -> EmailMultiAlternatives:
    """The email triple `emails/handoff-{subject.txt,body.txt,body.html}` (autoescaped; never the
    customer's text as a template)."""
    mention = outbound.mention
    context = {
        "outbound": outbound,
        "text": outbound.text,
        "brand": mention.account,
        "author": mention.author,
        "agent": outbound.agent,
        "quote": mention.text if outbound.include_quote else "",
        "post_url": mention.x_url() if outbound.include_quote else "",
    }
    subject = outbound.subject or render_to_string(
        "emails/handoff-subject.txt", context
    )
    subject = " ".join(subject.split())  # no header injection through newlines
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/handoff-body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outbound.recipient],
        headers={"Message-ID": make_msgid(domain="earshot.local")},
    )
    message.attach_alternative(
        render_to_string("emails/handoff-body.html", context), "text/html"
    )
    return message


class EmailChannel:
    # SMTP cannot tell us whether an earlier attempt got through.
    can_reconcile = False

    def send(self, outbound: Outbound, *, now: datetime) -> SentMessage:
        message = build_message(outbound)
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(
                f"The mail server refused the address: {exc.recipients}", permanent=True
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(
                f"Cannot send the email: {exc}", permanent=False
            ) from exc
        return SentMessage(str(message.extra_headers["Message-ID"]))

    def find_sent(self, outbound: Outbound, *, now: datetime) -> SentMessage | None:
        return None
