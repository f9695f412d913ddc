"""Claims of docs/threat-model.md that no other test proved on its own: disguised attachment
names refused on sealing and on opening, the hub refusing a stanza for an outsider's or an
unknown key, the inbox agent listening on loopback only, what its CSP allows, a key file synced
before and after it takes its name, and a public identity file that lies about its keys."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path

import pytest

from hub.client.api import RemoteError
from hub.crypto import content, keyfile
from hub.crypto.envelope import AttachmentSource, PinnedSender, open_envelope, seal, seal_raw
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity, PublicIdentity
from hub.errors import HubError, KeyFileError
from hub.inbox import agent
from hub.inbox.agent import InboxConfig
from hub.localagent import launch
from hub.localagent.security import CSP
from tests.hubnet import NETWORK, free_port, running_hub
from tests.vectors._rng import SeededRng

ALICE = PrivateIdentity.generate(SeededRng("test-guarantees/alice"))
BOB = PrivateIdentity.generate(SeededRng("test-guarantees/bob"))
NOW = 1_795_000_000

DISGUISED_NAMES = [
    "../utredning.pdf",
    "mapp/utredning.pdf",
    "..\\utredning.pdf",
    "..",
    "utredning\u202efdp.exe",  # RLO: shows as "utredningexe.pdf"
    "utredning\u200b.pdf",  # an invisible character
    "utred\nning.pdf",  # a control character
    "utredning-a\u030a.pdf",  # not NFC: "å" as "a" and a combining ring
    " utredning.pdf",
]


@pytest.mark.parametrize("name", DISGUISED_NAMES)
def test_a_disguised_attachment_name_is_refused_on_seal_and_on_open(tmp_path, name):
    """A path, a right-to-left override, a control or invisible character or a name not in NFC
    is refused by the honest sender's seal, and by the reader when a hostile sender signs it."""
    with pytest.raises(ValueError, match="attachment name"):
        seal(
            io.BytesIO(),
            sender=ALICE,
            recipients=[BOB.public],
            kind=MessageKind.INQUIRY,
            case_id=bytes(16),
            document={},
            attachments=[AttachmentSource(name, "application/pdf", 1, io.BytesIO(b"x"))],
            created_at=NOW,
        )
    # A hostile sender skips seal()'s check and signs the manifest as it likes.
    attachment = {"name": name, "media_type": "application/pdf", "size": 1}
    caught = _open_hostile(tmp_path, [attachment], b"x")
    assert caught.code == "envelope_content_malformed"


def _open_hostile(
    tmp_path: Path, attachments: list[object], data: bytes, document: object = None
) -> HubError:
    """Seal a manifest as a hostile sender would (signed, past seal()'s checks), open it as
    Bob, and give the error; nothing of the plaintext may be left in the work folder."""
    manifest = {
        "v": content.MANIFEST_VERSION,
        "document": document or {},
        "attachments": attachments,
    }
    body = json.dumps(manifest, ensure_ascii=False).encode()
    plain = len(body).to_bytes(4, "big") + body + data
    plain += bytes(content.padded_length(len(plain)) - len(plain))
    out = io.BytesIO()
    seal_raw(
        out,
        sender=ALICE,
        recipients=[BOB.public],
        kind=MessageKind.INQUIRY,
        case_id=bytes(16),
        plaintext=io.BytesIO(plain),
        payload_length=len(plain),
        created_at=NOW,
    )
    work = tmp_path / "work"
    work.mkdir(parents=True)
    with pytest.raises(HubError) as caught:
        open_envelope(
            io.BytesIO(out.getvalue()),
            recipient=BOB,
            sender_keys=PinnedSender(ALICE.public),
            workdir=work,
            now=NOW,
        ).close()
    assert list(work.iterdir()) == []
    return caught.value


def test_a_manifest_over_its_limits_is_refused_on_open(tmp_path):
    """A signed manifest of more than 1 MiB, or with more than 256 attachments, is refused by
    the reader: a hostile sender cannot make it hold either."""
    assert content.MAX_MANIFEST_SIZE == 1024 * 1024
    assert content.MAX_ATTACHMENTS == 256
    many = [{"name": f"b{i}", "media_type": "text/plain", "size": 0} for i in range(257)]
    assert _open_hostile(tmp_path / "many", many, b"").code == "envelope_content_malformed"
    text = {"bakgrund": "x" * content.MAX_MANIFEST_SIZE}
    assert _open_hostile(tmp_path / "big", [], b"", text).code == "envelope_content_malformed"


