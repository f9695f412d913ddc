"""A contact person's recovery code and copy (hub/protocol/recovery.py, docs/protocol.md §3.7):
the vectors, the code's spelling and check, and what a wrong, mistyped or altered code or copy
gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity
from hub.errors import MESSAGES, RecoveryError
from hub.protocol.enrolment import CODE_ALPHABET
from hub.protocol.recovery import (
    dumps_recovery_copy,
    loads_recovery_copy,
    new_recovery_code,
    normalise_recovery_code,
    recovery_lookup,
)
from tests.vectors import gen_recovery

VECTORS_PATH = Path(__file__).parent / "vectors" / "recovery.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
FAST = {"opslimit": keyfile.INTERACTIVE_OPSLIMIT, "memlimit": keyfile.INTERACTIVE_MEMLIMIT}


def _refusal(copy: str, code: str) -> str:
    with pytest.raises(RecoveryError) as info:
        loads_recovery_copy(copy, code)
    return info.value.code


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_recovery_vectors(vector):
    if vector["expect"] == "ok":
        key = loads_recovery_copy(vector["copy"], vector["code"])
        assert isinstance(key, PrivateIdentity)
        assert key.key_id.hex() == vector["key_id"]
    else:
        assert _refusal(vector["copy"], vector["code"]) == vector["expect"]


@pytest.mark.parametrize("entry", VECTORS["codes"], ids=lambda c: c["code"])
def test_code_vectors(entry):
    random = bytes.fromhex(entry["random"])
    assert new_recovery_code(lambda n: random[:n]) == entry["code"]
    assert normalise_recovery_code(entry["code"]) == entry["code"]


@pytest.mark.parametrize("entry", VECTORS["lookups"], ids=lambda c: c["code"])
def test_lookup_vectors(entry):
    assert recovery_lookup(entry["code"], entry["network"]).hex() == entry["lookup"]


def test_vectors_regenerate_byte_for_byte():
    assert gen_recovery.dumps() == VECTORS_PATH.read_text(encoding="utf-8")


def test_a_code_is_six_groups_of_five_and_carries_130_random_bits():
    codes = {new_recovery_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [5] * 6
        assert all(c in CODE_ALPHABET for c in "".join(groups))
        # 26 characters of 32 possibilities: 130 bits, the other 4 are the check.
        assert len(CODE_ALPHABET) ** 26 >= 2**128


def test_every_single_character_slip_is_caught_by_the_check():
    """Written down wrongly in one place, the code is refused at once as mistyped (never run
    through Argon2id against the copy, never mistaken for another copy's code)."""
    code = VECTORS["codes"][0]["code"]
    plain = code.replace("-", "")
    for position in range(len(plain)):
        for replacement in CODE_ALPHABET:
            if replacement == plain[position]:
                continue
            slipped = plain[:position] + replacement + plain[position + 1 :]
            with pytest.raises(RecoveryError) as info:
                normalise_recovery_code(slipped)
            assert info.value.code == "recovery_code_mistyped"


def test_a_copy_is_a_key_file_under_the_code_and_round_trips():
    identity = PrivateIdentity.generate()
    code = new_recovery_code()
    text = dumps_recovery_copy(identity, code, **FAST)
    assert json.loads(text)["format"] == "hub-keyfile/v1"  # one format for keys at rest
    assert keyfile.loads_keyfile(text, code).key_id == identity.key_id  # type: ignore[union-attr]
    assert loads_recovery_copy(text, code.lower()).key_id == identity.key_id  # type: ignore[union-attr]
    assert code.replace("-", "") not in text
    assert _refusal(text, new_recovery_code()) == "recovery_wrong_code"


def test_the_recovery_messages_are_in_swedish():
    for name in (
        "recovery_code_mistyped",
        "recovery_wrong_code",
        "recovery_copy_corrupt",
        "recovery_copy_unsupported",
        "recovery_keys_exist",
    ):
        assert "Återställnings" in MESSAGES[name] or "nycklar" in MESSAGES[name]
