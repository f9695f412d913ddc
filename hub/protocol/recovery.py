"""A contact person's recovery copy: their key sealed under a recovery code they write down, so
that a stolen or broken machine does not take the key with it (issue 17; docs/protocol.md §3.7,
docs/adr/006-recovery-code.md).

    code   = 26 random characters (130 bits) || 4 check characters, Crockford base32 as the
             invite code (hub/protocol/enrolment.py), written as 6 groups of 5 joined by "-"
    check  = the first 20 bits of BLAKE2b-256(person="hub-recovery/v1", ASCII(26 characters))
    copy   = a key file (§3, hub/crypto/keyfile.py) whose passphrase is the code's grouped form
    lookup = Argon2id(code's grouped form, salt = BLAKE2b-128(network, person "hub-recovery-id"),
                      the moderate limits): the name a copy kept on the hub is fetched by

The copy is a key file and nothing else: one format for a key encrypted at rest, with its
Argon2id, its checks and its errors. Only the words change: a wrong passphrase is a wrong code
here, a damaged file a damaged copy. The check characters tell a mistyped code at once, before
the slow derivation, and tell it apart from the code of another copy. The lookup id lets a new
machine fetch the copy from the hub knowing only the code, while the hub learns nothing it could
test a guessed code against faster than it could try the guess on the copy itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.crypto import keyfile
from hub.crypto import primitives as p
from hub.errors import KeyFileError, RecoveryError
from hub.protocol.enrolment import CODE_ALPHABET, grouped, plain_code

if TYPE_CHECKING:
    from hub.crypto.keyfile import PrivateKey

__all__ = [
    "CHECK_CHARS",
    "LOOKUP_BYTES",
    "LOOKUP_MEMLIMIT",
    "LOOKUP_OPSLIMIT",
    "LOOKUP_PERSON",
    "RANDOM_CHARS",
    "RECOVERY_PERSON",
    "dumps_recovery_copy",
    "loads_recovery_copy",
    "new_recovery_code",
    "normalise_recovery_code",
    "recovery_lookup",
]

RANDOM_CHARS: Final = 26  # 5 bits each: 130 bits, at least the 128 the issue asks for
CHECK_CHARS: Final = 4  # 20 bits: a mistyped code passes by chance once in a million
RECOVERY_PERSON: Final = b"hub-recovery/v1"
LOOKUP_PERSON: Final = b"hub-recovery-id"
LOOKUP_BYTES: Final = 32
# Fixed by the format (the new machine has no copy to read them from): the moderate limits a
# copy is written with (§3.3), so a guess costs the hub as much here as on the copy it holds.
LOOKUP_OPSLIMIT: Final = keyfile.DEFAULT_OPSLIMIT
LOOKUP_MEMLIMIT: Final = keyfile.DEFAULT_MEMLIMIT
_BITS: Final = 5
# keyfile's codes in the words of a recovery copy; the reader's checks are keyfile's own.
_AS_RECOVERY: Final = {
    "keyfile_wrong_passphrase": "recovery_wrong_code",
    "keyfile_unsupported": "recovery_copy_unsupported",
}


def new_recovery_code(rng: p.Rng = p.random_bytes) -> str:
    """A fresh code from 17 bytes of `rng` (the operating system's by default): its first 130
    bits as 26 characters, then the 4 check characters."""
    characters = _base32(rng((RANDOM_CHARS * _BITS + 7) // 8), RANDOM_CHARS)
    return grouped(characters + _check(characters))


def normalise_recovery_code(text: str) -> str:
    """The code in its one spelling (6 groups of 5), read as an invite code is (case, spaces,
    hyphens, O/I/L); RecoveryError recovery_code_mistyped if it cannot be one or its check
    characters do not match."""
    plain = plain_code(text)
    if (
        len(plain) != RANDOM_CHARS + CHECK_CHARS
        or any(c not in CODE_ALPHABET for c in plain)
        or _check(plain[:RANDOM_CHARS]) != plain[RANDOM_CHARS:]
    ):
        raise RecoveryError("recovery_code_mistyped")
    return grouped(plain)


def dumps_recovery_copy(
    key: PrivateKey,
    code: str,
    *,
    opslimit: int = keyfile.DEFAULT_OPSLIMIT,
    memlimit: int = keyfile.DEFAULT_MEMLIMIT,
    rng: p.Rng = p.random_bytes,
) -> str:
    """The copy's text: `key` in a key file sealed under the code's grouped form."""
    return keyfile.dumps_keyfile(
        key, normalise_recovery_code(code), opslimit=opslimit, memlimit=memlimit, rng=rng
    )


def loads_recovery_copy(text: str | bytes, code: str) -> PrivateKey:
    """The key in a copy. RecoveryError: recovery_code_mistyped (before any derivation),
    recovery_wrong_code (intact, but the code does not open it; also a copy altered by someone
    who fixed its checksum), recovery_copy_corrupt (damaged, truncated, altered),
    recovery_copy_unsupported."""
    passphrase = normalise_recovery_code(code)
    try:
        return keyfile.loads_keyfile(text, passphrase)
    except KeyFileError as exc:
        raise RecoveryError(_AS_RECOVERY.get(exc.code, "recovery_copy_corrupt")) from None


def recovery_lookup(
    code: str,
    network: str,
    *,
    opslimit: int = LOOKUP_OPSLIMIT,
    memlimit: int = LOOKUP_MEMLIMIT,
) -> bytes:
    """The 32-byte id a copy kept on the hub is stored and fetched under (docs/protocol.md
    §3.8). recovery_code_mistyped (before any derivation) as normalise_recovery_code. The
    limits are the format's; other values exist only for tests that must run fast."""
    passphrase = normalise_recovery_code(code).encode("ascii")
    salt = p.blake2b(network.encode("utf-8"), size=p.ARGON2ID_SALT_BYTES, person=LOOKUP_PERSON)
    return p.argon2id(passphrase, salt, opslimit=opslimit, memlimit=memlimit)


def _check(characters: str) -> str:
    digest = p.blake2b(characters.encode("ascii"), size=32, person=RECOVERY_PERSON)
    return _base32(digest, CHECK_CHARS)


def _base32(data: bytes, count: int) -> str:
    """The first `count` 5-bit groups of `data`, most significant bit first."""
    value, total = int.from_bytes(data, "big"), len(data) * 8
    if count * _BITS > total:
        raise ValueError("not enough bytes")
    return "".join(CODE_ALPHABET[(value >> (total - _BITS * (i + 1))) & 0x1F] for i in range(count))
