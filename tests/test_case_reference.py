"""The spoken case reference: derived from the signed case id, the same for both
municipalities, in the invite codes' unambiguous alphabet, shown on the case page, the list and
the PDF."""

from __future__ import annotations

import re

import pytest

from hub.protocol.case_reference import case_reference
from hub.protocol.enrolment import CODE_ALPHABET
from tests.hubnet import running_hub
from tests.inboxnet import running_agent


def test_the_reference_is_eight_unambiguous_characters_from_the_case_id():
    case_id = bytes.fromhex("00" * 16)
    assert case_reference(case_id) == "0000-0000"
    assert case_reference(bytes.fromhex("ff" * 16)) == "ZZZZ-ZZZZ"
    reference = case_reference(bytes.fromhex("a5" * 16))
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", reference)
    assert set(reference.replace("-", "")) <= set(CODE_ALPHABET)
    # Only the first 40 bits count: the same case id, the same reference, wherever it is shown.
    assert case_reference(bytes.fromhex("a5" * 5 + "00" * 11)) == reference
    with pytest.raises(ValueError, match="16 bytes"):
        case_reference(b"\x01\x02")


async def test_both_municipalities_see_the_same_reference(tmp_path):
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        await bertil.core.sync()
        reference = case_reference(case_id)
        for agent in (anna, bertil):
            _, page = await agent.page(f"/arende/{case_id.hex()}")
            assert f'<span class="case-reference">{reference}</span>' in page
        _, listing = await bertil.page("/")
        assert reference in listing
