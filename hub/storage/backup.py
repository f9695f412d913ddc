"""`hub backup` and `hub restore` for the embedded backend (SQLite and the blob folder).

A backup is a folder: `hub.sqlite3` (a copy made by SQLite's online backup API in one step, so
it is one consistent snapshot even while the hub writes; an envelope up to 256 KiB is in it,
table envelope_bodies), `blobs/` (the file of every larger envelope that snapshot refers to,
in the data folder's own layout) and `manifest.json` (the SHA-256 and size of every other
file, written last). An upload places its blob before it commits its row,
so every row in the snapshot has its blob on disk; a blob placed after the snapshot is simply
not in the backup, and neither is its row.

What a backup holds is what the data folder holds: ciphertext and routing metadata. The hub
has no key that opens an envelope, so neither has its backup.

The manifest's hashes catch a damaged or incomplete copy, not a deliberate forgery (whoever can
rewrite the files can rewrite the manifest); keep backups where only the operator can write.

Backup and retention (gallring) never run at once: both take `maintenance.lock` in the data
folder (an exclusive flock, released when the process ends, even by a crash).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.storage.audit import verify_chain
from hub.storage.sqlite_audit import AUDIT_SELECT, AUDIT_SELECT_V1, audit_from_row

if TYPE_CHECKING:
    from collections.abc import Iterator

    from hub.storage.base import AuditRecord

FORMAT = "hub-backup/v1"
MANIFEST = "manifest.json"
LOCK_NAME = "maintenance.lock"
DB_NAME = "hub.sqlite3"  # as hub/storage/sqlite.py names them
BLOB_DIR = "blobs"
_BLOCK = 1024 * 1024


class BackupError(ValueError):
    """A backup that cannot be made or cannot be trusted; the message is for the operator."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    schema_version: int
    envelopes: int
    audit_records: int
    total_bytes: int


# --- the lock ------------------------------------------------------------------------------


@contextlib.contextmanager
def maintenance_lock(data_dir: Path, what: str) -> Iterator[None]:
    """Hold the data folder's maintenance lock while `what` runs; refuse if another holds it."""
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"{what}: en annan underhållsåtgärd (säkerhetskopiering eller gallring) pågår i "
                f"{data_dir} och håller {LOCK_NAME}; försök igen när den är klar"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


# --- small helpers -------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    """Copy `source` to a new file `target` (0600, fsynced); its SHA-256 hex and size."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
        while block := src.read(_BLOCK):
            digest.update(block)
            size += len(block)
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest(), size


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _blob_relpath(message_id: bytes) -> str:
    name = message_id.hex()
    return f"{BLOB_DIR}/{name[:2]}/{name}"


def _must_be_empty(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{what} {path} finns redan och är inte en tom mapp; inget skrevs")


def _read_only(db: Path) -> sqlite3.Connection:
    # immutable: the copy is not being written by anyone, and no -wal or -shm file is made.
    return sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def _schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def _audit_records(conn: sqlite3.Connection) -> Iterator[AuditRecord]:
    """The copy's audit log, whether it was made before migration 0008 or after."""
    after_0008 = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_subjects'"
    ).fetchone()
    select = AUDIT_SELECT if after_0008 else AUDIT_SELECT_V1
    for row in conn.execute(f"{select} ORDER BY 1"):
        yield audit_from_row(row)


# --- backup --------------------------------------------------------------------------------


def backup(data_dir: Path, dest: Path, *, now: float | None = None) -> BackupSummary:
    """Copy the hub in `data_dir` to the new folder `dest` while the hub may be serving."""
    db = data_dir / DB_NAME
    if not db.is_file():
        raise BackupError(f"det finns ingen hubb i {data_dir} ({DB_NAME} saknas)")
    _must_be_empty(dest, "målet")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with maintenance_lock(data_dir, "säkerhetskopian"):
            summary = _backup(data_dir, dest, time.time() if now is None else now)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # nothing half-made is left to be trusted
        raise
    return summary


def _backup(data_dir: Path, dest: Path, now: float) -> BackupSummary:
    files: dict[str, dict[str, Any]] = {}
    copy = dest / DB_NAME
    os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private from the start
    source = sqlite3.connect(data_dir / DB_NAME, timeout=10)
    try:
        target = sqlite3.connect(copy)
        try:
            # pages=-1 (the default): all pages in one step under one read transaction, so the
            # copy is a single committed state; the hub's writer is not blocked (WAL).
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("kopian av databasen klarar inte SQLite:s integritetskontroll")
        finally:
            target.close()
    finally:
        source.close()
    with copy.open("rb+") as f:
        os.fsync(f.fileno())
    files[DB_NAME] = dict(zip(("sha256", "size"), _hash_file(copy), strict=True))

    conn = _read_only(copy)
    try:
        version = _schema_version(conn)
        count = conn.execute("SELECT COUNT(*) FROM envelopes").fetchone()[0]
        rows = _envelopes_in_files(conn)
        audit = conn.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM audit").fetchone()
    finally:
        conn.close()
    for message_id, size in rows:
        relpath = _blob_relpath(bytes(message_id))
        source_blob = data_dir / relpath
        if not source_blob.is_file():
            raise BackupError(f"blobben {relpath} saknas i {data_dir}: datamappen är skadad")
        sha256, copied = _copy_hashing(source_blob, dest / relpath)
        if copied != size:
            raise BackupError(f"blobben {relpath} har fel storlek: datamappen är skadad")
        files[relpath] = {"sha256": sha256, "size": copied}
    for folder in sorted({p.parent for p in dest.rglob("*") if p.is_file()}, reverse=True):
        _fsync_dir(folder)

    manifest = {
        "format": FORMAT,
        "created_at": int(now),
        "schema_version": version,
        "envelopes": int(count),
        "audit_records": int(audit[0]),
        "audit_last_seq": int(audit[1]),
        "files": files,
    }
    temp = dest / (MANIFEST + ".tmp")
    temp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    with temp.open("rb+") as f:
        os.fsync(f.fileno())
    temp.replace(dest / MANIFEST)
    _fsync_dir(dest)
    return BackupSummary(
        dest, version, int(count), int(audit[0]), sum(f["size"] for f in files.values())
    )


