"""An async client of the hub's JSON API (docs/api.md)."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Self, TypeVar
from urllib.parse import quote, urlsplit

import aiohttp

from hub.crypto.directory import Directory
from hub.crypto.records import signer_id
from hub.crypto.registry import Registry
from hub.errors import ApiError
from hub.protocol import wire
from hub.protocol.enrolment import enrol_message, invite_code_hash, normalise_code
from hub.protocol.signin import signin_message

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hub.crypto.keys import PrivateIdentity, SigningKey
    from hub.crypto.leaves import Served

T = TypeVar("T")
API = "/api/v1"
DOWNLOAD_CHUNK: Final = 256 * 1024


class RemoteError(Exception):
    """The hub refused a request. `code` is the hub's stable code; show our own sentence for it
    (hub.errors.MESSAGES), not text from the hub."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


def check_transport(base_url: str, *, allow_insecure: bool = False) -> None:
    """Refuse plain HTTP to anything but this machine unless told explicitly."""
    parts = urlsplit(base_url)
    if parts.scheme == "https" or allow_insecure:
        return
    if parts.scheme != "http":
        raise ValueError(f"okänt protokoll i hubbens adress: {parts.scheme!r}")
    host = parts.hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ApiError("plain_http_refused", host)


@dataclass
class SignedIn:
    token: str
    expires_at: int
    municipality: str
    role: str


