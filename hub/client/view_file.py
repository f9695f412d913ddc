"""The last view of a network's signed sequence that an agent verified, kept in its own state
folder across runs (issue 12 point 2, issue 14 "Clients remember").

The inbox keeps its view in its encrypted cache (hub/inbox/sync.py); the follow-up agent and
`hub admin` have no cache, so they keep it here: `DIR/verified-view.json`, mode 0600, one
member per network: the highest serial, the checkpoint last accepted, when a quorum of
witnesses had cosigned it, and any evidence of a conflict (hub/client/verified_log.py). A hub
that serves an older view on a later run is then refused as it is within one run. The file only
ever grows: a smaller serial is never written over a larger one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from hub import files
from hub.client.verified_log import VerifiedLog
from hub.errors import HubError

if TYPE_CHECKING:
    from pathlib import Path

VIEW_NAME: Final = "verified-view.json"


@dataclass(frozen=True)
class ViewFile:
    """One network's remembered view in `folder` (the agent's key folder)."""

    folder: Path
    network: str

    @property
    def path(self) -> Path:
        return self.folder / VIEW_NAME

    def serial(self) -> int:
        """The highest serial verified on an earlier run (0: none)."""
        value = self._read().get(self.network, {}).get("serial", 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{self.path} är skadad: serienumret är inte ett heltal")
        return value

    def verified_log(self, admin_public: bytes) -> VerifiedLog:
        """The view kept here, to verify the next one from; it keeps itself here as it grows."""
        found = VerifiedLog(admin_public, self.network, keep=self.keep)
        entry = self._read().get(self.network)
        if entry is not None:
            try:
                found.restore(json.dumps(entry))
            except (ValueError, KeyError, TypeError, HubError):
                raise ValueError(
                    f"{self.path} är skadad: radera den inte, kontakta supporten"
                ) from None
        return found

    async def keep(self, log: VerifiedLog) -> None:
        if log.serial < self.serial():
            return
        views = self._read()
        views[self.network] = json.loads(log.to_json())
        self._write(views)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            found = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError):
            found = None
        if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
            raise ValueError(f"{self.path} är skadad: radera den inte, kontakta supporten")
        return found

    def _write(self, views: dict[str, dict[str, Any]]) -> None:
        files.private_folder(self.folder)
        temporary = self.folder / f".{VIEW_NAME}.{os.getpid()}"
        files.remove_quietly(temporary)
        fd = files.open_private(temporary)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(views, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            temporary.replace(self.path)
        except BaseException:
            files.remove_quietly(temporary)
            raise
        files.sync_folder(self.folder)
