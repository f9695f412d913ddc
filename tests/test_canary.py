"""The canary (docs/threat-model.md §7, G10): a string made fresh for this run is typed into
every field of an inquiry, an attachment's name and bytes, a message and a decline motivation,
by real inbox agents against a real hub that sends its deadline e-mails to a real SMTP server.
Then everything the hub holds or emits is searched for it, raw and encoded: its data folder
(SQLite with its WAL, the blob store), its log lines, every e-mail, and every byte that crossed
the wire between the hub and its clients, both ways, recorded by a TCP proxy that stands at the
hub's public address. The same search must find the canary where it has to be: in B's
decrypted page, and in a planted copy of each encoding."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import secrets
import sqlite3
import unicodedata
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

import aiohttp
import pytest

import tests.hubnet
from hub.inbox import forms
from hub.server.app import JsonLogFormatter
from hub.server.typedefs import SCHEDULER, STORAGE
from tests.hubnet import START, free_port, running_hub
from tests.inboxnet import running_agent
from tests.mailcatch import mail_catcher

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.inboxnet import Agent

# The non-ASCII tail catches encoding and normalisation paths.
CANARY = f"KANARIE-{secrets.token_hex(16)}-åäö"
YEAR_OF_START = datetime.fromtimestamp(START, UTC).year


# --- the search -----------------------------------------------------------------------------


def _base64_cores(raw: bytes) -> dict[str, bytes]:
    """The part of base64 that is the same wherever `raw` sits in a longer stream: one per
    alignment (0, 1 or 2 bytes before it in its 3-byte group), standard and URL-safe."""
    cores = {}
    for k in range(3):
        encoded = base64.b64encode(bytes(k) + raw)
        core = encoded[4 if k else 0 : (k + len(raw)) // 3 * 4]
        cores[f"base64 at alignment {k}"] = core
        cores[f"base64url at alignment {k}"] = core.replace(b"+", b"-").replace(b"/", b"_")
    return cores


def encodings(text: str) -> dict[str, bytes]:
    """Every form in which `text` could sit on a disk or a wire."""
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    raw = nfc.encode()
    token = text.split("-")[1] if text.startswith("KANARIE-") else text
    found = {
        "UTF-8 (NFC)": raw,
        "UTF-8 (NFD)": nfd.encode(),
        "ASCII core (survives quoted-printable, entities, escapes)": token.encode(),
        "ASCII core, upper case": token.upper().encode(),
        "UTF-16 LE": nfc.encode("utf-16-le"),
        "UTF-16 BE": nfc.encode("utf-16-be"),
        "UTF-16 LE (NFD)": nfd.encode("utf-16-le"),
        "UTF-16 BE (NFD)": nfd.encode("utf-16-be"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "JSON escaped": json.dumps(nfc)[1:-1].encode(),
        "JSON escaped (NFD)": json.dumps(nfd)[1:-1].encode(),
        "URL-encoded": quote(nfc, safe="").encode(),
        "URL-encoded, lower-case hex": quote(nfc, safe="").lower().encode(),
        "URL-encoded form": quote_plus(nfc).encode(),
        "URL-encoded (NFD)": quote(nfd, safe="").encode(),
        **_base64_cores(raw),
        **{f"{k} (NFD)": v for k, v in _base64_cores(nfd.encode()).items()},
    }
    assert all(len(needle) >= 16 for needle in found.values())
    return found


NEEDLES = encodings(CANARY)


def hits(data: bytes) -> list[str]:
    """The names of the canary's forms found in `data`."""
    return [name for name, needle in NEEDLES.items() if needle in data]


# --- a recording proxy at the hub's public address ------------------------------------------


@dataclasses.dataclass
class Recorder:
    """A TCP proxy: every connection's bytes, each way, as they crossed."""

    target_port: int
    conversations: list[tuple[bytearray, bytearray]] = dataclasses.field(default_factory=list)
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = dataclasses.field(default_factory=set)

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        to_hub, from_hub = bytearray(), bytearray()
        self.conversations.append((to_hub, from_hub))
        hub_r, hub_w = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, kept: bytearray):
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    kept += data
                    dst.write(data)
                    await dst.drain()
            dst.close()

        try:
            await asyncio.gather(pipe(client_r, hub_w, to_hub), pipe(hub_r, client_w, from_hub))
        finally:
            self.tasks.discard(task)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def websocket_payloads(data: bytes) -> bytes:
    """The payloads of the WebSocket frames in `data`, unmasked (a client masks its frames)."""
    out = bytearray()
    while len(data) >= 2:
        masked, length = data[1] & 0x80, data[1] & 0x7F
        at = 2
        if length == 126:
            length, at = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, at = int.from_bytes(data[2:10], "big"), 10
        mask = data[at : at + 4] if masked else bytes(4)
        at += 4 if masked else 0
        payload = data[at : at + length]
        out += bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        data = data[at + length :]
    return bytes(out)


