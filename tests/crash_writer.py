"""Run by tests/test_storage.py and killed at a random moment: stores envelopes the way the hub
does (blob written, blob committed, row committed in a transaction) and prints each message id
only after all three, as the hub acknowledges an upload only then.

    python tests/crash_writer.py DATA_DIR RUN
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub.crypto import primitives as p
from hub.storage.base import EnvelopeRow
from hub.storage.sqlite import SqliteStorage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

NETWORK = "crash-net"
MAX_SIZE = 1536 * 1024
CHUNK = 200 * 1024


def message_id(run: int, index: int) -> bytes:
    return p.blake2b(f"crash/{run}/{index}".encode(), size=16, person=b"test-crash")


def content(mid: bytes) -> bytes:
    """The blob for `mid`: its size and bytes follow from the id alone."""
    size = 1 + int.from_bytes(mid[:4], "big") % MAX_SIZE
    block = p.blake2b(mid, size=64, person=b"test-crash")
    return (block * (size // len(block) + 1))[:size]


def row_for(mid: bytes, data: bytes, at: int) -> EnvelopeRow:
    return EnvelopeRow(
        message_id=mid,
        network_id=NETWORK,
        case_id=mid[::-1],
        kind=1,
        sender_key_id=bytes(16),
        sender_municipality="A",
        recipient_municipalities=("B",),
        recipient_key_ids=(bytes(16),),
        size=len(data),
        digest=p.blake2b(data, size=32),
        created_at=at,
        received_at=at,
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


async def main(data_dir: Path, run: int) -> None:
    storage = await SqliteStorage.open(data_dir)
    for index in range(100_000):
        mid = message_id(run, index)
        data = content(mid)
        pending = await storage.blobs.write(_chunks(data), max_size=MAX_SIZE)
        await pending.commit(mid)
        async with storage.transaction() as tx:
            await tx.add_envelope(row_for(mid, data, index))
            await tx.append_audit(
                at=index,
                actor="system",
                action="envelope_uploaded",
                subject={"message_id": mid.hex()},
            )
        print(mid.hex(), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
