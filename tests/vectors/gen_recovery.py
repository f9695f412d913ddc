"""Writes tests/vectors/recovery.json: recovery codes, and recovery copies to open with them.

    python -m tests.vectors.gen_recovery

Deterministic: every byte comes from SeededRng("hub-recovery/v1 vectors") (tests/test_recovery.py
checks that regenerating gives the committed bytes). The codes are made twice, by
hub.protocol.recovery and by `_code` below, which follows docs/protocol.md §3.7 directly; the two
must agree. A copy is a key file (§3) sealed under the code; the broken copies are edits of the
valid one, "checksum recomputed" meaning the edit was made on purpose and the checksum fixed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hub.crypto import primitives as p
from hub.crypto.keys import PrivateIdentity
from hub.protocol.recovery import dumps_recovery_copy, new_recovery_code, recovery_lookup
from tests.vectors._rng import SeededRng
from tests.vectors._write import refuse_failures, render, write_vectors
from tests.vectors.gen_keyfile import _checksum, _flip_ciphertext_byte, _text

OUT = Path(__file__).with_name("recovery.json")
OPSLIMIT = 1
MEMLIMIT = 8192
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

DESCRIPTION = (
    "Recovery codes and copies (docs/protocol.md §3.7). `codes`: the 17 random bytes `random` "
    "(hex) give `code`. `vectors`: open `copy` (a key file, its UTF-8) with the recovery code "
    "`code` as typed; expect 'ok' (then `key_id` is the identity's hex key id) or the error "
    "code. Argon2id limits are the smallest allowed (opslimit 1, memlimit 8192). `lookups` "
    "(docs/protocol.md §3.8): the code `code` as typed, in network `network`, gives the lookup id "
    "`lookup` (hex) a copy is kept under on the hub; these use the format's fixed limits "
    "(opslimit 3, memlimit 268435456)."
)
NETWORK = "lanskompotten"
LOOKUP_SALT_PERSON = b"hub-recovery-id"


def _lookup(code: str, network: str) -> bytes:
    """§3.8 once more: Argon2id of the grouped code, salted with BLAKE2b-128 of the network."""
    grouped = "-".join(
        code.upper()
        .replace(" ", "")
        .replace("-", "")
        .replace("O", "0")
        .replace("I", "1")
        .replace("L", "1")[i : i + 5]
        for i in range(0, 30, 5)
    )
    salt = p.blake2b(network.encode(), size=16, person=LOOKUP_SALT_PERSON)
    return p.argon2id(grouped.encode(), salt, opslimit=3, memlimit=268435456)


def _code(random: bytes) -> str:
    """The specification once more: 130 bits as 26 characters, 20 bits of BLAKE2b as 4 more."""
    bits = "".join(f"{b:08b}" for b in random)
    chars = "".join(ALPHABET[int(bits[i : i + 5], 2)] for i in range(0, 130, 5))
    digest = p.blake2b(chars.encode(), size=32, person=b"hub-recovery/v1")
    check_bits = "".join(f"{b:08b}" for b in digest[:3])
    chars += "".join(ALPHABET[int(check_bits[i : i + 5], 2)] for i in range(0, 20, 5))
    return "-".join(chars[i : i + 5] for i in range(0, 30, 5))


def _swap_one(code: str) -> str:
    """The code with one character replaced: a slip when writing it down."""
    position = 7
    replacement = "X" if code[position] != "X" else "Y"
    return code[:position] + replacement + code[position + 1 :]


def generate() -> dict[str, Any]:
    rng = SeededRng("hub-recovery/v1 vectors")
    failures: list[str] = []
    codes = []
    for _ in range(3):
        random = rng(17)
        code = new_recovery_code(lambda n, random=random: random[:n])
        if code != _code(random):
            failures.append(f"hub.protocol.recovery and the specification disagree on {code}")
        codes.append({"random": random.hex(), "code": code})
    refuse_failures(failures)

    identity = PrivateIdentity.generate(rng)
    code, other_code = codes[0]["code"], codes[1]["code"]
    text = dumps_recovery_copy(identity, code, opslimit=OPSLIMIT, memlimit=MEMLIMIT, rng=rng)
    doc = json.loads(text)

    def edited(*, recompute: bool) -> str:
        changed = copy.deepcopy(doc)
        _flip_ciphertext_byte(changed)
        if recompute:
            changed["checksum"] = _checksum(changed)
        return _text(changed)

    unknown_format = _text({**doc, "format": "hub-keyfile/v2"})
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    cases = [
        ("ok", text, code, "ok"),
        ("ok-typed-lower-case-with-spaces-o-for-0-l-for-1", text, typed, "ok"),
        ("wrong-code", text, other_code, "recovery_wrong_code"),
        ("mistyped-code-one-character", text, _swap_one(code), "recovery_code_mistyped"),
        ("mistyped-code-a-group-missing", text, code[:-6], "recovery_code_mistyped"),
        ("mistyped-code-a-letter-u", text, "U" + code[1:], "recovery_code_mistyped"),
        ("altered-copy", edited(recompute=False), code, "recovery_copy_corrupt"),
        (
            "altered-copy-checksum-recomputed",
            edited(recompute=True),
            code,
            "recovery_wrong_code",
        ),
        ("truncated-copy", text[: len(text) // 2], code, "recovery_copy_corrupt"),
        ("empty-copy", "", code, "recovery_copy_corrupt"),
        ("unknown-format", unknown_format, code, "recovery_copy_unsupported"),
    ]
    vectors = []
    for name, copy_text, typed_code, expect in cases:
        vector = {"name": name, "copy": copy_text, "code": typed_code, "expect": expect}
        if expect == "ok":
            vector["key_id"] = identity.key_id.hex()
        vectors.append(vector)
    lookups = []
    for typed_code in (code, typed):
        lookup = _lookup(typed_code, NETWORK)
        if recovery_lookup(typed_code, NETWORK) != lookup:
            failures.append(f"hub.protocol.recovery and the specification disagree on {typed_code}")
        lookups.append({"code": typed_code, "network": NETWORK, "lookup": lookup.hex()})
    refuse_failures(failures)
    return {
        "description": DESCRIPTION,
        "generator": "tests/vectors/gen_recovery.py",
        "codes": codes,
        "vectors": vectors,
        "lookups": lookups,
    }


def dumps() -> str:
    return render(generate())


if __name__ == "__main__":
    write_vectors(OUT, dumps())
