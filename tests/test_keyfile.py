"""Keys at rest: key files sealed under a passphrase (hub/crypto/keyfile.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from hub.crypto import keyfile as kf
from hub.crypto.keyfile import (
    DEFAULT_MEMLIMIT,
    DEFAULT_OPSLIMIT,
    INTERACTIVE_MEMLIMIT,
    INTERACTIVE_OPSLIMIT,
    dumps_keyfile,
    loads_keyfile,
    read_keyfile,
    write_keyfile,
)
from hub.crypto.keys import PrivateIdentity, SigningKey, b64, unb64
from hub.errors import KeyFileError
from tests.vectors import gen_keyfile
from tests.vectors._rng import SeededRng

VECTORS_PATH = Path(__file__).parent / "vectors" / "keyfile.json"
VECTORS: list[dict[str, str]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["vectors"]

PASSPHRASE = "en lång lösenfras för testerna"  # a test passphrase, not a secret
FAST: dict[str, Any] = {"opslimit": 1, "memlimit": 8192}  # Argon2id's minimum: a fast suite


@pytest.fixture(scope="module")
def identity() -> PrivateIdentity:
    return PrivateIdentity.generate(SeededRng("test_keyfile identity"))


@pytest.fixture(scope="module")
def network_key() -> SigningKey:
    return SigningKey.generate(SeededRng("test_keyfile signing key"))


@pytest.fixture(scope="module")
def sealed(identity: PrivateIdentity) -> dict[str, Any]:
    """A valid identity key file, parsed, for tests that edit it."""
    return json.loads(dumps_keyfile(identity, PASSPHRASE, **FAST))


def _recompute_checksum(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k != "checksum"}
    doc["checksum"] = gen_keyfile._checksum(doc)
    return doc


def _key_id(key: PrivateIdentity | SigningKey) -> bytes:
    """The identity's key id, or a signing key's public key: what the vectors name."""
    return key.key_id if isinstance(key, PrivateIdentity) else key.public


def _code(text: str | bytes, passphrase: str = PASSPHRASE) -> str:
    with pytest.raises(KeyFileError) as info:
        loads_keyfile(text, passphrase)
    return info.value.code


# --- round trips -------------------------------------------------------------------------------


def test_identity_round_trips_through_a_file(tmp_path: Path, identity: PrivateIdentity):
    """An identity written to a key file reads back as the same signing and encryption keys."""
    path = tmp_path / "identity.key"
    write_keyfile(path, identity, PASSPHRASE, **FAST)
    back = read_keyfile(path, PASSPHRASE)
    assert isinstance(back, PrivateIdentity)
    assert back.signing_seed == identity.signing_seed
    assert back.encryption_secret == identity.encryption_secret
    assert back.key_id == identity.key_id


def test_signing_key_round_trips_through_a_file(tmp_path: Path, network_key: SigningKey):
    """The administrator's network signing key written to a key file reads back unchanged."""
    path = tmp_path / "network.key"
    write_keyfile(path, network_key, PASSPHRASE, **FAST)
    back = read_keyfile(path, PASSPHRASE)
    assert isinstance(back, SigningKey)
    assert back.seed == network_key.seed


def test_key_file_shows_the_public_keys_and_no_secret(identity: PrivateIdentity):
    """A key file names its public keys in the clear and holds the private keys only encrypted."""
    text = dumps_keyfile(identity, PASSPHRASE, **FAST)
    doc = json.loads(text)
    assert doc["format"] == "hub-keyfile/v1"
    assert doc["kind"] == "identity"
    assert doc["public"] == identity.public.to_json()
    for secret in (identity.signing_seed, identity.encryption_secret):
        assert secret.hex() not in text
        assert b64(secret) not in text
    assert PASSPHRASE not in text


def test_default_cost_is_libsodium_moderate_and_interactive_is_offered():
    """Real key files cost an attacker libsodium's MODERATE Argon2id; tests may use INTERACTIVE."""
    assert (DEFAULT_OPSLIMIT, DEFAULT_MEMLIMIT) == (3, 256 * 1024 * 1024)
    assert (INTERACTIVE_OPSLIMIT, INTERACTIVE_MEMLIMIT) == (2, 64 * 1024 * 1024)


