"""Sending one content-free notice by SMTP (aiosmtplib), and telling a failure worth retrying
from one that is not. What is sent comes only from hub.protocol.notices.render_notice."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:
    from hub.protocol.notices import NoticeText
    from hub.server.config import SmtpConfig

PERMANENT_FROM = 500  # SMTP reply codes 5xx: the server will never take this message


class SendFailed(Exception):  # noqa: N818 - reads as a condition at the call site
    """The mail server did not take the message. `permanent`: trying again will not help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def build_message(
    config: SmtpConfig, to: str, text: NoticeText, message_id: str, at: float
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = text.subject
    message["Date"] = email.utils.formatdate(at, localtime=False, usegmt=True)
    message["Message-ID"] = f"<{message_id}@{config.sender.rpartition('@')[2]}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies back
    message.set_content(text.body, charset="utf-8")
    return message


async def send(config: SmtpConfig, to: str, text: NoticeText, message_id: str, at: float) -> None:
    """Hand one message, dated `at` by the hub's clock, to the configured server; SendFailed
    if it was not taken."""
    message = build_message(config, to, text, message_id, at)
    try:
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            timeout=config.timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        raise SendFailed(_reason(codes), permanent=min(codes) >= PERMANENT_FROM) from None
    except aiosmtplib.SMTPResponseException as exc:
        permanent = exc.code >= PERMANENT_FROM
        raise SendFailed(f"SMTP {exc.code}", permanent=permanent) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise SendFailed(type(exc).__name__, permanent=False) from None


def _reason(codes: list[int]) -> str:
    return "SMTP " + ", ".join(str(c) for c in sorted(set(codes)))
