"""What an inbox agent may believe about an envelope, and where each fact comes from. Pure.

The hub's listing (GET /envelopes) says where to fetch an envelope and what the hub claims
about it. The envelope's signed header says what its sender stated, and the administrator's
signed directory says whose key signed it and whose keys it is sealed to. Only the latter two
decide what a contact person sees: a listing that disagrees is filed by the header and flagged
(docs/threat-model.md, "A lying hub").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.crypto.directory import Role
from hub.crypto.format import ID_SIZE, MessageKind
from hub.errors import AuthorityError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hub.crypto.directory import Directory, DirectoryEntry
    from hub.crypto.format import Header
    from hub.crypto.keys import PrivateIdentity
    from hub.protocol import wire

# The roles whose keys may speak in a case. A county board's key only receives outcome notes;
# a coordinator's never takes part.
SPEAKERS = frozenset({Role.CONTACT_PERSON})


@dataclass(frozen=True)
class Listed:
    """One entry of the hub's listing: where to fetch (its id and place in the box) and what
    the hub claims about it. Every claim is a hint, None where the hub gave none that parses."""

    message_id: bytes
    seq: int
    case_id: bytes | None
    kind: int | None
    sender: str | None
    created_at: int | None
    received_at: int | None

    @classmethod
    def from_wire(cls, entry: wire.ListedEnvelope) -> Listed:
        """ValueError when the entry has no usable id or seq: then it says nowhere to fetch."""
        message_id = _hex_id(entry.message_id)
        seq = _count(entry.seq)
        if message_id is None or seq is None:
            raise ValueError("a listing entry needs a message id and a seq")
        return cls(
            message_id=message_id,
            seq=seq,
            case_id=_hex_id(entry.case_id),
            kind=_count(entry.kind),
            sender=entry.sender,
            created_at=_count(entry.created_at),
            received_at=_count(entry.received_at),
        )


@dataclass(frozen=True)
class EnvelopeFacts:
    """An opened envelope as its sender signed it, placed with the verified directory."""

    message_id: bytes
    case_id: bytes
    kind: MessageKind
    sender: str  # the municipality of the signing key's directory entry
    recipients: tuple[str, ...]  # the municipalities of the keys it is sealed to, sorted
    created_at: int  # the sender's signed time
    digest: bytes  # SHA-256 over header and ciphertext, computed here from the bytes opened
    hub_received_at: int | None  # the hub's word, shown only labelled as the hub's
    disagreements: tuple[str, ...]  # the listing's fields that the header contradicts

    @property
    def listing_mismatch(self) -> bool:
        return bool(self.disagreements)


def envelope_facts(
    header: Header, digest: bytes, directory: Directory, listed: Listed
) -> EnvelopeFacts:
    """The facts of an envelope that open_envelope has verified against `directory`.
    AuthorityError when its signing key is not a contact person's (a county board or a
    coordinator does not speak in a case)."""
    signer = directory.check_signer(header.sender_key_id, header.created_at, roles=SPEAKERS)
    recipients = sorted(
        {
            entry.municipality
            for key_id in header.recipient_key_ids
            if (entry := directory.entry_for_key(key_id)) is not None
        }
    )
    facts = EnvelopeFacts(
        message_id=header.message_id,
        case_id=header.case_id,
        kind=header.kind,
        sender=signer.municipality,
        recipients=tuple(recipients),
        created_at=header.created_at,
        digest=digest,
        hub_received_at=listed.received_at,
        disagreements=(),
    )
    return EnvelopeFacts(**{**facts.__dict__, "disagreements": disagreements(listed, facts)})


def disagreements(listed: Listed, facts: EnvelopeFacts) -> tuple[str, ...]:
    """The names of the listing's claims that the signed facts contradict (a missing claim
    contradicts nothing: the listing is only where to fetch)."""
    claims = {
        "message_id": (listed.message_id, facts.message_id),
        "case_id": (listed.case_id, facts.case_id),
        "kind": (listed.kind, int(facts.kind)),
        "from": (listed.sender, facts.sender),
        "created_at": (listed.created_at, facts.created_at),
    }
    return tuple(name for name, (said, signed) in claims.items() if said != signed)


@dataclass(frozen=True)
class Me:
    """Who this agent speaks for: from the signed directory entry of its own key."""

    municipality: str
    person: str
    role: Role


def who_am_i(
    directory: Directory,
    identity: PrivateIdentity,
    now: int,
    *,
    hub_says: tuple[str, str] | None = None,
) -> Me:
    """The agent's own municipality, person and role, from the administrator's signed entry
    for its key valid at `now`. `hub_says`: (municipality, role) from the hub's sign-in answer;
    if it disagrees, the hub is lying or confused and nothing may be done on its word:
    AuthorityError identity_mismatch. A key the directory does not vouch for now:
    identity_not_listed."""
    try:
        entry: DirectoryEntry = directory.check_signer(identity.key_id, now)
    except AuthorityError as exc:
        raise AuthorityError("identity_not_listed", exc.code) from None
    me = Me(entry.municipality, entry.person, entry.role)
    if hub_says is not None and hub_says != (me.municipality, str(me.role)):
        raise AuthorityError("identity_mismatch")
    return me


def _hex_id(value: object) -> bytes | None:
    if not isinstance(value, str) or len(value) != 2 * ID_SIZE:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def _count(value: object) -> int | None:
    """A JSON whole number a row can hold, else None (true, 1.5 and -1 are no counts)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


@dataclass(frozen=True)
class Parties:
    """Who sent a case and whom it asked: from its verified inquiries alone."""

    sender: str  # the first verified inquiry's signer
    asked: frozenset[str]  # the municipalities that sender's inquiries were sealed to

    def shown_to(self, me: str) -> frozenset[str] | None:
        """The requests `me` may see: all for the sender, its own for one asked; None when
        `me` is neither (the hub has no business showing it the case)."""
        if me == self.sender:
            return self.asked
        return frozenset({me}) if me in self.asked else None


def parties_of(inquiries: Iterable[tuple[str, Iterable[str]]]) -> Parties | None:
    """The parties from the (sender, recipient municipalities) of a case's verified inquiries
    and pre-inquiries, in signed order; None when there is none."""
    found = list(inquiries)
    if not found:
        return None
    sender = found[0][0]
    asked = {m for signer, to in found if signer == sender for m in to} - {sender}
    return Parties(sender, frozenset(asked))
