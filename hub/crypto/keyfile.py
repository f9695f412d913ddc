"""Keys at rest: one private key sealed under a passphrase in a small JSON file.

docs/protocol.md §3 ("Keys at rest") is the specification; this module follows its checks in order.

    wrap_key   = Argon2id(UTF-8(NFC(passphrase)), salt, opslimit, memlimit)          32 bytes
    ciphertext = XChaCha20-Poly1305-IETF(wrap_key, nonce, secret,
                                         "hub-keyfile/v1\\n" || canon(file - ciphertext - checksum))
    checksum   = hex BLAKE2b-256(canon(file - checksum), person "hub-keyfile/v1")

The associated data binds the format, the kind, the KDF parameters, the nonce and the public
keys to the secret, so none of them can be changed without the passphrase failing. The checksum
is no protection (anyone can recompute it); it only tells a damaged file (keyfile_corrupt) from a
wrong passphrase (keyfile_wrong_passphrase), which an AEAD failure alone cannot.

Writing is atomic and private: a 0600 temporary file beside the target, fsync, then a hard link
(no overwrite) or a rename (overwrite) onto the target, then an fsync of the directory.
"""

from __future__ import annotations

import json
import os
import secrets
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NoReturn, TypeAlias

from hub import files
from hub.crypto import primitives as p
from hub.crypto import strictjson
from hub.crypto.keys import PrivateIdentity, PublicIdentity, SigningKey, b64, fingerprint_of, unb64
from hub.errors import KeyFileError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "DEFAULT_MEMLIMIT",
    "DEFAULT_OPSLIMIT",
    "FORMAT",
    "INTERACTIVE_MEMLIMIT",
    "INTERACTIVE_OPSLIMIT",
    "KDF_NAME",
    "KIND_IDENTITY",
    "KIND_SIGNING_KEY",
    "MAX_KEYFILE_BYTES",
    "PrivateKey",
    "dumps_keyfile",
    "loads_keyfile",
    "public_of_keyfile",
    "read_keyfile",
    "write_keyfile",
]

PrivateKey: TypeAlias = PrivateIdentity | SigningKey

FORMAT: Final = "hub-keyfile/v1"
KIND_IDENTITY: Final = "identity"
KIND_SIGNING_KEY: Final = "signing-key"
KDF_NAME: Final = "argon2id"

# libsodium's crypto_pwhash_argon2id_*_MODERATE: about a second and 256 MiB, once per unlock.
DEFAULT_OPSLIMIT: Final = 3
DEFAULT_MEMLIMIT: Final = 256 * 1024 * 1024
# libsodium's *_INTERACTIVE: for tests and the demo, never for a real key.
INTERACTIVE_OPSLIMIT: Final = 2
INTERACTIVE_MEMLIMIT: Final = 64 * 1024 * 1024

# A real key file is under 1 KiB; anything far larger is not one, and is not parsed.
MAX_KEYFILE_BYTES: Final = 64 * 1024

_AD_PREFIX: Final = b"hub-keyfile/v1\n"
_CHECKSUM_PERSON: Final = b"hub-keyfile/v1"
_CHECKSUM_HEX_LEN: Final = 64
_MEMBERS: Final = frozenset({"format", "kind", "kdf", "nonce", "public", "ciphertext", "checksum"})
_ARGON2ID_MEMBERS: Final = frozenset({"name", "opslimit", "memlimit", "salt"})
_SECRET_BYTES: Final = {KIND_IDENTITY: 64, KIND_SIGNING_KEY: 32}


# --- the format: pure functions ---------------------------------------------------------------


def dumps_keyfile(
    key: PrivateKey,
    passphrase: str,
    *,
    opslimit: int = DEFAULT_OPSLIMIT,
    memlimit: int = DEFAULT_MEMLIMIT,
    rng: p.Rng = p.random_bytes,
) -> str:
    """Seal `key` under `passphrase`; return the key file's text (JSON, indented, ending in a
    newline; write it as UTF-8). `rng` supplies the salt, then the nonce."""
    password = _passphrase_bytes(passphrase)
    kind, public, secret = _describe(key)
    salt = rng(p.ARGON2ID_SALT_BYTES)
    nonce = rng(p.AEAD_NONCE_BYTES)
    header: dict[str, object] = {
        "format": FORMAT,
        "kind": kind,
        "kdf": {"name": KDF_NAME, "opslimit": opslimit, "memlimit": memlimit, "salt": b64(salt)},
        "nonce": b64(nonce),
        "public": public,
    }
    wrap_key = p.argon2id(password, salt, opslimit=opslimit, memlimit=memlimit)
    ciphertext = p.aead_encrypt(wrap_key, nonce, secret, _associated_data(header))
    body = {**header, "ciphertext": b64(ciphertext)}
    document = {**body, "checksum": _checksum(body)}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def loads_keyfile(text: str | bytes, passphrase: str) -> PrivateKey:
    """Open a key file's text with `passphrase`.

    Raises KeyFileError: keyfile_corrupt (damaged or malformed), keyfile_unsupported (a format,
    kind or KDF this version does not read), keyfile_wrong_passphrase (intact, but the
    passphrase does not open it). ValueError for an empty passphrase.
    """
    password = _passphrase_bytes(passphrase)
    sealed = _check(_parse(text))  # checks 1-11: no secret involved yet
    # 12. Unlock. The checksum held, so a failure here is the passphrase (or a deliberate edit).
    wrap_key = p.argon2id(password, sealed.salt, opslimit=sealed.opslimit, memlimit=sealed.memlimit)
    try:
        secret = p.aead_decrypt(wrap_key, sealed.nonce, sealed.ciphertext, sealed.associated_data)
    except p.AuthenticationFailed:
        raise KeyFileError("keyfile_wrong_passphrase") from None
    # 13. The key inside is the key the file names.
    key = _key_from_secret(sealed.kind, secret)
    if _describe(key)[1] != sealed.public:
        _corrupt("public keys do not match the private key")
    return key


