"""A contact person's keys from before a stolen machine (issue 17; docs/protocol.md §3.7):
`hub recovery restore --stolen` puts the restored old key in the key folder's `tidigare/`,
sealed under the new passphrase, beside the new key it enrolled. The old key is revoked as
compromised and never signs again; the inbox keeps it only to open what was sealed to it
before, so the open cases stay readable without anyone handing them over."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity

if TYPE_CHECKING:
    from pathlib import Path

PREVIOUS_KEYS: Final = "tidigare"  # in the key folder


def previous_key_path(keys_dir: Path, key_id: bytes) -> Path:
    return keys_dir / PREVIOUS_KEYS / f"{key_id.hex()}.key"


def read_previous_keys(keys_dir: Path, passphrase: str) -> tuple[PrivateIdentity, ...]:
    """Every earlier key in `keys_dir`, opened with the same passphrase as the current one
    (blocking: one Argon2id run each). KeyFileError as keyfile.read_keyfile."""
    folder = keys_dir / PREVIOUS_KEYS
    if not folder.is_dir():
        return ()
    found = []
    for path in sorted(folder.glob("*.key")):
        key = keyfile.read_keyfile(path, passphrase)
        if isinstance(key, PrivateIdentity):
            found.append(key)
    return tuple(found)
