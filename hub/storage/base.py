"""The hub's storage interface. Handlers and the lifecycle call only this; a second backend
(PostgreSQL) implements the same Protocols without touching them.

Rules:
- Every change happens inside `Storage.transaction()`; the audit record of a change is appended
  in the same transaction, so a change without its audit record can never be committed.
- Nothing here stores plaintext of a case: envelopes are blobs the hub cannot read, and rows
  hold ids, kinds, sizes, times and municipality ids only.
- Times are integer Unix seconds passed in by the caller (the hub's clock is injected).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hub.crypto.leaves import Erased, Served, read_erased

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from contextlib import AbstractAsyncContextManager

    from hub.protocol.roles import AccountRole


class StorageError(Exception):
    """A storage-level failure the caller maps to a response (conflict, not found)."""


class AlreadyExists(StorageError):  # noqa: N818 - reads as a condition at the call site
    pass


class NotFound(StorageError):  # noqa: N818
    pass


class BlobTooLarge(StorageError):  # noqa: N818
    """An upload passed `max_size`; nothing of it is kept."""


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    admin_public: bytes  # the county administrator's Ed25519 network key
    settings: dict[str, Any]  # the agreement's settings (answer days, quota key, …)
    created_at: int


@dataclass(frozen=True)
class Municipality:
    network_id: str
    id: str
    name: str
    population: int
    manager_email: str
    template: dict[str, Any] = field(default_factory=dict)  # kommunmall: contact persons only


@dataclass(frozen=True)
class DirectoryRecord:
    network_id: str
    serial: int
    kind: str  # "directory-entry" | "revocation" | a registry kind (hub.crypto.registry)
    key_id: bytes  # the key an entry or revocation names; empty for a registry record
    wire: dict[str, str]  # the signed record exactly as signed; {"leaf"} once its body is erased

    @property
    def erased(self) -> bool:
        return "leaf" in self.wire

    @property
    def served(self) -> Served:
        """What the hub serves for it: the signed record, or its leaf hash and serial
        (docs/protocol.md §12.11)."""
        if self.erased:
            return read_erased({"serial": self.serial, "leaf": self.wire["leaf"]})
        return self.wire


def erased_wire(item: Erased) -> dict[str, str]:
    """What is stored in place of an erased body: its leaf hash alone (base64)."""
    return {"leaf": str(item.to_wire()["leaf"])}


@dataclass(frozen=True)
class LogCheckpoint:
    """A checkpoint of the directory log (docs/protocol.md §12.2) as the administrator's tools
    signed it; its leaves are the network's first `size` directory records."""

    network_id: str
    size: int
    note: str
    added_at: int


@dataclass(frozen=True)
class Invite:
    code_hash: bytes  # BLAKE2b of the one-time code; the code itself is never stored
    network_id: str
    municipality_id: str
    person: str
    role: str
    expires_at: int
    created_at: int


@dataclass(frozen=True)
class Enrolment:
    id: int
    network_id: str
    municipality_id: str
    person: str
    role: str
    public_identity: dict[str, str]  # PublicIdentity.to_json()
    key_id: bytes
    status: str  # "pending" | "approved" | "rejected"
    created_at: int
    code_hash: bytes | None = None  # the invite it was made under (None: before issue 12)
    proof: bytes | None = None  # the key's signature over network, code_hash and key id


@dataclass(frozen=True)
class Session:
    token_hash: bytes
    network_id: str
    key_id: bytes
    municipality_id: str
    role: AccountRole
    expires_at: int


@dataclass(frozen=True)
class EnvelopeRow:
    message_id: bytes
    network_id: str
    case_id: bytes
    kind: int
    sender_key_id: bytes
    sender_municipality: str
    recipient_municipalities: tuple[str, ...]
    recipient_key_ids: tuple[bytes, ...]
    size: int
    digest: bytes
    created_at: int  # the sender's claim, from the signed header
    received_at: int  # the hub's clock
    seq: int = 0  # assigned by the storage on insert: a cursor for listing and live updates


@dataclass(frozen=True)
class ReceiptRow:
    message_id: bytes
    signer_key_id: bytes
    municipality_id: str
    event: str
    time: int
    wire: dict[str, str]
    received_at: int


