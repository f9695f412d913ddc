"""Signed records and the directory: the vectors in tests/vectors/directory.json, then rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.crypto import records
from hub.crypto.directory import (
    Directory,
    Role,
    make_entry,
    make_revocation,
    open_entry,
)
from hub.crypto.keys import PrivateIdentity, SigningKey, unb64
from hub.errors import (
    MESSAGES,
    AuthorityError,
    HubError,
    RecordFormatError,
    RecordVerificationError,
)
from tests.vectors import gen_directory
from tests.vectors._rng import SeededRng

VECTORS_PATH = Path(__file__).parent / "vectors" / "directory.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
ADMIN_PUBLIC = unb64(VECTORS["admin_public"], 32)
NETWORK = VECTORS["network"]
T0 = gen_directory.T0
DAY = gen_directory.DAY


def _vector_id(vector: dict[str, Any]) -> str:
    return str(vector.get("name") or f"{vector.get('municipality')}@{vector['at']}")


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load(ADMIN_PUBLIC, NETWORK, VECTORS["entries"], VECTORS["revocations"])


def _expect_error(code: str, call: Any, *args: Any, **kwargs: Any) -> HubError:
    with pytest.raises(HubError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value
    return info.value


# --- the vectors ---------------------------------------------------------------------------


def test_vectors_regenerate_byte_for_byte():
    """Running the generator again writes exactly the committed vectors file."""
    assert gen_directory.render() == VECTORS_PATH.read_text(encoding="utf-8")
    assert VECTORS["generator"] == "tests/vectors/gen_directory.py"


def test_vectors_cover_every_required_failure():
    """The file holds at least 14 broken records, each naming a code the project defines."""
    codes = {case["expect"] for case in VECTORS["invalid"]}
    codes |= {v["expect"] for v in VECTORS["check_signer"]} - {"ok"}
    assert len(VECTORS["invalid"]) >= 14
    assert codes <= set(MESSAGES)
    assert {
        "record_bad_signature",
        "record_wrong_signer",
        "record_wrong_network",
        "record_not_canonical",
        "record_malformed",
        "record_wrong_kind",
        "directory_conflict",
        "sender_key_expired",
        "sender_key_revoked",
        "sender_key_unknown",
    } <= codes


def test_vector_directory_loads(directory: Directory):
    """The administrator's signed directory loads with every entry and revocation."""
    assert len(directory.entries) == len(VECTORS["entries"])
    assert len(directory.revocations) == len(VECTORS["revocations"])
    assert records.signer_id(ADMIN_PUBLIC).hex() == VECTORS["admin_signer_id"]


@pytest.mark.parametrize("query", VECTORS["valid_keys"], ids=_vector_id)
def test_vector_valid_keys(directory: Directory, query: dict[str, Any]):
    """Each municipality offers exactly the keys that are in force at that moment."""
    found = directory.valid_keys(query["municipality"], query["at"], role=Role(query["role"]))
    assert [e.key_id.hex() for e in found] == query["expect_key_ids"]


@pytest.mark.parametrize("query", VECTORS["recipients_for"], ids=_vector_id)
def test_vector_recipients_for(directory: Directory, query: dict[str, Any]):
    """A message is encrypted to every valid key of every addressed municipality, or not at all."""
    if "expect" in query:
        _expect_error(
            query["expect"], directory.recipients_for, query["municipalities"], query["at"]
        )
    else:
        found = directory.recipients_for(query["municipalities"], query["at"])
        assert [i.key_id.hex() for i in found] == query["expect_key_ids"]


@pytest.mark.parametrize("vector", VECTORS["check_signer"], ids=lambda v: f"{v['name']}@{v['at']}")
def test_vector_check_signer(directory: Directory, vector: dict[str, Any]):
    """A signature counts only from a known key inside its validity and before its revocation."""
    key_id = bytes.fromhex(vector["key_id"])
    if vector["expect"] == "ok":
        assert directory.check_signer(key_id, vector["at"]).serial == vector["expect_serial"]
    else:
        _expect_error(vector["expect"], directory.check_signer, key_id, vector["at"])


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=_vector_id)
def test_vector_invalid_records(case: dict[str, Any]):
    """A forged, foreign, altered or contradictory record stops the directory from loading."""
    _expect_error(
        case["expect"], Directory.load, ADMIN_PUBLIC, NETWORK, case["entries"], case["revocations"]
    )