def test_interactive_cost_round_trips(identity: PrivateIdentity):
    """A key file sealed at the INTERACTIVE cost records that cost and opens again."""
    text = dumps_keyfile(
        identity, PASSPHRASE, opslimit=INTERACTIVE_OPSLIMIT, memlimit=INTERACTIVE_MEMLIMIT
    )
    kdf = json.loads(text)["kdf"]
    assert (kdf["opslimit"], kdf["memlimit"]) == (INTERACTIVE_OPSLIMIT, INTERACTIVE_MEMLIMIT)
    assert _key_id(loads_keyfile(text, PASSPHRASE)) == identity.key_id


def test_two_writes_of_one_key_differ(identity: PrivateIdentity):
    """Each write draws a fresh salt and nonce, so two files of one key share nothing secret."""
    first = json.loads(dumps_keyfile(identity, PASSPHRASE, **FAST))
    second = json.loads(dumps_keyfile(identity, PASSPHRASE, **FAST))
    assert first["kdf"]["salt"] != second["kdf"]["salt"]
    assert first["nonce"] != second["nonce"]
    assert first["ciphertext"] != second["ciphertext"]


def test_passphrase_typed_in_either_unicode_form_opens_the_file(identity: PrivateIdentity):
    """A passphrase with "å" opens the file whether the keyboard sent one code point or two."""
    composed, decomposed = "blåbär och lingon", "bla\u030aba\u0308r och lingon"
    text = dumps_keyfile(identity, composed, **FAST)
    assert _key_id(loads_keyfile(text, decomposed)) == identity.key_id


# --- the file on disk --------------------------------------------------------------------------


def test_key_file_is_readable_by_its_owner_only(tmp_path: Path, identity: PrivateIdentity):
    """A new key file has mode 0600, even under a permissive umask."""
    old = os.umask(0o000)
    try:
        write_keyfile(tmp_path / "identity.key", identity, PASSPHRASE, **FAST)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "identity.key").stat().st_mode) == 0o600


def test_existing_key_file_is_not_overwritten(tmp_path: Path, identity: PrivateIdentity):
    """Writing where a key file exists fails with keyfile_exists and leaves that file as it was."""
    path = tmp_path / "identity.key"
    path.write_text("the old key\n")
    with pytest.raises(KeyFileError) as info:
        write_keyfile(path, identity, PASSPHRASE, **FAST)
    assert info.value.code == "keyfile_exists"
    assert path.read_text() == "the old key\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["identity.key"]


def test_file_appearing_during_the_write_is_not_overwritten(
    tmp_path: Path, identity: PrivateIdentity, monkeypatch: pytest.MonkeyPatch
):
    """A key file that appears while ours is being sealed survives; no temporary file is left."""
    path = tmp_path / "identity.key"
    real_dumps = kf.dumps_keyfile

    def dumps_then_race(*args: Any, **kwargs: Any) -> str:
        text = real_dumps(*args, **kwargs)
        path.write_text("written meanwhile\n")
        return text

    monkeypatch.setattr(kf, "dumps_keyfile", dumps_then_race)
    with pytest.raises(KeyFileError) as info:
        write_keyfile(path, identity, PASSPHRASE, **FAST)
    assert info.value.code == "keyfile_exists"
    assert path.read_text() == "written meanwhile\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["identity.key"]


def test_overwrite_replaces_the_key_file(
    tmp_path: Path, identity: PrivateIdentity, network_key: SigningKey
):
    """With overwrite=True a new key replaces the old file, still with mode 0600."""
    path = tmp_path / "identity.key"
    write_keyfile(path, identity, PASSPHRASE, **FAST)
    path.chmod(0o644)
    write_keyfile(path, network_key, PASSPHRASE, overwrite=True, **FAST)
    assert isinstance(read_keyfile(path, PASSPHRASE), SigningKey)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["identity.key"]