@dataclass(frozen=True)
class AuditRecord:
    """One record of the hash chain (hub/storage/audit.py). Version 2 commits to its subject
    through `subject_hash` (keyed with `salt`); `subject` is None once retention erased it."""

    seq: int
    at: int
    actor: str  # a key id (hex), "admin", or "system": never a person's name
    action: str
    subject: dict[str, Any] | None  # ids and kinds only; None: erased by retention
    prev_hash: bytes
    hash: bytes
    version: int = 1
    subject_hash: bytes | None = None  # version 2
    salt: bytes | None = None  # version 2, while the subject is there


AuditSubject = dict[str, str | int | list[str]]  # ids, kinds, counts and lists of ids only


@dataclass(frozen=True)
class AuditEntry:
    """An audit record to append: the storage gives it its seq and hashes."""

    at: int
    actor: str
    action: str
    subject: AuditSubject


@dataclass(frozen=True)
class CaseRow:
    case_id: bytes
    network_id: str
    sender_municipality: str
    data: dict[str, Any]  # hub.protocol.case_codec.case_to_json
    requests: tuple[tuple[str, str, int], ...]  # (municipality, state, entered_at)
    created_at: int
    updated_at: int
    version: int = 1


@dataclass(frozen=True)
class CaseStepRow:
    """A signed case step as the hub stores and relays it (hub.crypto.steps)."""

    case_id: bytes
    municipality: str  # the request's (the case's sender for a step on the whole case)
    parent: bytes | None  # None for a chain's first step
    digest: bytes
    step: dict[str, str]  # the signed record, {"record", "signature"}
    received_at: int


@dataclass(frozen=True)
class AlarmRow:
    """One notice of one running deadline clock (hub.protocol.notices.Alarm, with its case)."""

    case_id: bytes
    network_id: str
    sender_municipality: str
    municipality: str
    kind: str
    stage: int
    fire_at: int
    due_at: int


@dataclass(frozen=True)
class ContactAddress:
    network_id: str
    municipality_id: str
    person: str
    email: str


@dataclass(frozen=True)
class RecoveryCopy:
    """A contact person's recovery copy kept on the hub (docs/protocol.md §3.8): a key file the
    hub cannot open, under the lookup id derived from its code."""

    network_id: str
    lookup: bytes
    key_id: bytes
    municipality_id: str
    copy: str
    stored_at: int


@dataclass(frozen=True)
class NoticeRow:
    """An e-mail notice to one address, waiting in the outbox or done with."""

    key: str  # idempotency key: what caused it, and the address
    cause: str  # what cancels it while it waits (a deadline clock, a delivery)
    network_id: str
    municipality_id: str
    audience: str
    address: str
    topic: str
    created_at: int
    next_attempt_at: int
    status: str = "pending"  # pending | sending | sent | failed | unknown | cancelled
    attempts: int = 0
    batch: str | None = None
    last_error: str | None = None
    finished_at: int | None = None
    id: int = 0  # assigned by the storage


@dataclass(frozen=True)
class RemovedCase:
    """What `Transaction.remove_case` removed (retention, hub/server/retention.py)."""

    case_id: bytes
    envelopes: int
    blob_files: tuple[bytes, ...]  # message ids whose bytes are files: removed after the commit
    audit_subjects: int  # audit records whose subject was erased
    notices: int


class StaleVersion(StorageError):  # noqa: N818
    """Someone else changed the case since it was read: read again and retry."""


@dataclass(frozen=True)
class StagedBlob:
    """A blob whose chunks wait in the database's staging area (PostgreSQL): the transaction
    that stores its envelope's row makes it visible (Transaction.add_envelopes)."""

    blob_id: bytes
    size: int


class BlobStore(Protocol):
    """Where envelopes larger than a row's body are kept: files (SQLite's hub) or chunks in the
    database (PostgreSQL). Read back as a stream of chunks, never as one piece or a path."""

    async def write(self, chunks: AsyncIterator[bytes], *, max_size: int) -> PendingBlob: ...
    def read(self, message_id: bytes) -> AsyncIterator[bytes]: ...  # NotFound if none
    async def commit_all(
        self, blobs: Sequence[tuple[PendingBlob, bytes]]
    ) -> list[bool]: ...  # False: other bytes are stored under that message id
    # retention: remove blobs (the number removed), and list those placed before `at` (Unix
    # seconds), to sweep the ones no row refers to any more
    async def remove(self, message_ids: Sequence[bytes]) -> int: ...
    async def stored_before(self, at: float) -> list[bytes]: ...


