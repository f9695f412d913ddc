"""Enrolment by invite: the one-time code and the bytes a new contact person signs (docs/api.md,
"Enrolment").

The county administrator makes the code on their own machine and reads it to the new contact
person by phone; the hub stores only its hash. The new person proves possession of the signing
key they enrol by signing the network, the code's hash and the key id. The hub vouches for
nothing: the key becomes valid only in a directory entry the administrator signs.

    code       = 4 groups of 5 characters from CODE_ALPHABET, joined by "-"     (100 bits)
    code_hash  = BLAKE2b-256(person="hub-invite/v1", UTF-8(code))
    proof      = Ed25519(new key, "hub-enrol/v1\\n" || network || "\\n" || code_hash || key_id)
"""

from __future__ import annotations

import secrets
from typing import Final

from hub.crypto import primitives as p

# Crockford's base32: no I, L, O or U, so nothing read over the phone is mistaken for another.
CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS: Final = 4
CODE_GROUP_LENGTH: Final = 5
CODE_HASH_BYTES: Final = 32
INVITE_PERSON: Final = b"hub-invite/v1"
ENROL_CONTEXT: Final = b"hub-enrol/v1\n"
_READ_ALIKE: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_invite_code() -> str:
    """A fresh code: 20 characters of 5 bits each, from the operating system's generator."""
    length = CODE_GROUPS * CODE_GROUP_LENGTH
    return grouped("".join(secrets.choice(CODE_ALPHABET) for _ in range(length)))


def normalise_code(text: str) -> str:
    """The code in its one spelling; ValueError if it cannot be one.

    Case, spaces and hyphens do not matter, and O, I and L are read as 0, 1 and 1, as a code
    typed from a phone call may have them.
    """
    plain = plain_code(text)
    if len(plain) != CODE_GROUPS * CODE_GROUP_LENGTH or any(c not in CODE_ALPHABET for c in plain):
        raise ValueError("inbjudningskoden ska vara 20 tecken (fyra grupper om fem)")
    return grouped(plain)


def plain_code(text: str) -> str:
    """A typed code's characters alone: no spaces or hyphens, upper case, O, I and L as 0, 1
    and 1. The invite code and the recovery code (hub/protocol/recovery.py) are both read so."""
    return "".join(text.split()).replace("-", "").upper().translate(_READ_ALIKE)


def grouped(plain: str, size: int = CODE_GROUP_LENGTH) -> str:
    """The characters in groups of `size`, joined by hyphens: the way a code is written."""
    return "-".join(plain[i : i + size] for i in range(0, len(plain), size))


def invite_code_hash(code: str) -> bytes:
    """The hash the hub stores for a code (the code is normalised first)."""
    return p.blake2b(
        normalise_code(code).encode("utf-8"), size=CODE_HASH_BYTES, person=INVITE_PERSON
    )


def enrol_message(*, network: str, code_hash: bytes, key_id: bytes) -> bytes:
    """What the new key signs to prove that its holder is the one enrolling."""
    if "\n" in network:
        raise ValueError("the network is a single line")
    if len(code_hash) != CODE_HASH_BYTES or len(key_id) != 16:
        raise ValueError("code hash is 32 bytes and key id 16")
    return b"".join([ENROL_CONTEXT, network.encode("utf-8"), b"\n", code_hash, key_id])
