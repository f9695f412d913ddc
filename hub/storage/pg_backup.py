"""`hub backup` and `hub restore` on the PostgreSQL backend: PostgreSQL's own tools, with the
hub's checks around them.

A backup is a folder: `hub.pgdump` (pg_dump's custom format, one consistent snapshot taken
while every instance serves: rows, blobs in chunks, the audit log) and `manifest.json` (its
SHA-256 and size, the schema version, the counts and the audit chain's last hash, read in the
same snapshot as the dump: pg_dump is given that exported snapshot). Restore goes into an empty
database only: the dump's hash must hold, pg_restore runs as one transaction, and afterwards
the audit chain must hold with the manifest's last hash and counts. pg_dump and pg_restore
come from Debian's postgresql-client (on PATH, or in /usr/lib/postgresql/VERSION/bin), of the
server's major version or newer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import psycopg

from hub.storage.audit import verify_chain
from hub.storage.backup import MANIFEST, BackupError, BackupSummary
from hub.storage.pg_signals import CONNECT_ARGS
from hub.storage.postgres import PostgresStorage

if TYPE_CHECKING:
    from collections.abc import Sequence

FORMAT: Final = "hub-backup-postgresql/v1"
DUMP: Final = "hub.pgdump"
_BLOCK: Final = 1024 * 1024
PG_ROOT: Final = Path("/usr/lib/postgresql")


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest in Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        PG_ROOT.glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise BackupError(f"{name} saknas: installera postgresql-client")
    return str(candidates[-1])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _run(command: Sequence[str]) -> None:
    done = subprocess.run(  # noqa: S603 - our own tool and arguments, no shell
        list(command), capture_output=True, text=True, check=False, timeout=24 * 3600
    )
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} misslyckades: {done.stderr.strip()[:500]}")


@dataclass(frozen=True)
class _Snapshot:
    schema_version: int
    envelopes: int
    audit_records: int
    last_hash: str | None


def backup_postgresql(url: str, dest: Path) -> BackupSummary:
    """Dump the database at `url` into the new folder `dest`, with its manifest."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"målet {dest} finns redan och är inte en tom mapp; inget skrevs")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            # One snapshot for the counts and for pg_dump (exported to it): they agree.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert row is not None  # noqa: S101 - the function returns one row
            snapshot = str(row[0])
            facts = _read_facts(conn)
            dump = dest / DUMP
            _run(
                [
                    pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    url,
                ]
            )
            conn.execute("COMMIT")
        os.chmod(dump, 0o600)  # noqa: PTH101
        size = dump.stat().st_size
        manifest = {
            "format": FORMAT,
            "schema_version": facts.schema_version,
            "envelopes": facts.envelopes,
            "audit_records": facts.audit_records,
            "audit_last_hash": facts.last_hash,
            "files": {DUMP: {"sha256": _sha256(dump), "size": size}},
        }
        (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # nothing half-made is left to be trusted
        raise
    return BackupSummary(dest, facts.schema_version, facts.envelopes, facts.audit_records, size)


def _read_facts(conn: psycopg.Connection[Any]) -> _Snapshot:
    row = conn.execute(
        "SELECT (SELECT COALESCE(MAX(version), 0) FROM schema_version),"
        " (SELECT count(*) FROM envelopes), (SELECT count(*) FROM audit),"
        " (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1)"
    ).fetchone()
    assert row is not None  # noqa: S101 - one row of aggregates, always
    version, envelopes, audit, last = row
    return _Snapshot(
        int(version), int(envelopes), int(audit), None if last is None else bytes(last).hex()
    )


def _manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} är ingen säkerhetskopia av hubben: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} är ingen säkerhetskopia av en hubb på PostgreSQL")
    entry = manifest.get("files", {}).get(DUMP, {})
    dump = source / DUMP
    if not dump.is_file() or dump.stat().st_size != entry.get("size"):
        raise BackupError(f"{DUMP} saknas eller har fel storlek")
    if _sha256(dump) != entry.get("sha256"):
        raise BackupError(f"{DUMP} stämmer inte med manifestet: kopian är skadad")
    return manifest


async def restore_postgresql(source: Path, url: str) -> dict[str, Any]:
    """Restore the backup in `source` into the empty database at `url`, then check it."""
    manifest = _manifest(source)
    async with await psycopg.AsyncConnection.connect(url, **CONNECT_ARGS) as conn:
        cursor = await conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        row = await cursor.fetchone()
        if row is None or row[0] != 0:
            raise BackupError("måldatabasen är inte tom: återställ bara till en ny, tom databas")
    _run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={url}",
            str(source / DUMP),
        ]
    )
    storage = await PostgresStorage.open(url, pool_size=1)
    try:
        records = [r async for r in storage.audit_records()]
        async with storage.pool.connection() as conn:
            cursor = await conn.execute("SELECT count(*) FROM envelopes")
            row = await cursor.fetchone()
    finally:
        await storage.close()
    broken = verify_chain(records)
    if broken is not None:
        raise BackupError(
            f"granskningsloggen i den återställda databasen är bruten vid post {broken}"
        )
    last = records[-1].hash.hex() if records else None
    if (
        len(records) != manifest["audit_records"]
        or last != manifest["audit_last_hash"]
        or row is None
        or row[0] != manifest["envelopes"]
    ):
        raise BackupError("den återställda databasen stämmer inte med manifestet")
    return manifest