# --- records -------------------------------------------------------------------------------

ADMIN = SigningKey.generate(SeededRng("test-directory/admin"))
OTHER = SigningKey.generate(SeededRng("test-directory/other"))
PEOPLE = [PrivateIdentity.generate(SeededRng(f"test-directory/person/{i}")) for i in range(6)]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-records.MAX_SAFE_INTEGER, records.MAX_SAFE_INTEGER)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(extra=st.dictionaries(st.sampled_from(["a", "b", "note", "z"]), json_values, max_size=3))
def test_any_signed_body_opens_unchanged(extra: dict[str, Any]):
    """Whatever a signer puts in a record, a reader gets back exactly that body."""
    body = {"kind": "test-kind", **extra}
    wire = records.sign_record(body, ADMIN)
    opened = records.open_record(wire, expected_kind="test-kind", signer_public=ADMIN.public)
    assert opened == {**body, "signed_by": records.signer_id(ADMIN.public).hex()}


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_flipped_bit_is_refused(data: st.DataObject):
    """Changing any single bit of a record or its signature makes it unusable."""
    wire = make_entry(
        ADMIN,
        network=NETWORK,
        municipality="Västerås",
        person="Anna",
        role=Role.CONTACT_PERSON,
        identity=PEOPLE[0].public,
        not_before=0,
        not_after=10,
        serial=1,
    )
    field = data.draw(st.sampled_from(["record", "signature"]))
    raw = bytearray(base64.b64decode(wire[field]))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    tampered = {**wire, field: base64.b64encode(bytes(raw)).decode()}
    with pytest.raises((RecordFormatError, RecordVerificationError)):
        open_entry(tampered, admin_public=ADMIN.public, network=NETWORK)


def test_record_for_a_contact_person_names_their_key_id():
    """A record signed by a contact person is opened with their public identity."""
    person = PEOPLE[1]
    wire = records.sign_record({"kind": "note"}, person)
    body = records.open_record(wire, expected_kind="note", signer_public=person.public)
    assert body["signed_by"] == person.key_id.hex()
    _expect_error(
        "record_wrong_signer",
        records.open_record,
        wire,
        expected_kind="note",
        signer_public=PEOPLE[2].public,
    )


def test_record_of_another_kind_is_refused():
    """A record signed for one purpose cannot be used for another."""
    wire = records.sign_record({"kind": "revocation"}, ADMIN)
    _expect_error(
        "record_wrong_kind",
        records.open_record,
        wire,
        expected_kind="receipt",
        signer_public=ADMIN.public,
    )


def test_kind_is_bound_into_the_signed_bytes():
    """The signature covers the domain string and the kind, not only the JSON."""
    wire = records.sign_record({"kind": "note"}, ADMIN)
    canonical = base64.b64decode(wire["record"])
    signature = base64.b64decode(wire["signature"])
    assert ADMIN.sign(b"hub-record/v1\nnote\n" + canonical) == signature


def test_unverified_read_does_not_check_the_signature():
    """Peeking at a record for routing never vouches for it; verify() does."""
    wire = records.sign_record({"kind": "note"}, ADMIN)
    forged = {**wire, "signature": base64.b64encode(bytes(64)).decode()}
    peeked = records.read_unverified(forged)
    assert peeked.unverified_body["kind"] == "note"
    _expect_error(
        "record_bad_signature", peeked.verify, expected_kind="note", signer_public=ADMIN.public
    )


