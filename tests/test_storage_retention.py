"""The storage side of retention (Transaction.remove_case, freeze_report; Storage.reclaim,
get_frozen_report, list_network_ids), on a real SQLite file: one case goes with every row that
names it or its messages, in every table, and no file keeps a byte of it; the other case is
untouched. A second backend can run the same checks against its own storage."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hub.protocol.notices import clock_cause, delivery_cause
from hub.storage.audit import check_chain
from hub.storage.base import (
    AlarmRow,
    CaseRow,
    EnvelopeRow,
    Network,
    NotFound,
    NoticeRow,
    ReceiptRow,
    StaleVersion,
)
from hub.storage.sqlite import SqliteStorage

NET = "skane"
GONE = bytes.fromhex("a1" * 16)
KEPT = bytes.fromhex("b2" * 16)


def _message(case_id: bytes, n: int) -> bytes:
    return case_id[:15] + bytes([n])


async def _case_with_everything(storage: SqliteStorage, case_id: bytes) -> list[bytes]:
    """A case with rows in every table that can name it: requests, two envelopes (one body in
    the database, one a file), receipts, an outcome report, alarms, a fired alarm, notices of
    its clock and of its messages, and audit records naming it and its messages."""
    messages = [_message(case_id, 1), _message(case_id, 2)]
    hexed = case_id.hex()
    async with storage.transaction() as tx:
        await tx.add_case(
            CaseRow(case_id, NET, "malmo", {"x": 1}, (("lund", "declined", 50),), 10, 10)
        )
        rows = [
            EnvelopeRow(
                m,
                NET,
                case_id,
                1,
                b"\x01" * 16,
                "malmo",
                ("lund",),
                (b"\x02" * 16,),
                4096,
                m * 2,
                20,
                30,
            )
            for m in messages
        ]
        await tx.add_envelopes(rows, [case_id * 8, None])
        for m in messages:
            await tx.add_receipt(
                ReceiptRow(m, b"\x02" * 16, "lund", "delivered", 40, {"message_id": m.hex()}, 41)
            )
            await tx.add_notice(
                NoticeRow(
                    f"{delivery_cause(m.hex(), 'lund')}/a@lund.example",
                    delivery_cause(m.hex(), "lund"),
                    NET,
                    "lund",
                    "contact",
                    "a@lund.example",
                    "new_message",
                    42,
                    42,
                )
            )
            await tx.append_audit(
                at=43,
                actor="system",
                action="envelope_uploaded",
                subject={"message_id": m.hex(), "to": ["lund"]},
            )
        await tx.put_outcome_report(case_id, NET, "malmo", {"moved": False}, 44)
        await tx.replace_alarms(
            case_id, [AlarmRow(case_id, NET, "malmo", "lund", "answer", 1, 45, 46)]
        )
        cause = clock_cause(hexed, "lund", "answer", 46)
        await tx.mark_fired(f"{cause}/1", 47)
        await tx.add_notice(
            NoticeRow(
                f"{cause}/1/contact/a@lund.example",
                cause,
                NET,
                "lund",
                "contact",
                "a@lund.example",
                "due_soon",
                47,
                47,
            )
        )
        await tx.append_audit(
            at=48,
            actor="system",
            action="case_event",
            subject={"case_id": hexed, "event": "decline"},
        )
    file_blob = await storage.blobs.write(_chunks(case_id * 300), max_size=10_000)
    await file_blob.commit(messages[1])
    return messages


async def _chunks(data: bytes) -> Any:
    yield data


@pytest.fixture
async def storage(tmp_path: Path) -> Any:
    opened = await SqliteStorage.open(tmp_path / "data")
    async with opened.transaction() as tx:
        await tx.add_network(Network(NET, "Skåne", bytes(32), {}, 1))
    yield opened
    await opened.close()


def _holding(data_dir: Path, needle: bytes) -> list[str]:
    return [p.name for p in data_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_remove_case_takes_every_row_of_the_case_and_nothing_else(storage, tmp_path):
    data_dir = tmp_path / "data"
    gone_messages = await _case_with_everything(storage, GONE)
    kept_messages = await _case_with_everything(storage, KEPT)
    needles = [
        GONE,
        GONE.hex().encode(),
        *gone_messages,
        *(m.hex().encode() for m in gone_messages),
    ]
    assert all(_holding(data_dir, n) for n in needles)

    row = await storage.get_case(GONE)
    with pytest.raises(StaleVersion):
        async with storage.transaction() as tx:
            await tx.remove_case(GONE, row.version + 1)
    async with storage.transaction() as tx:
        removed = await tx.remove_case(GONE, row.version)
    assert removed.envelopes == 2
    assert removed.blob_files == (gone_messages[1],)
    assert removed.audit_subjects == 3
    assert removed.notices == 3
    assert await storage.blobs.remove(removed.blob_files) == 1
    assert await storage.reclaim()

    assert [n for n in needles if _holding(data_dir, n)] == []
    with pytest.raises(NotFound):
        await storage.get_case(GONE)
    with pytest.raises(NotFound):
        async with storage.transaction() as tx:
            await tx.remove_case(GONE, row.version)
    # The other case is whole.
    assert (await storage.get_case(KEPT)).case_id == KEPT
    assert len(await storage.list_alarms(KEPT)) == 1
    assert await storage.get_outcome_report(KEPT) == {"moved": False}
    for m in kept_messages:
        assert (await storage.get_envelope(m)).case_id == KEPT
        assert len(await storage.list_receipts(m)) == 1
    assert len(await storage.list_notices(NET, ["pending"])) == 3
    records = [r async for r in storage.audit_records()]
    check = check_chain(records)
    assert (check.broken, check.erased) == (None, 3)
    assert storage.blobs.path_of(kept_messages[1]).is_file()


async def test_a_frozen_year_stays_as_first_frozen(storage):
    assert await storage.get_frozen_report(NET, 2026) is None
    async with storage.transaction() as tx:
        assert await tx.freeze_report(NET, 2026, {"year": 2026, "v": 1}, 100)
        assert not await tx.freeze_report(NET, 2026, {"year": 2026, "v": 2}, 200)
    assert await storage.get_frozen_report(NET, 2026) == {"year": 2026, "v": 1}
    assert await storage.get_frozen_report(NET, 2025) is None
    assert await storage.list_network_ids() == [NET]


async def test_envelopes_without_a_case_row_are_removed_by_their_case_id(storage, tmp_path):
    messages = await _case_with_everything(storage, GONE)
    async with storage.transaction() as tx:
        await tx.update_case(  # as if the case had gone and only its envelopes were left
            CaseRow(GONE, NET, "malmo", {"x": 1}, (), 10, 11, version=2)
        )
    assert await storage.list_caseless_envelopes(NET) == []
    with pytest.raises(StaleVersion):  # it has a row
        async with storage.transaction() as tx:
            await tx.remove_caseless(GONE, received_by=30)
    db = sqlite3.connect(tmp_path / "data" / "hub.sqlite3", isolation_level=None)
    db.execute("DELETE FROM outcome_reports")
    db.execute("DELETE FROM case_requests")
    db.execute("DELETE FROM cases")
    db.close()
    assert await storage.list_caseless_envelopes(NET) == [(GONE, 30)]
    with pytest.raises(StaleVersion):  # one arrived after retention read them
        async with storage.transaction() as tx:
            await tx.remove_caseless(GONE, received_by=29)
    async with storage.transaction() as tx:
        removed = await tx.remove_caseless(GONE, received_by=30)
    assert (removed.envelopes, removed.blob_files) == (2, (messages[1],))
    assert await storage.list_caseless_envelopes(NET) == []
