"""What the county administrator invited, kept on their own machine (issue 12).

`hub admin invite` writes one record per invite to `KEYS/invites.json` (mode 0600): the code's
hash (never the code), the municipality, the person, the role and when it runs out.
`hub admin approve` and `rotate` then judge a pending enrolment against that record, not
against the hub's description: the enrolment must name an invite made here, the new key must
have signed that invite's hash (its proof of possession, docs/api.md "Enrolment"), and the hub's
municipality, person and role must be the invited ones. The entry is signed with the record's
values. A hub that changed the description is caught before the fingerprint is even asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hub.crypto import primitives as p
from hub.protocol.enrolment import CODE_HASH_BYTES, enrol_message

if TYPE_CHECKING:
    from hub.crypto.keys import PublicIdentity

INVITES_NAME: Final = "invites.json"
_FIELDS: Final = ("municipality", "person", "role")


def remember_invite(  # noqa: PLR0913 - the invite's parts
    keys: Path,
    code_hash: bytes,
    *,
    municipality: str,
    person: str,
    role: str,
    expires_at: int,
) -> None:
    """Add one invite to the record, atomically and readable by its owner only."""
    invites = read_invites(keys)
    invites[code_hash.hex()] = {
        "municipality": municipality,
        "person": person,
        "role": role,
        "expires_at": expires_at,
    }
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, name = tempfile.mkstemp(dir=keys, prefix=".invites-")  # mode 0600
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(invites, out, ensure_ascii=False, indent=1, sort_keys=True)
        temporary.replace(keys / INVITES_NAME)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_invites(keys: Path) -> dict[str, dict[str, Any]]:
    path = keys / INVITES_NAME
    if not path.exists():
        return {}
    found = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(found, dict):
        raise ValueError(f"{path} är skadad")
    return found


def invited_as(
    keys: Path, network: str, enrolment: dict[str, Any], identity: PublicIdentity
) -> dict[str, str]:
    """The municipality, person and role this machine invited the enrolment's key as; ValueError
    (Swedish) if the enrolment names no invite made here, the key did not sign that invite, or
    the hub describes it otherwise."""
    code_hash_hex, proof_text = enrolment.get("code_hash"), enrolment.get("proof")
    if not isinstance(code_hash_hex, str) or not isinstance(proof_text, str):
        raise ValueError(
            "registreringen säger inte vilken inbjudan den gjordes med (den är äldre än den här "
            "versionen): avslå den med `hub admin reject` och bjud in personen på nytt"
        )
    record = read_invites(keys).get(code_hash_hex)
    if record is None:
        raise ValueError(
            "registreringen hör inte till någon inbjudan som gjorts på den här datorn: "
            "godkänn den inte"
        )
    try:
        code_hash = bytes.fromhex(code_hash_hex)
        proof = base64.b64decode(proof_text, validate=True)
        if len(code_hash) != CODE_HASH_BYTES:
            raise ValueError
        message = enrol_message(network=network, code_hash=code_hash, key_id=identity.key_id)
        p.ed25519_verify(identity.signing_key, message, proof)
    except (ValueError, binascii.Error, p.AuthenticationFailed):
        raise ValueError(
            "nyckeln har inte skrivit under inbjudan som registreringen uppger: godkänn den inte"
        ) from None
    local = {name: str(record[name]) for name in _FIELDS}
    said = {name: str(enrolment.get(name)) for name in _FIELDS}
    if said != local:
        raise ValueError(
            f"hubben uppger {said['municipality']}, {said['person']} ({said['role']}), men du "
            f"bjöd in {local['municipality']}, {local['person']} ({local['role']}): "
            "godkänn den inte och kontakta hubbens operatör"
        )
    return local