class HubClient:
    def __init__(
        self,
        base_url: str,
        network: str,
        *,
        allow_insecure: bool = False,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        check_transport(base_url, allow_insecure=allow_insecure)
        self.base_url = base_url.rstrip("/")
        self.network = network
        self._session = session or aiohttp.ClientSession()
        self._owns_session = session is None
        self.signed_in: SignedIn | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session:
            await self._session.close()

    # --- plumbing ---

    def _headers(self) -> dict[str, str]:
        if self.signed_in is None:
            return {}
        return {"Authorization": f"Bearer {self.signed_in.token}"}

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        async with self._session.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as response:
            return await _json_or_raise(response)

    async def _shape(self, method: str, path: str, shape: type[T], **kwargs: Any) -> T:  # noqa: ANN401
        """The hub's answer read as `shape` (hub.protocol.wire); an answer of another shape is
        RemoteError answer_malformed, as the hub's failure, never passed on half-read."""
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        async with self._session.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as response:
            if response.status >= 400:
                await _json_or_raise(response)
            data = await response.read()
        try:
            return wire.decode(data, shape)
        except wire.WireError:
            raise RemoteError(response.status, "answer_malformed") from None

    # --- sign-in ---

    async def sign_in(self, key: PrivateIdentity | SigningKey) -> SignedIn:
        key_id = key.key_id if hasattr(key, "key_id") else signer_id(key.public)
        challenge = await self._shape(
            "POST",
            f"{API}/auth/challenge",
            wire.Challenge,
            json={"network": self.network, "key_id": key_id.hex()},
        )
        nonce = base64.b64decode(challenge.nonce)
        message = signin_message(
            audience=challenge.audience, network=self.network, key_id=key_id, nonce=nonce
        )
        # The audience is the hub's own claim; a relay would have to name the real hub, whose
        # address then would not match the one this client dialled.
        if challenge.audience.rstrip("/") != self.base_url:
            raise RemoteError(0, "audience_mismatch")
        result = await self._shape(
            "POST",
            f"{API}/auth/session",
            wire.SessionAnswer,
            json={
                "network": self.network,
                "key_id": key_id.hex(),
                "nonce": challenge.nonce,
                "signature": base64.b64encode(key.sign(message)).decode(),
            },
        )
        self.signed_in = SignedIn(result.token, result.expires_at, result.municipality, result.role)
        return self.signed_in

    # --- directory ---

    async def directory_records(self) -> dict[str, Any]:
        return await self._request("GET", f"{API}/networks/{self.network}/directory")  # type: ignore[no-any-return]

    async def directory(self, admin_public: bytes) -> Directory:
        """The directory, verified here against the administrator key pinned at enrolment."""
        records = await self.directory_records()
        return Directory.load(
            admin_public, self.network, records["entries"], records["revocations"]
        )

    async def registry(self, admin_public: bytes, *, known_serial: int = 0) -> Registry:
        """The one sequence (directory and registry), verified here against the pinned
        administrator key; never older than `known_serial` (docs/protocol.md §5.11)."""
        records = await self.registry_records()
        return Registry.load(admin_public, self.network, records, known_serial=known_serial)

    async def reject_enrolment(self, enrolment_id: int) -> None:
        """The administrator refuses a pending enrolment; its key never becomes valid."""
        path = f"{API}/networks/{self.network}/enrolments/{enrolment_id}/reject"
        await self._request("POST", path)

    async def registry_records(self) -> list[Served]:
        """The one sequence as the hub serves it, unverified (an erased record as its leaf
        hash and serial): for `Registry.load` and the directory log's leaves."""
        found = await self._shape(
            "GET", f"{API}/networks/{self.network}/registry", wire.RegistryList
        )
        return [r.served() for r in found.records]

    async def add_record(self, wire: dict[str, str], checkpoint: str | None = None) -> int:
        """A signed record, with the log's checkpoint over every record and this one."""
        body = wire if checkpoint is None else {**wire, "checkpoint": checkpoint}
        result = await self._request("POST", f"{API}/networks/{self.network}/directory", json=body)
        return int(result["serial"])

    async def log(self, old: int = 0) -> wire.LogView:
        """The directory log's newest checkpoint, its records and a consistency proof from
        `old` (docs/protocol.md §12), unverified: hub.crypto.transparency checks it."""
        path = f"{API}/networks/{self.network}/log?old={old}"
        return await self._shape("GET", path, wire.LogView)

    async def add_checkpoint(self, note: str) -> int:
        path = f"{API}/networks/{self.network}/log/checkpoints"
        result = await self._request("POST", path, json={"checkpoint": note})
        return int(result["size"])

    async def network_info(self) -> wire.NetworkInfo:
        """The network's name and agreed settings (answer days, quota key …)."""
        return await self._shape("GET", f"{API}/networks/{self.network}", wire.NetworkInfo)

    async def municipalities(self) -> list[wire.Member]:
        path = f"{API}/networks/{self.network}/municipalities"
        return (await self._shape("GET", path, wire.MemberList)).municipalities

    async def put_municipality(
        self,
        municipality_id: str,
        *,
        name: str,
        population: int,
        manager_email: str,
        template: dict[str, Any] | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "name": name,
            "population": population,
            "manager_email": manager_email,
        }
        if template is not None:
            body["template"] = template
        await self._request(
            "PUT", f"{API}/networks/{self.network}/municipalities/{municipality_id}", json=body
        )

    # --- notices (docs/api.md, "Notices") ---

    async def put_contact_address(self, municipality_id: str, person: str, email: str) -> None:
        """Where `person`'s deadline notices go (the administrator's call)."""
        path = self._contact_path(municipality_id, person)
        await self._request("PUT", path, json={"email": email})

    async def delete_contact_address(self, municipality_id: str, person: str) -> None:
        path = self._contact_path(municipality_id, person)
        await self._request("DELETE", path)

    def _contact_path(self, municipality_id: str, person: str) -> str:
        # A name is a path segment: "/", "?", "#" or "%" in it must not change which one.
        m, p = quote(municipality_id, safe=""), quote(person, safe="")
        return f"{API}/networks/{self.network}/municipalities/{m}/contacts/{p}"

    async def contact_addresses(self) -> list[wire.Contact]:
        path = f"{API}/networks/{self.network}/contacts"
        return (await self._shape("GET", path, wire.ContactList)).contacts

    async def notices(self, statuses: tuple[str, ...] = ("failed", "unknown")) -> list[wire.Notice]:
        """The notices in `statuses`; by default those that need the administrator."""
        result = await self._shape(
            "GET",
            f"{API}/networks/{self.network}/notices",
            wire.NoticeList,
            params={"status": ",".join(statuses)},
        )
        return result.notices

    # --- enrolment (docs/api.md, "Enrolment") ---

    async def create_invite(
        self, code_hash: bytes, *, municipality: str, person: str, role: str, expires_at: int
    ) -> dict[str, Any]:
        """The administrator registers an invite; only the code's hash leaves their machine."""
        body = {
            "code_hash": code_hash.hex(),
            "municipality": municipality,
            "person": person,
            "role": role,
            "expires_at": expires_at,
        }
        return await self._request(  # type: ignore[no-any-return]
            "POST", f"{API}/networks/{self.network}/invites", json=body
        )

    async def enrol(
        self, code: str, identity: PrivateIdentity, recovery: tuple[bytes, str] | None = None
    ) -> int:
        """Send a new contact person's public keys with the one-time code, no sign-in; the
        proof is a signature by the new key over the network, the code's hash and the key id.
        `recovery`: (lookup id, copy) of the key's recovery copy, for the hub to keep."""
        code = normalise_code(code)
        extra = {} if recovery is None else {"recovery": _recovery_body(*recovery)}
        message = enrol_message(
            network=self.network, code_hash=invite_code_hash(code), key_id=identity.key_id
        )
        result = await self._request(
            "POST",
            f"{API}/enrol",
            json={
                "network": self.network,
                "code": code,
                "public_identity": identity.public.to_json(),
                "proof": base64.b64encode(identity.sign(message)).decode(),
                **extra,
            },
        )
        return int(result["enrolment_id"])

    # --- recovery copies (docs/api.md, "Recovery copies") ---

    async def put_recovery_copy(self, lookup: bytes, copy: str) -> None:
        """Keep our own key's recovery copy on the hub (signed in as that key)."""
        await self._request("PUT", self._copy_path(lookup), json={"copy": copy})

    async def recovery_copy(self, lookup: bytes) -> str:
        """The copy kept under `lookup` (no sign-in); RemoteError not_found if none."""
        path = self._copy_path(lookup)
        return (await self._shape("GET", path, wire.RecoveryCopyAnswer)).copy

    def _copy_path(self, lookup: bytes) -> str:
        return f"{API}/networks/{self.network}/recovery-copies/{lookup.hex()}"

    async def enrolments(self, status: str = "pending") -> list[dict[str, Any]]:
        result = await self._request(
            "GET", f"{API}/networks/{self.network}/enrolments", params={"status": status}
        )
        return list(result["enrolments"])

    # --- envelopes ---

    async def upload(self, data: bytes | AsyncIterator[bytes], to: list[str]) -> wire.UploadAck:
        return await self._shape(
            "POST",
            f"{API}/envelopes",
            wire.UploadAck,
            params={"to": ",".join(to)},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    async def envelopes(self, box: str = "inbox", after: int = 0) -> list[wire.ListedEnvelope]:
        params = {"box": box, "after": str(after)}
        result = await self._shape("GET", f"{API}/envelopes", wire.EnvelopeList, params=params)
        return result.envelopes

    async def envelope(self, message_id: bytes) -> wire.ListedEnvelope:
        """One envelope as the hub lists it (where to fetch it; the header is the truth)."""
        return await self._shape("GET", f"{API}/envelopes/{message_id.hex()}", wire.ListedEnvelope)

    async def download(self, message_id: bytes) -> bytes:
        """The envelope whole, in memory: for small ones and tests. The inbox uses download_to."""
        async with self._session.get(
            f"{self.base_url}{API}/envelopes/{message_id.hex()}/blob", headers=self._headers()
        ) as response:
            if response.status != 200:
                await _json_or_raise(response)
            return await response.read()

    async def download_to(self, message_id: bytes, target: BinaryIO) -> int:
        """Write the envelope to `target` as it arrives, chunk by chunk (each write off the
        event loop), so no envelope is ever held whole; returns its size."""
        async with self._session.get(
            f"{self.base_url}{API}/envelopes/{message_id.hex()}/blob", headers=self._headers()
        ) as response:
            if response.status != 200:
                await _json_or_raise(response)
            size = 0
            async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                await asyncio.to_thread(target.write, chunk)
                size += len(chunk)
            return size

    async def post_receipt(self, message_id: bytes, wire: dict[str, str]) -> None:
        await self._request("POST", f"{API}/envelopes/{message_id.hex()}/receipts", json=wire)

    async def receipts(self, message_id: bytes) -> list[dict[str, str]]:
        """The receipts as signed records ({"record", "signature"}: hub.crypto.receipts)."""
        path = f"{API}/envelopes/{message_id.hex()}/receipts"
        result = await self._shape("GET", path, wire.ReceiptList)
        return [{"record": r.record, "signature": r.signature} for r in result.receipts]

    def live(self) -> Any:  # noqa: ANN401 - aiohttp's websocket context manager
        return self._session.ws_connect(f"{self.base_url}{API}/live", headers=self._headers())

    # --- cases ---

    async def create_case(self, case_id: bytes) -> wire.CaseView:
        body = {"case_id": case_id.hex()}
        return await self._shape("POST", f"{API}/cases", wire.CaseView, json=body)

    async def cases(self) -> list[wire.CaseView]:
        return (await self._shape("GET", f"{API}/cases", wire.CaseList)).cases

    async def case(self, case_id: bytes) -> wire.CaseView:
        return await self._shape("GET", f"{API}/cases/{case_id.hex()}", wire.CaseView)

    async def post_steps(self, case_id: bytes, steps: list[dict[str, str]]) -> wire.CaseView:
        """Signed steps that stand or fall together (hub.protocol.lifecycle.Case.apply_batch),
        sent as signed; resending the same bytes after a lost answer changes nothing. The
        answer's states are the hub's word."""
        path = f"{API}/cases/{case_id.hex()}/steps"
        return await self._shape("POST", path, wire.CaseView, json={"steps": steps})

    async def case_steps(self, case_id: bytes) -> list[wire.RelayedStep]:
        """The case's signed steps the hub relays to us, to verify (hub.protocol.chain)."""
        path = f"{API}/cases/{case_id.hex()}/steps"
        return (await self._shape("GET", path, wire.StepList)).steps

    # --- outcome reports (docs/api.md, "Cases") ---

    async def put_outcome_report(self, case_id: bytes, report: dict[str, Any]) -> dict[str, Any]:
        """File (or correct) a closed case's outcome report: categories only, sent in clear."""
        return await self._request(  # type: ignore[no-any-return]
            "PUT", f"{API}/cases/{case_id.hex()}/outcome-report", json=report
        )

    async def outcome_report(self, case_id: bytes) -> dict[str, Any] | None:
        """The case's filed report, or None while none is filed."""
        body = await self._request("GET", f"{API}/cases/{case_id.hex()}/outcome-report")
        report = body["report"]
        return None if report is None else dict(report)

    # --- statistics (docs/api.md, "Statistics") ---

    async def statistics(self, year: int | None = None) -> dict[str, Any]:
        """The network's year as suppressed tables (hub.report.wire.report_from_json reads it);
        without `year`, the hub's current year."""
        params = {} if year is None else {"year": str(year)}
        return dict(
            await self._request("GET", f"{API}/networks/{self.network}/statistics", params=params)
        )

    async def quotas(self) -> wire.Quotas:
        """This year's quota and received inquiries of every member."""
        return await self._shape("GET", f"{API}/networks/{self.network}/quotas", wire.Quotas)

    async def statistics_csv(self, year: int | None = None) -> bytes:
        """The same tables as CSV: UTF-8 with a byte order mark, semicolons."""
        params = {} if year is None else {"year": str(year)}
        async with self._session.get(
            f"{self.base_url}{API}/networks/{self.network}/statistics.csv",
            headers=self._headers(),
            params=params,
        ) as response:
            if response.status != 200:
                await _json_or_raise(response)
            return await response.read()


def _recovery_body(lookup: bytes, copy: str) -> dict[str, str]:
    return {"lookup": lookup.hex(), "copy": copy}


async def _json_or_raise(response: aiohttp.ClientResponse) -> Any:  # noqa: ANN401
    try:
        body = await response.json(content_type=None)
    except (aiohttp.ContentTypeError, ValueError):
        body = None
    if response.status >= 400:
        code = "unknown"
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = str(body["error"].get("code", "unknown"))
        raise RemoteError(response.status, code)
    return body


def signed_members(registry: Registry) -> list[wire.Member]:
    """The members as the administrator signed them (name, population, kommunmall), by id: what
    this release's clients show, never the hub's member list."""
    found = []
    for municipality_id in sorted(registry.municipalities):
        record = registry.municipalities[municipality_id]
        template = registry.kommunmallar.get(municipality_id)
        found.append(
            wire.Member(
                id=municipality_id,
                name=record.name,
                population=record.population,
                template={}
                if template is None
                else {"text": template.offer, "contact": template.contact},
            )
        )
    return found