def http_messages(stream: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Split one direction of an HTTP/1.1 connection into (start line and headers, body), the
    body de-chunked and decompressed. After a WebSocket upgrade (the live channel) the rest is
    given as one body: the frames' payloads, unmasked."""
    rest = bytes(stream)
    while rest:
        head, sep, rest = rest.partition(b"\r\n\r\n")
        assert sep, f"an HTTP message cut short: {head[:80]!r}"
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if lines[0].startswith("HTTP/1.1 101") or headers.get("upgrade") == "websocket":
            yield head, websocket_payloads(rest)
            return
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                body += rest[:size]
                rest = rest[size + 2 :]
                if size == 0:
                    break
            body_bytes = bytes(body)
        else:
            length = int(headers.get("content-length", "0"))
            body_bytes, rest = rest[:length], rest[length:]
        coding = headers.get("content-encoding", "identity").lower()
        if coding in {"gzip", "deflate"}:
            body_bytes = zlib.decompress(body_bytes, 47)
        else:
            assert coding == "identity", coding
        yield head, body_bytes


# --- the run --------------------------------------------------------------------------------


def _inquiry_form(canary: str) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False)  # the file name in raw UTF-8, as browsers send it
    for field in forms.INQUIRY_FIELDS:
        value = "2026-11-24" if field.kind == "date" else f"{field.label_sv}: {canary}"
        form.add_field(field.id, value)
    form.add_field("municipalities", "kommun-b")
    form.add_field(
        "attachments",
        b"%PDF-1.4 " + canary.encode() + b" utredningen i sin helhet",
        filename=f"{canary}.pdf",
        content_type="application/pdf",
    )
    return form


async def _send_inquiry(anna: Agent) -> str:
    status, review = await anna.post("/ny/granska", _inquiry_form(CANARY))
    assert status == 200, review
    draft_id = review.split('name="draft_id" value="')[1].split('"')[0]
    status, page = await anna.post("/ny/skicka", {"draft_id": draft_id})
    assert status == 200, page
    return page.split('href="/arende/')[1][:32]


@pytest.fixture
def catcher():
    with mail_catcher() as caught:
        yield caught


@pytest.fixture
async def recorded(monkeypatch):
    """The hub's listening socket moves to a private port; a Recorder takes its public one."""
    recorders: list[Recorder] = []
    serve = tests.hubnet._serve  # the harness's own start, wrapped

    async def serve_behind_recorder(config, clock):
        inner = dataclasses.replace(config, port=free_port())
        runner = await serve(inner, clock)
        recorder = Recorder(inner.port)
        recorder.server = await asyncio.start_server(recorder.handle, "127.0.0.1", config.port)
        recorders.append(recorder)
        return runner

    monkeypatch.setattr(tests.hubnet, "_serve", serve_behind_recorder)
    yield recorders
    for recorder in recorders:
        await recorder.close()


