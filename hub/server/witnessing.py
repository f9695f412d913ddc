"""The hub asks the network's witnesses (named in its signed settings) to cosign the directory
log's newest checkpoint, and collects their fresh cosignatures, so that every client can see
how fresh its view is (docs/protocol.md §12.8). It trusts no witness's answer: each line is
checked against that witness's signed key before it is kept, and a client checks it again.

After every append, and every `witness_poll_seconds`, for each network with a log and each
witness its settings name:

    GET  <url>/cosigned?origin=O     the witness's latest: if it is our newest checkpoint, keep
                                     its fresh line (the witness re-cosigns on its own timer)
    POST <url>/add-checkpoint        else: old = the witness's size, the consistency proof from
                                     it to ours, our checkpoint; keep the line it returns

A witness that is offline or refuses is logged and tried again at the next round; nothing
waits for it (the quorum is what clients need, not every witness).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import TYPE_CHECKING, Final

import aiohttp

from hub.crypto import merkle
from hub.crypto.checkpoint import Witness, open_checkpoint, origin_of
from hub.crypto.leaves import Erased
from hub.crypto.records import read_unverified
from hub.crypto.registry import SETTINGS_KIND, SettingsRecord, open_registry_record
from hub.crypto.transparency import leaf_of
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.crypto.leaves import Served
    from hub.crypto.registry import WitnessSetting
    from hub.storage.base import LogCheckpoint, Storage

log = logging.getLogger("hub.witnessing")
TIMEOUT: Final = aiohttp.ClientTimeout(total=10)


class WitnessRounds:
    def __init__(self, storage: Storage, interval: float) -> None:
        self.storage = storage
        self.interval = interval
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """A checkpoint was added: ask the witnesses now rather than at the next round."""
        self._wake.set()

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            while True:
                for network_id in await self.storage.log_networks():
                    try:
                        await self.round(session, network_id)
                    except Exception:  # one network's failure must not stop the others'
                        log.exception("witness round for %s", network_id)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()

    async def round(self, session: aiohttp.ClientSession, network_id: str) -> None:
        latest = await self.storage.latest_checkpoint(network_id)
        if latest is None:
            return
        network = await self.storage.get_network(network_id)
        records = [r.served for r in await self.storage.list_directory_records(network_id)]
        covered = records[: latest.size]
        witnesses = _witnesses_to_ask(network.admin_public, network_id, covered)
        if not witnesses:
            return
        leaves = [leaf_of(item) for item in covered]
        for witness in witnesses:
            try:
                line = await self._cosignature(session, witness, latest, leaves)
                opened = open_checkpoint(
                    latest.note + line,
                    admin_public=network.admin_public,
                    network=network_id,
                    witnesses=[Witness(witness.name, witness.public)],
                )  # no clock check here: the clients judge how fresh a cosignature is
                signed_at = opened.cosigned[witness.name]
            except (aiohttp.ClientError, TimeoutError, OSError, HubError, KeyError) as exc:
                log.warning("witness %s: %s", witness.name, exc)
                continue
            async with self.storage.transaction() as tx:
                await tx.put_cosignature(network_id, latest.size, witness.name, line, signed_at)

    async def _cosignature(
        self,
        session: aiohttp.ClientSession,
        witness: WitnessSetting,
        latest: LogCheckpoint,
        leaves: list[bytes],
    ) -> str:
        text = latest.note.split("\n\n", 1)[0] + "\n"
        origin = origin_of(latest.network_id)
        url = witness.url.rstrip("/")
        async with session.get(f"{url}/cosigned", params={"origin": origin}) as answer:
            said = await answer.text() if answer.status == 200 else ""
        their_text, _, their_line = said.partition("\n\n")
        if answer.status == 200 and their_text + "\n" == text:
            return their_line
        old = int(their_text.split("\n")[1]) if answer.status == 200 else 0
        for _attempt in range(2):
            proof = merkle.consistency_proof(old, leaves) if old <= len(leaves) else []
            body = f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof)
            async with session.post(
                f"{url}/add-checkpoint", data=(body + "\n" + latest.note).encode()
            ) as answer:
                reply = await answer.text()
            if answer.status == 200:
                return reply
            if answer.status != 409:
                break
            old = int(reply.strip())  # the witness told us its size: once more from there
        raise aiohttp.ClientError(f"add-checkpoint answered {answer.status}: {reply.strip()}")


def _witnesses_to_ask(
    admin_public: bytes, network_id: str, records: list[Served]
) -> list[WitnessSetting]:
    """The witnesses the newest settings name and those the settings before them named: a
    client still on the older view counts the old set (docs/protocol.md §12.4), so a change
    to the set takes effect only through a checkpoint the old quorum cosigned, and the old
    set must be asked for it."""
    sets: list[tuple[WitnessSetting, ...]] = []
    for wire in records:
        if (
            isinstance(wire, Erased)
            or read_unverified(wire).unverified_body["kind"] != SETTINGS_KIND
        ):
            continue
        settings = open_registry_record(wire, admin_public=admin_public, network=network_id)
        assert isinstance(settings, SettingsRecord)  # noqa: S101 - of the kind just read
        if not sets or sets[-1] != settings.witnesses:
            sets.append(settings.witnesses)
    named: dict[str, WitnessSetting] = {}
    for witness in (w for group in sets[-2:] for w in group):
        named.setdefault(witness.name, witness)
    return list(named.values())
