"""A real SMTP server (aiosmtpd) on a free port that keeps what it is given, for the tests of
the hub's notices. It runs in its own thread, as aiosmtpd's Controller does."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from hub.server.config import SmtpConfig
from tests.hubnet import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from email.message import EmailMessage

LINK = "https://intranat.lansstyrelsen.example/hubben"
SENDER = "hubben@lansstyrelsen.example"


@dataclass
class Caught:
    to: tuple[str, ...]
    raw: bytes
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")

    @property
    def everything(self) -> str:
        """Every header but To (the address itself) and the body, decoded and raw: what a
        reader, or anyone on the way, can see."""
        headers = "\n".join(f"{k}: {v}" for k, v in self.message.items() if k != "To")
        raw = self.raw.decode("utf-8", "replace")
        raw_without_to = "\n".join(line for line in raw.splitlines() if not line.startswith("To:"))
        return f"{headers}\n{self.body}\n{raw_without_to}"


@dataclass
class MailCatcher:
    port: int
    caught: list[Caught] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply to RCPT TO
    # While set, a message's DATA gets no answer: the sender hangs mid-send, as when the hub
    # stops at that moment. A stalled message is never kept (it was not taken).
    stall: threading.Event = field(default_factory=threading.Event)
    stalled: int = 0
    stall_after: int | None = None  # stall every message once this many were taken
    _release: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self._release.set()

    def config(self, **overrides: Any) -> SmtpConfig:
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "sender": SENDER,
            "inbox_link": LINK,
            "timeout_seconds": 5,
        }
        return SmtpConfig(**(settings | overrides))

    def to(self, address: str) -> list[Caught]:
        return [c for c in self.caught if address in c.to]

    # aiosmtpd's handler hooks
    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        del server, session, options
        reply = self.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        del server, session
        if self.stall.is_set() or (
            self.stall_after is not None and len(self.caught) >= self.stall_after
        ):
            self.stalled += 1
            await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 30)
            return "451 4.3.0 Stalled"
        raw = bytes(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.caught.append(Caught(tuple(envelope.rcpt_tos), raw, parsed))  # type: ignore[arg-type]
        return "250 Message accepted"


@contextmanager
def mail_catcher() -> Iterator[MailCatcher]:
    catcher = MailCatcher(free_port())
    controller = Controller(catcher, hostname="127.0.0.1", port=catcher.port)
    controller.start()
    try:
        yield catcher
    finally:
        catcher.release()
        controller.stop()
