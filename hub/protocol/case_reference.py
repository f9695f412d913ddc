"""A case reference a person can say on the phone ("ÄRENDE 7KQ2-M9XD"), derived from the signed
case id, so no hub assigns it and both municipalities see the same. Pure.

Eight characters of the invite codes' alphabet (hub.protocol.enrolment: no O, I, L or U to
misread or mishear) from the id's first 40 bits: two cases of one network share a reference
with a chance of about one in a million even after a thousand cases. It names a case among a
person's own; the id itself stays the key.
"""

from __future__ import annotations

from typing import Final

from hub.protocol.enrolment import CODE_ALPHABET, grouped

REFERENCE_BITS: Final = 40
_BITS_PER_CHAR: Final = 5


def case_reference(case_id: bytes) -> str:
    """The case's spoken reference, two groups of four characters."""
    if len(case_id) * 8 < REFERENCE_BITS:
        raise ValueError("a case id is 16 bytes")
    value = int.from_bytes(case_id[: REFERENCE_BITS // 8], "big")
    chars = [
        CODE_ALPHABET[(value >> shift) & 0b11111]
        for shift in range(REFERENCE_BITS - _BITS_PER_CHAR, -1, -_BITS_PER_CHAR)
    ]
    return grouped("".join(chars), size=4)