def test_file_system_without_hard_links_still_gets_the_key_file(
    tmp_path: Path, identity: PrivateIdentity, monkeypatch: pytest.MonkeyPatch
):
    """Without hard links (FAT, some shares) a key file is still written, never over another."""

    def no_links(_self: Path, _target: Path) -> None:
        raise PermissionError("hard links not supported here")

    monkeypatch.setattr(Path, "hardlink_to", no_links)
    path = tmp_path / "identity.key"
    write_keyfile(path, identity, PASSPHRASE, **FAST)
    assert _key_id(read_keyfile(path, PASSPHRASE)) == identity.key_id

    late = tmp_path / "late.key"
    real_dumps = kf.dumps_keyfile

    def dumps_then_race(*args: Any, **kwargs: Any) -> str:
        text = real_dumps(*args, **kwargs)
        late.write_text("written meanwhile\n")
        return text

    monkeypatch.setattr(kf, "dumps_keyfile", dumps_then_race)
    with pytest.raises(KeyFileError) as info:
        write_keyfile(late, identity, PASSPHRASE, **FAST)
    assert info.value.code == "keyfile_exists"
    assert late.read_text() == "written meanwhile\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["identity.key", "late.key"]


def test_missing_directory_fails_and_leaves_nothing(tmp_path: Path, identity: PrivateIdentity):
    """Writing into a directory that does not exist fails and creates nothing."""
    with pytest.raises(FileNotFoundError):
        write_keyfile(tmp_path / "absent" / "identity.key", identity, PASSPHRASE, **FAST)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_failed_write_leaves_no_temporary_file(
    tmp_path: Path, identity: PrivateIdentity, monkeypatch: pytest.MonkeyPatch, overwrite: bool
):
    """A write that fails half way (here: the disk refuses to sync) leaves no file behind."""

    def refuse(_fd: int) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(OSError, match="disk on fire"):
        write_keyfile(tmp_path / "identity.key", identity, PASSPHRASE, overwrite=overwrite, **FAST)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_missing_key_file_reads_as_keyfile_missing(tmp_path: Path):
    """Reading a key file that is not there fails with keyfile_missing."""
    with pytest.raises(KeyFileError) as info:
        read_keyfile(tmp_path / "identity.key", PASSPHRASE)
    assert info.value.code == "keyfile_missing"


def test_huge_file_is_not_a_key_file(tmp_path: Path):
    """A file far larger than any key file is refused as corrupt without being parsed."""
    path = tmp_path / "identity.key"
    path.write_bytes(b" " * (kf.MAX_KEYFILE_BYTES + 1))
    with pytest.raises(KeyFileError) as info:
        read_keyfile(path, PASSPHRASE)
    assert info.value.code == "keyfile_corrupt"


# --- passphrases -------------------------------------------------------------------------------


def test_wrong_passphrase_is_reported_as_such(tmp_path: Path, identity: PrivateIdentity):
    """An intact file opened with the wrong passphrase fails with keyfile_wrong_passphrase."""
    path = tmp_path / "identity.key"
    write_keyfile(path, identity, PASSPHRASE, **FAST)
    with pytest.raises(KeyFileError) as info:
        read_keyfile(path, PASSPHRASE + "!")
    assert info.value.code == "keyfile_wrong_passphrase"


@pytest.mark.parametrize("passphrase", ["", None, "\ud800"])
def test_empty_or_invalid_passphrase_is_refused(
    tmp_path: Path, identity: PrivateIdentity, passphrase: Any
):
    """An empty (or not even textual) passphrase is refused before anything is written or read."""
    path = tmp_path / "identity.key"
    with pytest.raises(ValueError, match="passphrase") as info:
        write_keyfile(path, identity, passphrase, **FAST)
    assert "\ud800" not in str(info.value)
    assert not path.exists()
    with pytest.raises(ValueError, match="passphrase"):
        loads_keyfile(dumps_keyfile(identity, PASSPHRASE, **FAST), passphrase)


