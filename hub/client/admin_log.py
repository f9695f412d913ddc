"""The administrator's side of the directory log (issue 14; docs/protocol.md §12): every record
goes to the hub with a checkpoint over the whole log signed here, and everything signed is kept
on this machine, so that a hub restored from a backup (which looks exactly like a rollback to
every client and witness) can be given it all back, in order, by `hub admin republish`.

    KEYS/signed-log-<network>.jsonl    append-only, mode 0600, one JSON object a line:
                                       {"serial": n, "record": {record, signature}} or
                                       {"serial": n, "erased": base64 leaf hash} or
                                       {"size": n, "checkpoint": note}

A record signed here keeps its body in this file after an erasure (docs/protocol.md §12.11):
the administrator's machine is where a hub restored from a backup older than the record gets it
back from, before the erasure record that follows it drops it again. A record the hub served
erased before this file had it is kept in its erased form.

Records the hub holds that this file lacks (signed before this version, or on this machine by
a run whose answer was lost) are taken in once verified against the network key: they are the
administrator's own signatures either way.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from hub import files
from hub.client.view_file import ViewFile
from hub.crypto import merkle
from hub.crypto.checkpoint import Checkpoint, origin_of, sign_checkpoint
from hub.crypto.leaves import Erased, Served, leaf_of, read_erased
from hub.crypto.registry import Registry
from hub.errors import HubError

if TYPE_CHECKING:
    from pathlib import Path

    from hub.client.api import HubClient
    from hub.crypto.keys import SigningKey

ARCHIVE_PREFIX: Final = "signed-log-"


@dataclass(frozen=True)
class SignedLog:
    """What this machine signed for one network: records by serial, checkpoints by size."""

    folder: Path
    network: str

    @property
    def path(self) -> Path:
        return self.folder / f"{ARCHIVE_PREFIX}{self.network}.jsonl"

    def read(self) -> tuple[dict[int, Served], dict[int, str]]:
        records: dict[int, Served] = {}
        checkpoints: dict[int, str] = {}
        if not self.path.exists():
            return records, checkpoints
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                item: dict[str, Any] = json.loads(line)
                if "erased" in item:
                    serial = int(item["serial"])
                    records[serial] = read_erased({"serial": serial, "leaf": item["erased"]})
                elif "serial" in item:
                    records[int(item["serial"])] = dict(item["record"])
                else:
                    checkpoints[int(item["size"])] = str(item["checkpoint"])
            except (ValueError, KeyError, TypeError, HubError):
                raise ValueError(f"{self.path} är skadad på rad {number}") from None
        return records, checkpoints

    def keep(self, *items: dict[str, Any]) -> None:
        """Append `items` durably (fsync) before anything else is done with them."""
        files.private_folder(self.folder)
        if not self.path.exists():
            os.close(files.open_private(self.path))
        with self.path.open("a", encoding="utf-8") as out:
            for item in items:
                out.write(json.dumps(item, sort_keys=True, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())


def archived(serial: int, item: Served) -> dict[str, Any]:
    """The line SignedLog keeps for one record of the sequence."""
    if isinstance(item, Erased):
        return {"serial": serial, "erased": item.to_wire()["leaf"]}
    return {"serial": serial, "record": item}


async def verified_records(
    client: HubClient, key: SigningKey, keys: Path
) -> tuple[list[Served], Registry]:
    """The hub's sequence verified against our own key and the directory log, never older than
    the view kept in `keys`, and never other than what this machine signed; what we lack is
    taken in. A hub that lacks records signed here (restored from a backup) is refused."""
    verified = ViewFile(keys, client.network).verified_log(key.public)
    await verified.load(client, int(time.time()))
    records = await client.registry_records()
    registry = Registry.load(
        key.public, client.network, records, known_serial=verified.serial, now=int(time.time())
    )
    log = SignedLog(keys, client.network)
    ours, _ = log.read()
    for serial, wire in enumerate(records, 1):
        if serial in ours and leaf_of(ours[serial]) != leaf_of(wire):
            raise ValueError(
                f"hubben visar en annan post {serial} än den du signerade: skicka inget mer; "
                "kontakta hubbens operatör (är det en annan nätverksnyckel eller en annan dator?)"
            )
    if ours and max(ours) > len(records):
        raise ValueError(
            f"hubben saknar {max(ours) - len(records)} poster som du har signerat (den kan vara "
            "återställd från en säkerhetskopia): ge tillbaka dem med `hub admin republish`"
        )
    lacking = [archived(s, w) for s, w in enumerate(records, 1) if s not in ours]
    if lacking:
        log.keep(*lacking)
    return records, registry


def checkpoint_over(key: SigningKey, network: str, records: list[Served]) -> str:
    leaves = [leaf_of(item) for item in records]
    return sign_checkpoint(key, Checkpoint(origin_of(network), len(leaves), merkle.root(leaves)))


async def append(client: HubClient, key: SigningKey, keys: Path, wire: dict[str, str]) -> int:
    """Send one signed record with the checkpoint of the log it makes, after keeping both."""
    records, _ = await verified_records(client, key, keys)
    every = [*records, wire]
    # the next serial, every rule (an erasure's too): or raise
    Registry.load(key.public, client.network, every, now=int(time.time()))
    note = checkpoint_over(key, client.network, every)
    serial = len(every)
    SignedLog(keys, client.network).keep(
        {"serial": serial, "record": wire}, {"size": serial, "checkpoint": note}
    )
    return await client.add_record(wire, note)


async def checkpoint(client: HubClient, key: SigningKey, keys: Path) -> int:
    """A checkpoint of every record the hub holds (a network whose records predate the log)."""
    records, _ = await verified_records(client, key, keys)
    if not records:
        raise ValueError("katalogen är tom: det finns inget att logga ännu")
    note = checkpoint_over(key, client.network, records)
    SignedLog(keys, client.network).keep({"size": len(records), "checkpoint": note})
    return await client.add_checkpoint(note)


async def republish(client: HubClient, key: SigningKey, keys: Path) -> tuple[int, int]:
    """Send a restored hub, in order, every record and checkpoint this machine signed that it
    lacks. Returns (records sent, the log's size)."""
    ours, notes = SignedLog(keys, client.network).read()
    if not ours:
        raise ValueError("inget signerat finns sparat på den här datorn för nätverket")
    held = await client.registry_records()
    Registry.load(key.public, client.network, held)  # ours, or refuse before adding to it
    for serial, wire in enumerate(held, 1):
        if leaf_of(ours.get(serial, wire)) != leaf_of(wire):
            raise ValueError(
                f"hubben har en annan post {serial} än den du signerade: den är inte en "
                "återställd kopia av nätverkets hubb; skicka inget och kontakta operatören"
            )
    if sorted(ours) != list(range(1, len(ours) + 1)):
        raise ValueError("de sparade posterna har en lucka: skicka inget och kontakta supporten")
    every = list(held)
    sent = 0
    for serial in range(len(held) + 1, len(ours) + 1):
        wire = ours[serial]
        if isinstance(wire, Erased):
            raise ValueError(
                f"post {serial} finns här bara i raderad form: hubben kan inte få tillbaka den "
                "härifrån; kontakta supporten"
            )
        every.append(wire)
        note = notes.get(serial) or checkpoint_over(key, client.network, every)
        await client.add_record(wire, note)
        sent += 1
    if held and len(ours) == len(held):
        await client.add_checkpoint(
            notes.get(len(held)) or checkpoint_over(key, client.network, every)
        )
    return sent, len(every)