def public_of_keyfile(text: str | bytes) -> dict[str, object]:
    """The `public` member of a key file that passes checks 1-11 (§3.5), without the
    passphrase: what a holder that cannot open it (the hub, a recovery copy) may know of it.
    KeyFileError keyfile_corrupt or keyfile_unsupported as loads_keyfile."""
    return _check(_parse(text)).public


@dataclass(frozen=True)
class _Sealed:
    """A key file that passed every check short of the passphrase."""

    kind: str
    opslimit: int
    memlimit: int
    salt: bytes
    nonce: bytes
    public: dict[str, object]
    ciphertext: bytes
    associated_data: bytes


def _check(document: dict[str, object]) -> _Sealed:
    """Checks 3-11 of the specification, in its order."""
    # 3. The version first: what the other members mean, the checksum included, depends on it.
    if not isinstance(document.get("format"), str):
        _corrupt("no format")
    if document["format"] != FORMAT:
        raise KeyFileError("keyfile_unsupported", "format")

    # 4. The checksum: past here every difference from a valid file was written on purpose.
    checksum = document.get("checksum")
    body = {name: value for name, value in document.items() if name != "checksum"}
    if not isinstance(checksum, str) or _checksum(body) != checksum:
        _corrupt("checksum")

    # 5. Members and their types (nonce and ciphertext: in 10).
    kind, kdf, public = document.get("kind"), document.get("kdf"), document.get("public")
    if not (
        set(document) == _MEMBERS
        and isinstance(kind, str)
        and isinstance(kdf, dict)
        and isinstance(kdf.get("name"), str)
        and isinstance(public, dict)
    ):
        _corrupt("members")

    # 6-9. What this version reads.
    if kind not in _SECRET_BYTES:
        raise KeyFileError("keyfile_unsupported", "kind")
    opslimit, memlimit = _argon2id_limits(kdf)

    # 10. Sizes and encodings, before the expensive KDF runs.
    try:
        salt = unb64(kdf["salt"], p.ARGON2ID_SALT_BYTES)
        nonce = unb64(document["nonce"], p.AEAD_NONCE_BYTES)
        ciphertext = unb64(document["ciphertext"], _SECRET_BYTES[kind] + p.AEAD_TAG_BYTES)
    except ValueError:
        _corrupt("encoding or length")

    # 11. The public part is in its one valid form (consistent key id and fingerprint).
    if public != _parse_public(kind, public):
        _corrupt("public")

    header = {name: value for name, value in body.items() if name != "ciphertext"}
    return _Sealed(
        kind, opslimit, memlimit, salt, nonce, public, ciphertext, _associated_data(header)
    )


def _argon2id_limits(kdf: dict[str, object]) -> tuple[int, int]:
    """Checks 7-9: the KDF is Argon2id, well formed, with limits this version will run."""
    if kdf["name"] != KDF_NAME:
        raise KeyFileError("keyfile_unsupported", "kdf")
    opslimit, memlimit = kdf.get("opslimit"), kdf.get("memlimit")
    # `type(...) is int`: a JSON true is no integer, though Python's bool is an int.
    if set(kdf) != _ARGON2ID_MEMBERS or type(opslimit) is not int or type(memlimit) is not int:
        _corrupt("kdf members")
    if not (
        p.ARGON2ID_OPSLIMIT_MIN <= opslimit <= p.ARGON2ID_OPSLIMIT_MAX
        and p.ARGON2ID_MEMLIMIT_MIN <= memlimit <= p.ARGON2ID_MEMLIMIT_MAX
    ):
        raise KeyFileError("keyfile_unsupported", "kdf limits")
    return opslimit, memlimit


# --- files ------------------------------------------------------------------------------------


