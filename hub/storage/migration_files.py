"""The schema's migrations for both backends, from one folder: hub/storage/migrations.

Each version is one file, `NNNN_name.sql`, numbered without gaps. That file is the SQLite
migration, and PostgreSQL's too unless `migrations/postgresql/NNNN_name.sql` exists beside it:
then that variant (the same change in PostgreSQL's dialect) is applied there instead. Both
backends therefore always know the same versions, under the same names, and a change written
in SQL both understand is written once.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Final, Literal

from hub.storage.base import StorageError

Dialect = Literal["sqlite", "postgresql"]
_MIGRATION_NAME: Final = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _files(folder: str) -> dict[str, str]:
    root = resources.files("hub.storage").joinpath("migrations")
    if folder:
        root = root.joinpath(folder)
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in root.iterdir()
        if _MIGRATION_NAME.match(entry.name)
    }


def migrations(dialect: Dialect = "sqlite") -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration for `dialect`, in version order."""
    shared = _files("")
    variants = _files("postgresql") if dialect == "postgresql" else {}
    strays = set(variants) - set(shared)
    if strays:
        raise StorageError(f"a PostgreSQL variant without its migration: {sorted(strays)}")
    found = sorted(
        (int(name[:4]), name, variants.get(name, script)) for name, script in shared.items()
    )
    if [version for version, _, _ in found] != list(range(1, len(found) + 1)):
        raise StorageError("migrations must be numbered 0001, 0002, … without gaps")
    return found