async def test_the_hub_refuses_a_stanza_for_an_outsiders_or_an_unknown_key(tmp_path):
    """An envelope to B that also carries a stanza for C's key, or for a key the directory does
    not know, is refused before it is stored; the honest envelope then goes through."""
    async with running_hub(tmp_path) as net:
        anna = await net.client("anna")
        stranger = PrivateIdentity.generate(SeededRng("test-guarantees/stranger"))
        honest = [net.people[p].public for p in ("anna", "bertil", "britta")]
        for extra in (net.people["cecilia"].public, stranger.public):
            out = io.BytesIO()
            seal(
                out,
                sender=net.people["anna"],
                recipients=[*honest, extra],
                kind=MessageKind.INQUIRY,
                case_id=bytes(16),
                document={"x": 1},
                created_at=int(net.clock.now),
            )
            with pytest.raises(RemoteError) as caught:
                await anna.upload(out.getvalue(), ["kommun-b"])
            assert (caught.value.status, caught.value.code) == (422, "envelope_recipients_mismatch")
        assert await anna.envelopes("sent") == []
        await anna.upload(net.seal_to("anna", ["kommun-b"], {"x": 2}), ["kommun-b"])
        assert len(await anna.envelopes("sent")) == 1


def _listening(port: int) -> set[str]:
    """The local addresses the kernel has a listening TCP socket on for `port` (Linux /proc)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
                    found.add(address)
    return found


async def test_hub_inbox_listens_on_loopback_only(tmp_path, monkeypatch, capsys):
    """`hub inbox` (agent.serve) binds 127.0.0.1 and nothing else: not every interface, not
    IPv6; the kernel's own table of listening sockets says so."""
    if not await asyncio.to_thread(Path("/proc/net/tcp").exists):
        pytest.skip("needs Linux /proc/net/tcp")
    async with running_hub(tmp_path) as net:
        port = free_port()
        config = InboxConfig(
            net.url, NETWORK, tmp_path / "keys", port=port, cache_dir=tmp_path / "cache"
        )
        monkeypatch.setattr(launch.webbrowser, "open", pytest.fail)
        task = asyncio.create_task(
            agent.serve(config, net.people["anna"], net.admin.public, open_browser=False)
        )
        try:
            for _ in range(200):
                if _listening(port):
                    break
                await asyncio.sleep(0.05)
            assert _listening(port) == {"0100007F"}  # 127.0.0.1, little-endian hex
            assert f"http://127.0.0.1:{port}" in capsys.readouterr().out
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def test_the_inbox_csp_allows_no_inline_script_and_nothing_from_elsewhere():
    """The agent's Content-Security-Policy (sent on every page, see test_inbox_agent) starts
    from nothing, allows scripts, styles, images and connections only from the agent itself,
    no inline script or style, no framing and no form posts elsewhere."""
    directives = {
        name: sources
        for name, *sources in (part.split() for part in CSP.split(";") if part.strip())
    }
    assert directives["default-src"] == ["'none'"]
    for name in ("script-src", "style-src", "img-src", "connect-src", "form-action"):
        assert directives[name] == ["'self'"], name
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert not any("unsafe" in s or ":" in s or "*" in s for v in directives.values() for s in v)


def test_a_key_file_is_synced_before_and_after_it_takes_its_name(tmp_path, monkeypatch):
    """K5: the temporary file's bytes are synced before it is linked to its name, and the folder
    is synced after, so a power cut leaves the old state or the whole new file."""
    synced: list[str] = []
    real_fsync = keyfile.os.fsync

    def fsync(fd: int) -> None:
        synced.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        real_fsync(fd)

    monkeypatch.setattr(keyfile.os, "fsync", fsync)
    path = tmp_path / "identity.key"
    keyfile.write_keyfile(
        path, ALICE, "korrekt häst batteri häftklammer", opslimit=1, memlimit=8192
    )
    assert len(synced) == 2
    assert Path(synced[0]).name.startswith(".identity.key.")  # the temporary file, synced first
    assert synced[1] == str(tmp_path)  # then the folder that now names it
    assert path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["identity.key"]


@pytest.mark.parametrize("field", ["key_id", "fingerprint"])
def test_a_public_identity_file_whose_stated_id_or_fingerprint_lies_is_refused(field):
    """K6: identity.pub states a key id and fingerprint; an edit to either, or keys swapped in
    under the stated ones, is public_key_invalid."""
    honest = ALICE.public.to_json()
    assert PublicIdentity.from_json(honest) == ALICE.public
    lying = {**honest, field: BOB.public.to_json()[field]}
    with pytest.raises(KeyFileError) as caught:
        PublicIdentity.loads(json.dumps(lying))
    assert caught.value.code == "public_key_invalid"
    swapped = {**BOB.public.to_json(), field: honest[field]}
    with pytest.raises(KeyFileError) as caught:
        PublicIdentity.from_json(swapped)
    assert caught.value.code == "public_key_invalid"
