"""The JSON the hub answers its clients with (docs/api.md), each shape defined once. Pure.

The hub builds these and encodes them (`encode`); the clients decode its answers into them
(`decode`), so a field renamed on one side fails the other's tests, and an answer of the wrong
shape is refused at the boundary instead of travelling on as a dictionary.

msgspec Structs, because they are strict (no silent coercion of "1" into 1, unknown fields
refused), typed for mypy, and fast to encode. msgspec keeps the last of two duplicate keys,
while docs/api.md promises that duplicates are refused, so `decode` runs the project's strict
JSON reader (hub.crypto.strictjson) first and converts its result.

Everything here is the hub's word. What a client shows a person comes from signed records; these
shapes say where to fetch, and what the hub claims (its case states until the lifecycle is
signed, the members' names and settings until the registry is).
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from hub.crypto import strictjson
from hub.crypto.leaves import Erased, Served, read_erased
from hub.errors import RecordFormatError

T = TypeVar("T")


class WireError(ValueError):
    """An answer that is not JSON of the expected shape: `reason` says what, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Shape(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The base of every shape: frozen, every field named, no field it does not define."""


# --- sign-in ---------------------------------------------------------------------------------


class Challenge(Shape, frozen=True):
    nonce: str  # base64
    expires_at: int
    audience: str  # the hub's public URL, which the signature names


class SessionAnswer(Shape, frozen=True):
    token: str
    expires_at: int
    municipality: str
    role: str


# --- envelopes -------------------------------------------------------------------------------


class ListedEnvelope(Shape, frozen=True):
    """An envelope in a listing, or the acknowledgement of an upload: where to fetch it and
    what the hub claims about it (the header, once verified, is the truth)."""

    message_id: str  # hex
    seq: int
    case_id: str  # hex
    kind: int
    sender: str = msgspec.field(name="from")
    to: list[str]
    size: int
    digest: str  # hex SHA-256 over header and ciphertext, as the hub computed it
    created_at: int
    received_at: int


class UploadAck(Shape, frozen=True):
    """The hub's answer to an upload, the same for a repeat of it (docs/api.md)."""

    message_id: str  # hex
    digest: str  # hex
    seq: int
    size: int


class RecoveryCopyAnswer(Shape, frozen=True):
    """A recovery copy kept on the hub (docs/api.md, "Recovery copies"): a key file's text,
    which only the code opens."""

    copy: str


class EnvelopeList(Shape, frozen=True):
    envelopes: list[ListedEnvelope]


class SignedRecord(Shape, frozen=True):
    record: str  # base64 of the canonical bytes that were signed
    signature: str  # base64


class SequenceItem(Shape, frozen=True, omit_defaults=True):
    """One record of the sequence: {record, signature} as signed, or, once the administrator
    has erased its body, {serial, leaf} (docs/protocol.md §12.11)."""

    record: str | None = None
    signature: str | None = None
    serial: int | None = None
    leaf: str | None = None

    @classmethod
    def of(cls, served: Served) -> SequenceItem:
        if isinstance(served, Erased):
            leaf = served.to_wire()["leaf"]
            return cls(serial=served.serial, leaf=str(leaf))
        return cls(record=served["record"], signature=served["signature"])

    def served(self) -> Served:
        """The record, or its erased form; one of the two exactly, else record_malformed."""
        if self.serial is None and self.leaf is None:
            if self.record is None or self.signature is None:
                raise RecordFormatError("record_malformed", "a record without its signature")
            return {"record": self.record, "signature": self.signature}
        if self.record is not None or self.signature is not None:
            raise RecordFormatError("record_malformed", "a record both served and erased")
        return read_erased({"serial": self.serial, "leaf": self.leaf})


class RegistryList(Shape, frozen=True):
    """The one sequence of signed records (docs/protocol.md §5.11), in serial order."""

    network: str
    records: list[SequenceItem]


class LogView(Shape, frozen=True):
    """The directory log (docs/protocol.md §12): the newest checkpoint with the witnesses'
    cosignature lines (None: the network has no log yet), exactly the records it covers, and a
    consistency proof (base64 hashes) from the size the client asked about."""

    network: str
    checkpoint: str | None
    records: list[SequenceItem]
    consistency: list[str] = []


class CheckpointAdded(Shape, frozen=True):
    size: int


class ReceiptList(Shape, frozen=True):
    receipts: list[SignedRecord]


# --- cases -----------------------------------------------------------------------------------


class HistoryEntry(Shape, frozen=True, omit_defaults=True):
    event: str
    role: str
    at: int
    state: str
    reason: str | None = None
    moving_date: str | None = None  # ISO date


class RequestView(Shape, frozen=True):
    """The hub's view of one request: a hint the agents compare with the signed steps, so
    none of its state fields is needed (a hub that leaves them out changes nothing)."""

    municipality: str
    state: str = ""
    history: list[HistoryEntry] = msgspec.field(default_factory=list)
    allowed_events: list[str] = msgspec.field(default_factory=list)


class CaseView(Shape, frozen=True):
    """What the caller may see of a case: all requests for its sender, one for a receiver.
    The hub's word: agents take the case's state from its signed steps (GET …/steps)."""

    case_id: str  # hex
    sender: str = msgspec.field(name="from")
    requests: list[RequestView]
    outcome: str | None = None
    closed_at: int | None = None
    can_close_not_moved: bool = False
    step_count: int = 0  # the signed steps the caller may fetch: more means something moved


class CaseList(Shape, frozen=True):
    cases: list[CaseView]


class RelayedStep(Shape, frozen=True):
    """A signed case step as the hub relays it (hub.crypto.steps), with when the hub took it:
    the hub's word, which the agents compare with the signed time and never count alone."""

    step: SignedRecord
    received_at: int


class StepList(Shape, frozen=True):
    """The steps of a case the caller may see: every request's for its sender, its own for an
    asked municipality; in the order the hub took them."""

    steps: list[RelayedStep]


# --- the network -----------------------------------------------------------------------------


class Member(Shape, frozen=True):
    id: str
    name: str
    population: int
    template: dict[str, object]  # the kommunmall, free-form until the registry signs it


class MemberList(Shape, frozen=True):
    municipalities: list[Member]


class NetworkInfo(Shape, frozen=True):
    id: str
    name: str
    # The agreed settings, read by hub.protocol.deadlines.NetworkDeadlines.from_settings
    # (unknown keys ignored, known ones checked there); a signed record in a later issue.
    settings: dict[str, object]


class QuotaFigure(Shape, frozen=True):
    id: str  # the member municipality
    quota: int | None  # from the network's quota key and the population; None without one
    received: int  # formal inquiries received this year


class Quotas(Shape, frozen=True):
    """This Stockholm year's quota and received inquiries of every member (counts only)."""

    year: int
    municipalities: list[QuotaFigure]


class Contact(Shape, frozen=True):
    municipality: str
    person: str
    email: str


class ContactList(Shape, frozen=True):
    contacts: list[Contact]


class Notice(Shape, frozen=True):
    """A notice e-mail as the county administrator sees it (hub admin notices)."""

    id: int
    municipality: str
    audience: str
    address: str
    topic: str
    status: str
    attempts: int
    last_error: str | None
    created_at: int
    finished_at: int | None


class NoticeList(Shape, frozen=True):
    notices: list[Notice]


def encode(value: Shape) -> bytes:
    return msgspec.json.encode(value)


def decode(data: bytes, shape: type[T]) -> T:
    """`data` as `shape`, or WireError: not strict JSON (duplicate keys included), or not of
    that shape (a missing, unknown or mistyped field)."""
    try:
        value = strictjson.loads(data)
    except strictjson.StrictJSONError as exc:
        raise WireError(f"not strict JSON: {exc.reason}") from None
    try:
        return msgspec.convert(value, shape, strict=True)
    except msgspec.ValidationError as exc:
        raise WireError(str(exc)) from None