def write_keyfile(  # noqa: PLR0913 - past the three arguments, all keyword-only options
    path: Path,
    key: PrivateKey,
    passphrase: str,
    *,
    opslimit: int = DEFAULT_OPSLIMIT,
    memlimit: int = DEFAULT_MEMLIMIT,
    rng: p.Rng = p.random_bytes,
    overwrite: bool = False,
) -> None:
    """Write `key` sealed under `passphrase` to `path`, atomically, mode 0600.

    Raises KeyFileError keyfile_exists if `path` exists and `overwrite` is false; OSError if
    the directory cannot be written. On any failure no temporary file is left behind.
    """
    _passphrase_bytes(passphrase)
    # An early look, so that a user is told before the slow KDF runs; the hard link in
    # _write_private is what makes "never overwrite" hold against a file appearing meanwhile.
    if not overwrite and _lexists(path):
        raise KeyFileError("keyfile_exists", str(path))
    text = dumps_keyfile(key, passphrase, opslimit=opslimit, memlimit=memlimit, rng=rng)
    _write_private(path, text.encode("utf-8"), overwrite=overwrite)


def read_keyfile(path: Path, passphrase: str) -> PrivateKey:
    """Read and open the key file at `path`; keyfile_missing if there is none."""
    _passphrase_bytes(passphrase)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEYFILE_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError("keyfile_missing", str(path)) from None
    return loads_keyfile(data, passphrase)


def _write_private(path: Path, data: bytes, *, overwrite: bool) -> None:
    directory = path.parent
    temp = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = files.open_private(temp)  # only this user's (hub/files.py), never a planted file
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            temp.replace(path)
        else:
            try:
                files.publish(temp, path)
            except FileExistsError:
                raise KeyFileError("keyfile_exists", str(path)) from None
        files.sync_folder(directory)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _lexists(path: Path) -> bool:
    return path.is_symlink() or path.exists()


# --- helpers ----------------------------------------------------------------------------------


def _passphrase_bytes(passphrase: str) -> bytes:
    """UTF-8 of the NFC form: "å" typed as one code point or as "a" + ring opens the same file."""
    if not isinstance(passphrase, str) or not passphrase:
        raise ValueError("the passphrase must be a non-empty string")
    try:
        return unicodedata.normalize("NFC", passphrase).encode("utf-8")
    except UnicodeEncodeError:
        # The codec's own message would quote the offending character of the passphrase.
        raise ValueError("the passphrase is not valid Unicode") from None


def _describe(key: PrivateKey) -> tuple[str, dict[str, str], bytes]:
    """(kind, the "public" member, the plaintext) of a key."""
    if isinstance(key, PrivateIdentity):
        return KIND_IDENTITY, key.public.to_json(), key.signing_seed + key.encryption_secret
    if isinstance(key, SigningKey):
        return KIND_SIGNING_KEY, _signing_key_public(key.public), key.seed
    raise TypeError("a key file holds a PrivateIdentity or a SigningKey")


def _signing_key_public(public: bytes) -> dict[str, str]:
    return {"signing_key": b64(public), "fingerprint": fingerprint_of(public)}


def _parse_public(kind: str, public: dict[str, object]) -> dict[str, str] | None:
    """The canonical "public" member for the keys `public` names, or None if it names none."""
    try:
        if kind == KIND_IDENTITY:
            return PublicIdentity.from_json(public).to_json()
        return _signing_key_public(unb64(public.get("signing_key"), 32))
    except (KeyFileError, ValueError):
        return None


def _key_from_secret(kind: str, secret: bytes) -> PrivateKey:
    if kind == KIND_IDENTITY:
        return PrivateIdentity(secret[:32], secret[32:])
    return SigningKey(secret)


def _associated_data(header: dict[str, object]) -> bytes:
    return _AD_PREFIX + strictjson.canonical(header)


def _checksum(body: dict[str, object]) -> str:
    return p.blake2b(strictjson.canonical(body), size=32, person=_CHECKSUM_PERSON).hex()


def _parse(text: str | bytes) -> dict[str, object]:
    """Checks 1-2: at most MAX_KEYFILE_BYTES; strict I-JSON (RFC 7493: UTF-8, no duplicate
    names, no fractions, NaN, lone surrogates or integers beyond 2^53 - 1); an object."""
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text  # a str: its UTF-8
    except UnicodeEncodeError:  # a lone surrogate in a str
        _corrupt("not JSON")
    if len(data) > MAX_KEYFILE_BYTES:
        _corrupt("too large")
    try:
        return strictjson.loads_object(data)
    except strictjson.StrictJSONError as exc:
        _corrupt("not an object" if exc.reason == strictjson.NOT_OBJECT else "not JSON")


def _corrupt(detail: str) -> NoReturn:
    raise KeyFileError("keyfile_corrupt", detail) from None