async def test_the_canary_reaches_nothing_the_hub_holds_or_sends(
    tmp_path, catcher, recorded, caplog
):
    """Nothing a person typed reaches the hub's disk, logs, e-mails or answers, in any of
    NEEDLES' forms; B's inbox shows it, so it was sent, and the search finds what is there."""
    caplog.set_level(logging.DEBUG)
    async with running_hub(tmp_path, smtp=catcher.config(timeout_seconds=2)) as net:
        admin = await net.client()
        for person, municipality in (("anna", "kommun-a"), ("bertil", "kommun-b")):
            await admin.put_contact_address(municipality, person, f"{person}@{municipality}.se")
        await net.enrol("signe", "lansstyrelsen", role="coordinator")
        async with (
            running_agent(net, "anna", tmp_path) as anna,
            running_agent(net, "bertil", tmp_path) as bertil,
        ):
            await anna.login()
            await bertil.login()
            case_id = await _send_inquiry(anna)
            status, _ = await anna.post(
                f"/arende/{case_id}/message",
                {"target": "kommun-b", "message": f"Ett tillägg till förfrågan: {CANARY}"},
            )
            assert status == 200
            await bertil.core.sync()
            await bertil.core.sync()  # delivered and read: the answer clock runs

            # The answer deadline passes: reminder, notice on the day, escalation, each mailed.
            alarms = await net.app[STORAGE].list_alarms(bytes.fromhex(case_id))
            assert alarms
            for fire_at in sorted({a.fire_at for a in alarms}):
                net.clock.now = fire_at + 60
                await net.app[SCHEDULER].tick()
            assert len(catcher.caught) >= 3, [c.to for c in catcher.caught]

            motivation = f"Vi har inte plats för fler i år, se vår bedömning: {CANARY}"
            assert len(motivation) >= forms.MIN_MOTIVATION
            status, page = await bertil.post(
                f"/arende/{case_id}/decline",
                {
                    "target": "kommun-b",
                    "reason": "quota_reached",
                    "motivation": motivation,
                    "confirmed": "ja",
                },
            )
            assert status == 200, page
            await anna.core.sync()

            # Positive control: B's and A's own pages show what was typed, decrypted.
            _, b_page = await bertil.page(f"/arende/{case_id}")
            _, a_page = await anna.page(f"/arende/{case_id}")
            assert CANARY in b_page
            assert f"{CANARY}.pdf" in b_page
            assert "Ett tillägg till förfrågan" in b_page
            assert motivation in a_page
            assert "UTF-8 (NFC)" in hits(b_page.encode())

            # The administrator's and the coordinator's reads: their answers are recorded too.
            admin = await net.client(fresh=True)  # the clock has moved on: a new session
            await admin.notices(("sent", "failed", "unknown"))
            await admin.municipalities()
            await admin.contact_addresses()
            signe = await net.client("signe", fresh=True)
            await signe.statistics(YEAR_OF_START)
            await signe.statistics_csv(YEAR_OF_START)

            # The ciphertext B fetched, for the recorder's own control below.
            b_client = await net.client("bertil", fresh=True)
            listed = (await b_client.envelopes("inbox"))[0]
            envelope = await b_client.download(bytes.fromhex(listed.message_id))

        disk_while_running = {
            str(p): p.read_bytes() for p in net.data_dir.rglob("*") if p.is_file()
        }
    disk_after = {str(p): p.read_bytes() for p in net.data_dir.rglob("*") if p.is_file()}

    # The hub's disk: the database, its WAL and journal, the blob store. An envelope up to
    # 256 KiB is kept in the database (envelope_bodies), a larger one under blobs/.
    with contextlib.closing(sqlite3.connect(net.data_dir / "hub.sqlite3")) as db:
        kept = db.execute("SELECT COUNT(*) FROM envelope_bodies").fetchone()[0]
    files = sum("/blobs/" in name for name in disk_while_running)
    assert kept + files >= 3  # inquiry, message, answer
    assert any(name.endswith("hub.sqlite3") for name in disk_after)
    for name, data in {**disk_while_running, **disk_after}.items():
        assert hits(data) == [], name

    # Its log lines, as `hub serve` writes them, and each record's own message. The agents run
    # in this process too, so their records are searched as well: stricter than needed.
    formatter = JsonLogFormatter()
    assert caplog.records
    for record in caplog.records:
        line = formatter.format(record)
        assert hits(line.encode()) == [], line
        assert hits(record.getMessage().encode()) == [], record.getMessage()

    # Its e-mails: every byte the SMTP server took, headers included.
    assert len(catcher.caught) >= 3
    for mail in catcher.caught:
        assert hits(mail.raw) == [], mail.raw[:200]
        assert hits(mail.everything.encode()) == []

    # Everything that crossed the wire, both ways, and each HTTP message decoded.
    [recorder] = recorded
    assert len(recorder.conversations) >= 5
    answers = requests = served = 0
    uploaded = False
    for to_hub, from_hub in recorder.conversations:
        assert hits(bytes(to_hub)) == []
        assert hits(bytes(from_hub)) == []
        for head, body in http_messages(from_hub):
            answers += 1
            assert hits(head) == [], head
            assert hits(body) == [], head
            served += envelope in body
        for head, body in http_messages(to_hub):
            requests += 1
            assert hits(head + body) == [], head
            uploaded |= envelope in body
    # Control: the recording is whole and decoded. The envelope B received is there byte for
    # byte, in A's agent's upload and in the hub's answers to B's agent and to the control's
    # own download.
    assert answers >= 30
    assert requests >= 30
    assert uploaded
    assert served >= 2


@pytest.mark.parametrize("name", sorted(NEEDLES))
def test_the_search_finds_each_planted_form_of_the_canary(name):
    """Control: each form, planted among random bytes (at every offset modulo 3 for the
    encodings that depend on it), is found by the search the canary test uses."""
    for prefix in range(3):
        junk = secrets.token_bytes(1000)
        if name.startswith("base64"):
            raw = NEEDLES["UTF-8 (NFD)" if "(NFD)" in name else "UTF-8 (NFC)"]
            encoded = base64.b64encode(secrets.token_bytes(prefix) + raw + secrets.token_bytes(5))
            if "url" in name:
                encoded = encoded.replace(b"+", b"-").replace(b"/", b"_")
            planted = junk + encoded + junk
            assert any(h.startswith(name.split(" at ")[0]) for h in hits(planted)), name
        else:
            planted = junk[:500] + bytes(prefix) + NEEDLES[name] + junk[500:]
            assert name in hits(planted)
    assert hits(secrets.token_bytes(100_000)) == []


def test_the_encodings_are_the_canary():
    """Control: each needle decodes back to the canary (or its ASCII core)."""
    nfc, nfd = unicodedata.normalize("NFC", CANARY), unicodedata.normalize("NFD", CANARY)
    assert nfc != nfd  # the tail makes NFD differ
    assert NEEDLES["UTF-16 BE"].decode("utf-16-be") == nfc
    assert bytes.fromhex(NEEDLES["HEX"].decode()).decode() == nfc
    assert json.loads(f'"{NEEDLES["JSON escaped"].decode()}"') == nfc
    assert NEEDLES["ASCII core (survives quoted-printable, entities, escapes)"].decode() in nfc
    for k in range(3):
        core = NEEDLES[f"base64 at alignment {k}"]
        assert core in base64.b64encode(bytes(k) + nfc.encode())
