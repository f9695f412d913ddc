"""What every agent (inbox, follow-up, admin) believes about its network's directory: the
sequence of signed records, loaded from the directory log and checked against the checkpoint it
remembers (issue 14 "Clients remember"; docs/protocol.md §12.4).

`VerifiedLog.load` asks the hub for the log with a consistency proof from the checkpoint this
agent remembers, and accepts the newer view only if, in this order: the network key signed the
checkpoint, the records served give its root (a withheld or changed record: log_root_mismatch),
the quorum of the witnesses that the *remembered* view's settings name cosigned it, and it
extends the remembered one (else checkpoint_rolled_back, checkpoint_fork or
log_consistency_invalid). A refusal that two signed checkpoints prove is kept as evidence, sent
to those witnesses (not only to the hub, which may be the liar) and raised. With no checkpoint
remembered yet (a first start, or an agent from before this version) the quorum alone decides.

A network whose hub serves no log yet (records signed before this version, not checkpointed)
is read as before: the sequence and the highest serial. Once this agent has seen a checkpoint,
a hub that serves none is a rollback.

The owner keeps what `to_json` gives after every change (`keep`), in its own state: the inbox in
its cache, the follow-up agent and `hub admin` in the key folder (hub/client/view_file.py).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from hub.crypto.checkpoint import Policy, open_checkpoint
from hub.crypto.erasure import remembered_kinds
from hub.crypto.registry import Registry
from hub.crypto.transparency import (
    ConflictError,
    Evidence,
    View,
    advance,
    check_records,
    policy_of,
    settings_in,
)
from hub.errors import LogError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hub.client.api import HubClient
    from hub.crypto.leaves import Served

log = logging.getLogger("hub.client")
EVIDENCE_SECONDS: Final = 10
MAX_EVIDENCE: Final = 20  # pairs kept; the first ones matter most


@dataclass
class VerifiedLog:
    admin_public: bytes
    network: str
    serial: int = 0  # the highest serial verified (also without a log)
    view: View | None = None  # the checkpoint accepted last; None: none yet
    evidence: list[Evidence] = field(default_factory=list)
    kinds: str = ""  # one letter a serial verified (hub.crypto.erasure.KIND_LETTERS)
    policy: Policy = field(default_factory=lambda: policy_of(None))  # of the view in force
    keep: Callable[[VerifiedLog], Awaitable[None]] | None = None

    async def load(self, client: HubClient, now: int) -> Registry:
        """The newest view the hub can prove, or raise (and keep evidence) as the module says."""
        known = self.view
        found = await client.log(0 if known is None else known.checkpoint.size)
        records = [r.served() for r in found.records]
        if found.checkpoint is None:
            if known is not None:
                raise LogError("checkpoint_rolled_back", "the hub serves no log any more")
            served = await client.registry_records()
            registry = Registry.load(
                self.admin_public, self.network, served, known_serial=self.serial, now=now
            )
            await self._accept(registry, None, served)
            return registry
        # Every record first, as §5.11 orders (a changed or foreign record names its fault);
        # whether the sequence is older than the one verified before is asked after the log's
        # own checks, so a rollback the checkpoints prove is kept as evidence.
        registry = Registry.load(self.admin_public, self.network, records, now=now)
        # The witnesses counted are those of the view remembered: a change to the set takes
        # effect only through a checkpoint the old quorum cosigned. The prefix's root is bound
        # by the consistency proof below.
        held = records if known is None else records[: known.checkpoint.size]
        settings = settings_in(held, self.admin_public, self.network)
        policy = policy_of(settings)
        urls = [] if settings is None else [w.url for w in settings.witnesses]
        opened = open_checkpoint(
            found.checkpoint,
            admin_public=self.admin_public,
            network=self.network,
            witnesses=policy.witnesses,
            now=now,
        )
        check_records(records, opened.checkpoint)
        proof = [base64.b64decode(h) for h in found.consistency]
        try:
            view = advance(known, opened, proof, policy)
        except ConflictError as conflict:
            await self._conflict(conflict.evidence, urls)
            raise
        if registry.serial < self.serial:
            raise RecordVerificationError(
                "registry_rolled_back", f"{registry.serial} records, {self.serial} verified before"
            )
        await self._accept(registry, view, records)
        return registry

    def require_fresh(self, now: int) -> None:
        """Before sealing anything with content (§12.4 check 12): checkpoint_stale when no
        quorum has cosigned the view within the network's limit."""
        if self.view is not None:
            self.policy.require_fresh(self.view.fresh_at, now)

    async def _accept(self, registry: Registry, view: View | None, records: list[Served]) -> None:
        # An erasure that names a record this agent verified as another kind than an entry
        # is refused even where the hub serves the body no more (docs/protocol.md §12.11).
        kinds = remembered_kinds(self.kinds, records, registry.erasures)
        changed = registry.serial != self.serial or view != self.view or kinds != self.kinds
        self.serial, self.view, self.kinds = registry.serial, view, kinds
        self.policy = policy_of(registry.settings)
        if changed and self.keep is not None:
            await self.keep(self)

    async def _conflict(self, evidence: Evidence, witness_urls: list[str]) -> None:
        if evidence not in self.evidence and len(self.evidence) < MAX_EVIDENCE:
            self.evidence.append(evidence)
            if self.keep is not None:
                await self.keep(self)
        await send_evidence(evidence, witness_urls)

    # --- kept between runs ------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(
            {
                "serial": self.serial,
                "kinds": self.kinds,
                "checkpoint": None if self.view is None else self.view.note,
                "fresh_at": None if self.view is None else self.view.fresh_at,
                "evidence": [
                    {"code": e.code, "remembered": e.remembered, "offered": e.offered}
                    for e in self.evidence
                ],
            },
            sort_keys=True,
        )

    def restore(self, text: str) -> None:
        """Take back what `to_json` gave on an earlier run (never lowering what is held)."""
        kept: dict[str, Any] = json.loads(text)
        self.serial = max(self.serial, int(kept.get("serial", 0)))
        self.kinds = str(kept.get("kinds", self.kinds))
        note = kept.get("checkpoint")
        if note is not None:
            opened = open_checkpoint(note, admin_public=self.admin_public, network=self.network)
            fresh_at = kept.get("fresh_at")
            self.view = View(opened.checkpoint, note, None if fresh_at is None else int(fresh_at))
        self.evidence = [
            Evidence(e["code"], e["remembered"], e["offered"]) for e in kept.get("evidence", [])
        ]


async def send_evidence(evidence: Evidence, urls: list[str]) -> None:
    """Send the two checkpoints to each witness; one that cannot be reached is only logged."""
    import aiohttp  # noqa: PLC0415 - only where evidence goes out: hub admin starts without it

    body = {"remembered": evidence.remembered, "offered": evidence.offered}
    timeout = aiohttp.ClientTimeout(total=EVIDENCE_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for url in urls:
            try:
                async with session.post(f"{url.rstrip('/')}/evidence", json=body) as answer:
                    if answer.status != 202:
                        log.warning("witness %s refused the evidence: %s", url, answer.status)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("witness %s unreachable for evidence: %s", url, exc)