def test_errors_and_reprs_never_show_a_passphrase_or_a_secret(identity: PrivateIdentity):
    """No error message, detail or key repr contains the passphrase or a private key."""
    text = dumps_keyfile(identity, PASSPHRASE, **FAST)
    key = loads_keyfile(text, PASSPHRASE)
    secrets = [PASSPHRASE, identity.signing_seed.hex(), identity.encryption_secret.hex()]
    shown = [repr(key), str(key)]
    for wrong in (PASSPHRASE + "x", PASSPHRASE[:-1]):
        with pytest.raises(KeyFileError) as info:
            loads_keyfile(text, wrong)
        shown += [str(info.value), repr(info.value), info.value.message]
        assert info.value.__cause__ is None
        assert info.value.__suppress_context__
    for piece in shown:
        for secret in secrets:
            assert secret not in piece


# --- damaged and unsupported files -------------------------------------------------------------


def _flip(b64text: str, index: int = 0) -> str:
    raw = bytearray(unb64(b64text))
    raw[index] ^= 0x80
    return b64(bytes(raw))


CORRUPTIONS = {
    "ciphertext byte flipped": lambda d: {**d, "ciphertext": _flip(d["ciphertext"])},
    "nonce byte flipped": lambda d: {**d, "nonce": _flip(d["nonce"])},
    "salt byte flipped": lambda d: {**d, "kdf": {**d["kdf"], "salt": _flip(d["kdf"]["salt"])}},
    "memlimit changed": lambda d: {**d, "kdf": {**d["kdf"], "memlimit": 16384}},
    "kind changed": lambda d: {**d, "kind": "signing-key"},
    "checksum changed": lambda d: {**d, "checksum": "0" * 64},
    "checksum not a string": lambda d: {**d, "checksum": 0},
    "public key id changed": lambda d: {**d, "public": {**d["public"], "key_id": "00" * 16}},
    "member missing": lambda d: {k: v for k, v in d.items() if k != "kdf"},
}


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_damaged_file_is_reported_as_corrupt(sealed: dict[str, Any], name: str):
    """Any change to a key file that leaves its checksum stale fails with keyfile_corrupt."""
    assert _code(json.dumps(CORRUPTIONS[name](sealed))) == "keyfile_corrupt"


STRUCTURAL = {
    "nonce too short": lambda d: {**d, "nonce": b64(unb64(d["nonce"])[:23])},
    "nonce not a string": lambda d: {**d, "nonce": 24},
    "ciphertext not base64": lambda d: {**d, "ciphertext": d["ciphertext"].replace("=", "")},
    "ciphertext a byte too long": lambda d: {**d, "ciphertext": b64(b"\0" * 81)},
    "kdf not an object": lambda d: {**d, "kdf": "argon2id"},
    "kdf salt missing": lambda d: {**d, "kdf": {k: v for k, v in d["kdf"].items() if k != "salt"}},
    "kdf salt null": lambda d: {**d, "kdf": {**d["kdf"], "salt": None}},
    "opslimit a boolean": lambda d: {**d, "kdf": {**d["kdf"], "opslimit": True}},
    "public not an object": lambda d: {**d, "public": "x"},
    "public has an extra member": lambda d: {**d, "public": {**d["public"], "name": "Anna"}},
    "public fingerprint wrong": lambda d: {**d, "public": {**d["public"], "fingerprint": "1"}},
    "extra member": lambda d: {**d, "created": "2025-01-01"},
}


@pytest.mark.parametrize("name", STRUCTURAL)
def test_malformed_file_with_valid_checksum_is_corrupt(sealed: dict[str, Any], name: str):
    """A malformed member is keyfile_corrupt even when the checksum was recomputed to match."""
    assert _code(json.dumps(_recompute_checksum(STRUCTURAL[name](sealed)))) == "keyfile_corrupt"