@pytest.mark.parametrize(
    "raw",
    [
        b'{"kind":"note","signed_by":"' + b"0" * 32 + b'","x":"\\ud800"}',  # lone surrogate
        b'{"kind":"Note","signed_by":"' + b"0" * 32 + b'"}',  # kind is not a token
        b'{"kind":"note","signed_by":"' + b"0" * 31 + b'F"}',  # upper-case hex
        b'{"kind":"note","signed_by":"' + b"0" * 32 + b'","\xc3\xa5":1}',  # non-ASCII name
        b'{"kind":"note","signed_by":"' + b"0" * 32 + b'","x":NaN}',
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=["surrogate", "kind", "hex", "name", "nan", "deep"],
)
def test_strict_json_is_required(raw: bytes):
    """Bytes that JSON readers could read in different ways are refused as malformed."""
    wire = {
        "record": base64.b64encode(raw).decode(),
        "signature": base64.b64encode(bytes(64)).decode(),
    }
    _expect_error("record_malformed", records.read_unverified, wire)


def test_oversized_record_is_refused_before_decoding():
    """A hub cannot make a client parse an arbitrarily large record."""
    text = "A" * (4 * (records.MAX_RECORD_BYTES // 3) + 8)
    wire = {"record": text, "signature": base64.b64encode(bytes(64)).decode()}
    _expect_error("record_malformed", records.read_unverified, wire)


def test_signer_refuses_values_a_reader_would_refuse():
    """The signing side cannot produce a record every client would then reject."""
    with pytest.raises(TypeError):
        records.sign_record({"kind": "note", "x": 1.5}, ADMIN)
    with pytest.raises(ValueError):
        records.sign_record({"kind": "note", "x": 2**53}, ADMIN)
    with pytest.raises(ValueError):
        records.sign_record({"kind": "note", "signed_by": "00" * 16}, ADMIN)
    with pytest.raises(ValueError):
        records.sign_record({"kind": "two words"}, ADMIN)


# --- the directory's rules ------------------------------------------------------------------


def _entry(serial: int, person: int, municipality: str, start: int, end: int, **kw: Any) -> Any:
    return make_entry(
        ADMIN,
        network=NETWORK,
        municipality=municipality,
        person=f"Person {person}",
        role=kw.pop("role", Role.CONTACT_PERSON),
        identity=PEOPLE[person].public,
        not_before=start,
        not_after=end,
        serial=serial,
    )


def _revocation(serial: int, person: int, at: int, reason: str = "left") -> Any:
    return make_revocation(
        ADMIN,
        network=NETWORK,
        key_id=PEOPLE[person].key_id,
        revoked_at=at,
        reason=reason,
        serial=serial,
    )


def test_the_same_record_sent_twice_counts_once():
    """A hub that repeats a record does not break or change the directory."""
    entry = _entry(1, 0, "Sala", 0, 100)
    directory = Directory.load(ADMIN.public, NETWORK, [entry, entry], [])
    assert len(directory.entries) == 1


def test_renewed_key_is_valid_in_both_periods():
    """A key renewed for a second period stays valid across both, with the newest entry shown."""
    directory = Directory.load(
        ADMIN.public, NETWORK, [_entry(1, 0, "Sala", 0, 100), _entry(2, 0, "Sala", 100, 200)], []
    )
    key_id = PEOPLE[0].key_id
    assert directory.check_signer(key_id, 50).serial == 1
    assert directory.check_signer(key_id, 150).serial == 2
    assert directory.entry_for_key(key_id) is not None
    assert directory.entry_for_key(key_id).serial == 2  # type: ignore[union-attr]
    assert directory.entry_for_key(PEOPLE[5].key_id) is None


def test_earliest_revocation_wins():
    """If a key is revoked twice, the earlier moment counts (a compromise may be backdated)."""
    directory = Directory.load(
        ADMIN.public,
        NETWORK,
        [_entry(1, 0, "Sala", 0, 100)],
        [_revocation(2, 0, 60, "left"), _revocation(3, 0, 20, "compromised")],
    )
    key_id = PEOPLE[0].key_id
    assert not directory.is_revoked(key_id, 19)
    assert directory.is_revoked(key_id, 20)
    assert directory.revocation_for(key_id).reason == "compromised"  # type: ignore[union-attr]


def test_role_filter_on_signers():
    """A check that asks for a county board key refuses a contact person's key."""
    directory = Directory.load(ADMIN.public, NETWORK, [_entry(1, 0, "Sala", 0, 100)], [])
    key_id = PEOPLE[0].key_id
    assert directory.check_signer(key_id, 5, roles={Role.CONTACT_PERSON}).serial == 1
    _expect_error(
        "sender_key_unknown", directory.check_signer, key_id, 5, roles={Role.COUNTY_BOARD}
    )


def test_municipalities_lists_contact_person_municipalities():
    """The list of municipalities shows where contact persons are, not the county board."""
    directory = Directory.load(
        ADMIN.public,
        NETWORK,
        [
            _entry(1, 0, "Sala", 0, 100),
            _entry(2, 1, "Köping", 0, 100),
            _entry(3, 2, "Länsstyrelsen", 0, 100, role=Role.COUNTY_BOARD),
        ],
        [],
    )
    assert directory.municipalities() == {"Sala", "Köping"}
    assert directory.municipalities(role=Role.COUNTY_BOARD) == {"Länsstyrelsen"}


def test_missing_recipient_error_does_not_name_the_municipality():
    """The error for an unreachable municipality says which position, never the name."""
    directory = Directory.load(ADMIN.public, NETWORK, [_entry(1, 0, "Sala", 0, 100)], [])
    error = _expect_error(
        "recipient_no_valid_key", directory.recipients_for, ["Sala", "Hemligby"], 5
    )
    assert isinstance(error, AuthorityError)
    assert "Hemligby" not in str(error)
    assert "2 of 2" in str(error)


def test_admin_cannot_sign_an_entry_clients_would_refuse():
    """The administrator's tool stops an empty validity or an oddly spelled name before signing."""
    with pytest.raises(ValueError):
        _entry(1, 0, "Sala", 100, 100)
    with pytest.raises(ValueError):
        _entry(1, 0, " Sala", 0, 100)
    with pytest.raises(ValueError):
        _entry(0, 0, "Sala", 0, 100)


def test_entry_round_trips_to_the_same_wire_form():
    """A loaded entry can be served again byte for byte."""
    wire = _entry(1, 0, "Sala", 0, 100)
    assert open_entry(wire, admin_public=ADMIN.public, network=NETWORK).to_wire() == wire


# --- property: the directory never offers a key it should not -----------------------------

MUNICIPALITIES = ["Sala", "Köping", "Arboga"]
# Each person belongs to one municipality, so no generated directory has a conflict.
HOME = {i: MUNICIPALITIES[i % len(MUNICIPALITIES)] for i in range(len(PEOPLE))}

periods = st.tuples(st.integers(0, 100), st.integers(1, 60)).map(lambda t: (t[0], t[0] + t[1]))
directories = st.tuples(
    st.lists(st.tuples(st.integers(0, len(PEOPLE) - 1), periods), max_size=8),
    st.lists(
        st.tuples(
            st.integers(0, len(PEOPLE) - 1),
            st.integers(0, 170),
            st.sampled_from(["superseded", "left", "compromised"]),
        ),
        max_size=4,
    ),
)


@settings(max_examples=60, deadline=None)
@given(spec=directories, at=st.integers(-5, 175))
def test_valid_keys_never_offers_a_revoked_or_expired_key(
    spec: tuple[list[Any], list[Any]], at: int
):
    """Whatever the directory holds, nothing is offered outside its validity or after revocation."""
    entry_spec, revocation_spec = spec
    entries = [
        _entry(serial, person, HOME[person], start, end)
        for serial, (person, (start, end)) in enumerate(entry_spec, start=1)
    ]
    revocations = [
        _revocation(serial, person, when, reason)
        for serial, (person, when, reason) in enumerate(revocation_spec, start=len(entries) + 1)
    ]
    directory = Directory.load(ADMIN.public, NETWORK, entries, revocations)

    revoked_at: dict[int, int] = {}
    for person, when, _ in revocation_spec:
        revoked_at[person] = min(when, revoked_at.get(person, when))
    for municipality in MUNICIPALITIES:
        expected = sorted(
            {
                PEOPLE[person].key_id
                for person, (start, end) in entry_spec
                if HOME[person] == municipality
                and start <= at < end
                and not (person in revoked_at and revoked_at[person] <= at)
            }
        )
        offered = directory.valid_keys(municipality, at)
        assert [e.key_id for e in offered] == expected
        for entry in offered:
            assert entry.covers(at)
            assert not directory.is_revoked(entry.key_id, at)
            assert directory.check_signer(entry.key_id, at).key_id == entry.key_id
