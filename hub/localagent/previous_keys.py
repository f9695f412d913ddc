"""A contact person's keys from before a stolen machine (issue 17; docs/protocol.md §3.7):
`hub recovery restore --stolen` puts the restored old key in the key folder's `tidigare/`,
sealed under the new passphrase, beside the new key it enrolled. The old key is revoked as
compromised and never signs again; the inbox keeps it only to open what was sealed to it
before, so the open cases stay readable without anyone handing them over."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity
from hub.errors import KeyFileError

if TYPE_CHECKING:
    from pathlib import Path

PREVIOUS_KEYS: Final = "tidigare"  # in the key folder
log = logging.getLogger("hub.localagent")


def previous_key_path(keys_dir: Path, key_id: bytes) -> Path:
    return keys_dir / PREVIOUS_KEYS / f"{key_id.hex()}.key"


def read_previous_keys(keys_dir: Path, passphrase: str) -> tuple[PrivateIdentity, ...]:
    """Every earlier key in `keys_dir` that opens with the passphrase that opened the current
    one (blocking: one Argon2id run each). One that does not open is left out, with a warning in
    the log: it must not keep the inbox locked, since the current key opened."""
    folder = keys_dir / PREVIOUS_KEYS
    if not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.glob("*.key")):
        try:
            key = keyfile.read_keyfile(path, passphrase)
        except KeyFileError as exc:
            log.warning("an earlier key was not opened: %s (%s)", path.name, exc.code)
            continue
        if isinstance(key, PrivateIdentity):
            found.append(key)
    return tuple(found)