@pytest.mark.parametrize(
    "text",
    [b"", b"\xff\xfe{}", b"{", b"null", b"[1]", b'"key"', b"{}", b'{"format": NaN}', b"[" * 5000],
)
def test_non_key_file_bytes_are_corrupt(text: bytes):
    """Bytes that are no key file (empty, not UTF-8, not JSON, deeply nested) are corrupt."""
    assert _code(text) == "keyfile_corrupt"


def test_every_single_byte_change_is_refused_or_harmless(identity: PrivateIdentity):
    """Changing any one byte of a key file never yields a different key or an unexpected error."""
    data = dumps_keyfile(identity, PASSPHRASE, **FAST).encode()
    for i in range(len(data)):
        changed = bytearray(data)
        changed[i] ^= 0x01
        try:
            key = loads_keyfile(bytes(changed), PASSPHRASE)
        except KeyFileError:
            continue
        assert _key_id(key) == identity.key_id  # the byte was whitespace


def test_every_truncation_is_corrupt(identity: PrivateIdentity):
    """A key file cut short anywhere before its closing brace is keyfile_corrupt."""
    data = dumps_keyfile(identity, PASSPHRASE, **FAST).encode()
    end = data.rindex(b"}")
    for n in range(end + 1):
        assert _code(data[:n]) == "keyfile_corrupt"


@pytest.mark.parametrize(
    ("member", "value"),
    [("format", "hub-keyfile/v2"), ("format", "age-encryption.org/v1")],
)
def test_newer_format_version_is_unsupported(sealed: dict[str, Any], member: str, value: str):
    """A key file of another format version fails with keyfile_unsupported, not as corrupt."""
    assert _code(json.dumps({**sealed, member: value})) == "keyfile_unsupported"


UNSUPPORTED = {
    "unknown kind": lambda d: {**d, "kind": "x25519-only"},
    "kdf scrypt": lambda d: {**d, "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1}},
    "opslimit 17": lambda d: {**d, "kdf": {**d["kdf"], "opslimit": 17}},
    "opslimit 0": lambda d: {**d, "kdf": {**d["kdf"], "opslimit": 0}},
    "memlimit 5 GiB": lambda d: {**d, "kdf": {**d["kdf"], "memlimit": 5 << 30}},
}


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_unsupported_kind_or_kdf_is_reported_as_such(sealed: dict[str, Any], name: str):
    """An intact file asking for a kind or KDF cost this version does not run is unsupported."""
    assert (
        _code(json.dumps(_recompute_checksum(UNSUPPORTED[name](sealed)))) == "keyfile_unsupported"
    )


def test_edited_parameters_with_recomputed_checksum_fail_the_passphrase(sealed: dict[str, Any]):
    """Parameters or public keys edited on purpose (checksum fixed) make the passphrase fail."""
    other = PrivateIdentity.generate(SeededRng("test_keyfile other"))
    for edited in (
        {**sealed, "kdf": {**sealed["kdf"], "opslimit": 2}},
        {**sealed, "nonce": _flip(sealed["nonce"])},
        {**sealed, "public": other.public.to_json()},
    ):
        assert _code(json.dumps(_recompute_checksum(edited))) == "keyfile_wrong_passphrase"


# --- the vectors -------------------------------------------------------------------------------


def test_there_are_vectors_for_every_outcome():
    """The committed vectors cover success and every key file error code a reader can give."""
    expects = {v["expect"] for v in VECTORS}
    assert expects == {"ok", "keyfile_corrupt", "keyfile_unsupported", "keyfile_wrong_passphrase"}
    assert len(VECTORS) >= 12


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict[str, str]):
    """Each committed key file vector opens, or fails with exactly the error code it names."""
    data = vector["file"].encode("utf-8")
    if vector["expect"] == "ok":
        assert _key_id(loads_keyfile(data, vector["passphrase"])).hex() == vector["key_id"]
    else:
        assert _code(data, vector["passphrase"]) == vector["expect"]


def test_vectors_regenerate_byte_for_byte():
    """Running tests/vectors/gen_keyfile.py again reproduces the committed keyfile.json exactly."""
    assert gen_keyfile.dumps() == VECTORS_PATH.read_text(encoding="utf-8")