class PendingBlob(Protocol):
    """A blob not yet visible. `commit_all` makes it durable: a file renamed into place, or
    chunks staged for the row's transaction (`staged`); `discard` removes what is left of it."""

    size: int

    def in_memory(self) -> bytes | None: ...  # its bytes, if none were written out yet
    def staged(self) -> StagedBlob | None: ...  # its chunks in the database, once committed
    async def discard(self) -> None: ...


class Transaction(Protocol):
    async def add_network(self, network: Network) -> None: ...
    async def put_municipality(self, municipality: Municipality) -> None: ...
    async def set_network_settings(self, network_id: str, settings: dict[str, Any]) -> None: ...
    async def add_directory_record(self, record: DirectoryRecord) -> None: ...
    async def erase_directory_record(self, network_id: str, item: Erased) -> None: ...
    async def add_checkpoint(self, checkpoint: LogCheckpoint) -> None: ...
    async def put_cosignature(
        self, network_id: str, size: int, witness: str, line: str, signed_at: int
    ) -> None: ...
    async def add_invite(self, invite: Invite) -> None: ...
    async def take_invite(self, code_hash: bytes, at: int) -> Invite: ...
    async def add_enrolment(self, enrolment: Enrolment) -> int: ...
    async def set_enrolment_status(self, enrolment_id: int, status: str) -> None: ...
    async def add_challenge(self, nonce: bytes, key_id: bytes, expires_at: int) -> None: ...
    async def take_challenge(self, nonce: bytes, key_id: bytes, at: int) -> None: ...
    async def add_session(self, session: Session) -> None: ...
    async def purge_expired(self, at: int) -> int: ...  # challenges and sessions
    async def add_envelope(self, envelope: EnvelopeRow) -> int: ...  # returns its seq
    async def find_envelope(self, message_id: bytes) -> EnvelopeRow | None: ...
    async def add_envelopes(
        self, envelopes: Sequence[EnvelopeRow], bodies: Sequence[bytes | StagedBlob | None] = ()
    ) -> list[int]: ...  # bytes: stored with the row (get_envelope_body); staged: linked
    async def find_envelopes(self, message_ids: Sequence[bytes]) -> dict[bytes, EnvelopeRow]: ...
    async def add_receipt(self, receipt: ReceiptRow) -> None: ...
    async def add_case(self, case: CaseRow) -> None: ...
    async def update_case(
        self, case: CaseRow
    ) -> None: ...  # StaleVersion unless version-1 is stored
    async def add_case_steps(
        self, steps: Sequence[CaseStepRow]
    ) -> None: ...  # AlreadyExists: a step names a parent another step already names
    async def append_audit(
        self, *, at: int, actor: str, action: str, subject: dict[str, Any]
    ) -> AuditRecord: ...
    async def append_audits(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]: ...
    # deadlines and notices
    async def replace_alarms(
        self, case_id: bytes, alarms: Sequence[AlarmRow]
    ) -> set[tuple[str, str, int]]: ...  # the clocks that stopped
    async def take_due_alarms(self, at: int, limit: int) -> list[AlarmRow]: ...
    async def mark_fired(self, key: str, at: int) -> bool: ...  # False: it had fired already
    async def add_notice(self, notice: NoticeRow) -> bool: ...  # False: the key exists
    async def cancel_notices(self, cause: str, at: int) -> int: ...
    async def claim_notices(self, at: int, limit: int, batch: str) -> list[NoticeRow]: ...
    async def finish_notices(
        self,
        ids: Sequence[int],
        *,
        status: str,
        at: int,
        error: str | None = None,
        retry_at: int | None = None,
    ) -> None: ...
    async def mark_interrupted_sends(self, at: int) -> int: ...
    async def put_contact_address(self, address: ContactAddress) -> None: ...
    async def delete_contact_address(
        self, network_id: str, municipality_id: str, person: str
    ) -> None: ...
    # outcome reports: filing again replaces (hub/storage/sqlite_outcomes.py)
    async def put_outcome_report(
        self,
        case_id: bytes,
        network_id: str,
        sender_municipality: str,
        report: dict[str, Any],
        at: int,
    ) -> None: ...
    # retention (hub/server/retention.py): StaleVersion unless the case is still at `version`
    async def remove_case(self, case_id: bytes, version: int) -> RemovedCase: ...
    # envelopes whose case has no row: StaleVersion if one arrived after `received_by`
    async def remove_caseless(self, case_id: bytes, received_by: int) -> RemovedCase: ...
    async def freeze_report(
        self, network_id: str, year: int, report: dict[str, Any], at: int
    ) -> bool: ...  # False: the year was frozen already, and stays as it was
    # recovery copies: one per key, a new one replaces it (hub/storage/sqlite_recovery.py)
    async def put_recovery_copy(self, copy: RecoveryCopy) -> None: ...
    # retention: False if the key has no copy (gone meanwhile)
    async def remove_recovery_copy(self, network_id: str, key_id: bytes) -> bool: ...


