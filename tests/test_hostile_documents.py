"""Another municipality's agent may be hostile too: a signed document of any shape never breaks
a page or the PDF. Pure readers first (hub.inbox.documents), then a real hostile sender through
a real hub to a real inbox."""

from __future__ import annotations

import io
import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from hub.crypto.format import MessageKind
from hub.inbox import documents
from tests.hubnet import running_hub
from tests.inboxnet import page_text as _text
from tests.inboxnet import running_agent

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
FIELD_KEYS = st.sampled_from(
    ["bakgrund_till_placering", "datum", "reason", "message", "motivation", "managers_consented"]
)


@given(st.dictionaries(FIELD_KEYS | st.text(), JSON, max_size=6) | JSON)
def test_no_document_of_any_shape_makes_a_reader_raise(value):
    for read in (documents.read_inquiry, documents.read_thread, documents.read_outcome_note):
        result = read(value)
        if isinstance(result, documents.Unreadable):
            assert result.problem  # a sentence, never an empty refusal


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([1, 2], "Dokumentet är en lista, inte ett formulär."),
        ({"bakgrund_till_placering": ["a"]}, "innehåller en lista i stället för text"),
        ({"datum": {"år": 2026}}, "Fältet ”Datum” innehåller ett objekt i stället för text"),
        ({"datum": 20261201}, "innehåller ett tal i stället för text"),
    ],
)
def test_an_inquiry_of_the_wrong_shape_is_refused_by_name(document, problem):
    result = documents.read_inquiry(document)
    assert isinstance(result, documents.Unreadable)
    assert problem in result.problem


def test_a_decline_reason_outside_the_agreement_is_refused():
    result = documents.read_thread({"reason": "housing_shortage", "motivation": "x" * 30})
    assert isinstance(result, documents.Unreadable)
    assert "skäl som inte finns" in result.problem


def test_unknown_fields_are_counted_not_shown():
    result = documents.read_thread({"message": "Hej", "hemlig_kanal": "x", "annat": 1})
    assert isinstance(result, documents.ThreadDocument)
    assert (result.lines(), result.unknown_fields) == (["Hej"], 2)


# --- through a real hub ----------------------------------------------------------------------


async def _hostile_case(net, inquiry: dict[str, object], message: dict[str, object]) -> bytes:
    """Anna's key, but not her agent: a case whose inquiry and message are of shapes no inbox
    writes, sent as a hostile agent would."""
    case_id = os.urandom(16)
    hub = await net.client("anna")
    await hub.create_case(case_id)
    data = net.seal_to("anna", ["kommun-b"], inquiry, case_id=case_id)
    ack = await hub.upload(data, ["kommun-b"])
    await net.step(
        "anna", case_id, "kommun-b", "send_inquiry", message_id=bytes.fromhex(ack.message_id)
    )
    net.clock.now += 60
    data = net.seal_to("anna", ["kommun-b"], message, kind=MessageKind.MESSAGE, case_id=case_id)
    await hub.upload(data, ["kommun-b"])
    return case_id


async def test_a_hostile_inquiry_and_message_leave_the_case_page_and_pdf_working(tmp_path):
    async with running_hub(tmp_path) as net, running_agent(net, "bertil", tmp_path) as bertil:
        await bertil.login()
        case_id = await _hostile_case(
            net,
            {"bakgrund_till_placering": ["inte", "text"], "datum": "2026-12-01"},
            {"message": {"nästlat": [1, 2, 3]}},
        )
        await bertil.core.sync()
        status, page = await bertil.page(f"/arende/{case_id.hex()}")
        assert status == 200
        text = _text(page)
        assert "Fältet ”Bakgrund till placering” innehåller en lista i stället för text" in text
        assert "Meddelandet har ett objekt där det ska stå text (message)" in text
        assert "nästlat" not in text
        async with bertil.session.get(f"{bertil.url}/arende/{case_id.hex()}/pdf") as r:
            assert r.status == 200
            pdf = await r.read()
        pdf_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "innehåller en lista i stället för text" in re.sub(r"\s+", " ", pdf_text)


async def test_unknown_fields_in_a_received_inquiry_are_counted_on_the_page(tmp_path):
    async with running_hub(tmp_path) as net, running_agent(net, "bertil", tmp_path) as bertil:
        await bertil.login()
        case_id = await _hostile_case(
            net,
            {"bakgrund_till_placering": "Det som ska synas", "dold_uppgift": "syns inte"},
            {"message": "Hej", "reason": "quota_reached"},
        )
        await bertil.core.sync()
        status, page = await bertil.page(f"/arende/{case_id.hex()}")
        assert status == 200
        text = _text(page)
        assert "Det som ska synas" in text
        assert "syns inte" not in text
        assert "Avsändaren skickade 1 uppgift som den här versionen" in text
        assert "Nej. Skäl: Det överenskomna antalet ärenden har redan tagits emot." in text