# --- verify and restore --------------------------------------------------------------------


def _refuse(source: Path, why: str) -> BackupError:
    return BackupError(
        f"säkerhetskopian i {source} går inte att lita på: {why}; inget återställdes"
    )


def _load_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise _refuse(source, f"{MANIFEST} saknas (en avbruten eller ofullständig kopia?)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _refuse(source, f"{MANIFEST} är inte giltig JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(source, f"{MANIFEST} är inte ett manifest av formatet {FORMAT}")
    files = manifest.get("files")
    if not isinstance(files, dict) or DB_NAME not in files:
        raise _refuse(source, f"{MANIFEST} räknar inte upp databasen")
    for relpath, entry in files.items():
        parts = Path(relpath).parts
        if Path(relpath).is_absolute() or ".." in parts or not parts:
            raise _refuse(source, f"manifestet nämner en sökväg utanför kopian: {relpath!r}")
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and isinstance(entry.get("size"), int)
        ):
            raise _refuse(source, f"manifestets post för {relpath} är felaktig")
    return manifest


def _envelopes_in_files(conn: sqlite3.Connection) -> list[tuple[bytes, int]]:
    """(message id, size) of every envelope whose bytes are a file under blobs/: all of them
    before migration 0005, and afterwards those not kept in the database (envelope_bodies)."""
    inline = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'envelope_bodies'"
    ).fetchone()
    if inline is None:
        return conn.execute("SELECT message_id, size FROM envelopes ORDER BY seq").fetchall()
    return conn.execute(
        "SELECT message_id, size FROM envelopes AS e WHERE NOT EXISTS"
        " (SELECT 1 FROM envelope_bodies AS b WHERE b.seq = e.seq) ORDER BY seq"
    ).fetchall()


def verify_backup(source: Path) -> dict[str, Any]:
    """The manifest of the backup in `source` once every check holds; BackupError otherwise.

    Checks: the manifest lists exactly the files there are, each with its hash and size; the
    database passes SQLite's integrity check; every envelope it names has its blob; the audit
    chain holds; the counts are the manifest's."""
    manifest = _load_manifest(source)
    files: dict[str, dict[str, Any]] = manifest["files"]
    present = {
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if not p.is_dir() and p.name != MANIFEST
    }
    if present - set(files):
        raise _refuse(source, f"filer som manifestet inte nämner: {sorted(present - set(files))}")
    if set(files) - present:
        raise _refuse(source, f"filer saknas: {sorted(set(files) - present)}")
    for relpath, entry in sorted(files.items()):
        if _hash_file(source / relpath) != (entry["sha256"], entry["size"]):
            raise _refuse(source, f"{relpath} har ändrats eller skadats (SHA-256 stämmer inte)")
    try:
        conn = _read_only(source / DB_NAME)
        try:
            if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise _refuse(source, "databasen klarar inte SQLite:s integritetskontroll")
            message_ids = [bytes(m) for m, _ in _envelopes_in_files(conn)]
            stored = conn.execute("SELECT COUNT(*) FROM envelopes").fetchone()[0]
            broken = verify_chain(_audit_records(conn))
            counts = (
                _schema_version(conn),
                stored,
                conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0],
            )
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _refuse(source, f"databasen går inte att läsa ({exc})") from None
    missing = [m.hex() for m in message_ids if _blob_relpath(m) not in files]
    if missing:
        raise _refuse(source, f"{len(missing)} meddelanden saknar sin blob")
    if broken is not None:
        raise _refuse(source, f"granskningsloggen är bruten vid post {broken}")
    expected = (manifest["schema_version"], manifest["envelopes"], manifest["audit_records"])
    if counts != expected:
        raise _refuse(source, "databasens antal stämmer inte med manifestet")
    return manifest


def restore(source: Path, data_dir: Path) -> dict[str, Any]:
    """Put the verified backup in `source` into `data_dir`, which must be absent or empty.

    Every file is hashed again as it is copied; on any failure what was copied is removed, so
    the data folder is left empty. The database takes its name last."""
    _must_be_empty(data_dir, "datamappen")
    manifest = verify_backup(source)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        for relpath, entry in sorted(manifest["files"].items()):
            if relpath == DB_NAME:
                continue
            if _copy_hashing(source / relpath, data_dir / relpath) != (
                entry["sha256"],
                entry["size"],
            ):
                raise _refuse(source, f"{relpath} ändrades medan den kopierades")
        temp = data_dir / (DB_NAME + ".restoring")
        entry = manifest["files"][DB_NAME]
        if _copy_hashing(source / DB_NAME, temp) != (entry["sha256"], entry["size"]):
            raise _refuse(source, f"{DB_NAME} ändrades medan den kopierades")
        temp.replace(data_dir / DB_NAME)
        for folder in sorted({p.parent for p in data_dir.rglob("*")}, reverse=True):
            _fsync_dir(folder)
    except BaseException:
        for child in list(data_dir.iterdir()):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        raise
    return manifest