class Storage(Protocol):
    blobs: BlobStore

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    async def get_network(self, network_id: str) -> Network: ...
    async def list_municipalities(self, network_id: str) -> list[Municipality]: ...
    async def list_directory_records(self, network_id: str) -> list[DirectoryRecord]: ...
    async def keeps_signatures_of(self, network_id: str, key_id: bytes) -> bool: ...
    async def next_directory_serial(self, network_id: str) -> int: ...
    async def latest_checkpoint(self, network_id: str) -> LogCheckpoint | None: ...
    async def list_cosignatures(self, network_id: str, size: int) -> list[str]: ...
    async def log_networks(self) -> list[str]: ...
    async def list_enrolments(self, network_id: str, status: str) -> list[Enrolment]: ...
    async def get_enrolment(self, enrolment_id: int) -> Enrolment: ...
    async def get_session(self, token_hash: bytes, at: int) -> Session: ...
    async def get_envelope(self, message_id: bytes) -> EnvelopeRow: ...
    async def get_envelope_body(
        self, message_id: bytes
    ) -> bytes | None: ...  # None: in the blob store
    async def list_envelopes(
        self, network_id: str, municipality_id: str, *, box: str, after: int = 0, limit: int = 200
    ) -> Sequence[EnvelopeRow]: ...
    async def list_receipts(self, message_id: bytes) -> list[ReceiptRow]: ...
    async def get_case(self, case_id: bytes) -> CaseRow: ...
    async def list_cases(self, network_id: str, municipality_id: str) -> list[CaseRow]: ...
    async def list_case_steps(self, case_id: bytes) -> list[CaseStepRow]: ...  # in the hub's order
    def audit_records(self, after_seq: int = 0) -> AsyncIterator[AuditRecord]: ...
    async def next_alarm_at(self) -> int | None: ...
    async def next_notice_at(self) -> int | None: ...
    async def list_alarms(self, case_id: bytes) -> list[AlarmRow]: ...
    async def list_notices(self, network_id: str, statuses: Sequence[str]) -> list[NoticeRow]: ...
    async def list_contact_addresses(self, network_id: str) -> list[ContactAddress]: ...
    async def get_outcome_report(self, case_id: bytes) -> dict[str, Any] | None: ...
    async def list_outcome_reports(
        self, network_id: str
    ) -> list[tuple[bytes, dict[str, Any], int]]: ...  # (case_id, report, filed_at)
    # statistics: every case of the network (hub/storage/sqlite_statistics.py)
    async def list_network_cases(self, network_id: str) -> list[CaseRow]: ...
    # retention
    async def list_network_ids(self) -> list[str]: ...
    async def list_caseless_envelopes(
        self, network_id: str
    ) -> list[tuple[bytes, int]]: ...  # (case id, last received_at) with no case row
    async def get_frozen_report(self, network_id: str, year: int) -> dict[str, Any] | None: ...
    async def get_recovery_copy(self, network_id: str, lookup: bytes) -> RecoveryCopy: ...
    async def list_recovery_copies(
        self, network_id: str
    ) -> list[tuple[bytes, int]]: ...  # (key id, stored_at) of every copy kept
    async def reclaim(self) -> bool: ...  # removed rows' bytes gone from every file; False: not yet
    async def close(self) -> None: ...
