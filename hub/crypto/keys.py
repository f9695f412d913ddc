"""A contact person's identity: an Ed25519 signing key and an X25519 encryption key.

The two public keys together are the identity; its key id and its fingerprint are derived from
both, so neither key can be swapped without changing what is read aloud over the phone.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Final

from hub.crypto import primitives as p
from hub.errors import KeyFileError

KEY_ID_BYTES: Final = 16
PUBLIC_FORMAT: Final = "hub-public-identity/v1"
_KEY_ID_PERSON: Final = b"hub-keyid/v1"
_FINGERPRINT_PERSON: Final = b"hub-fpr/v1"
FINGERPRINT_GROUPS: Final = 8  # 8 groups of 5 digits: about 133 bits, read in under a minute


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, size: int | None = None) -> bytes:
    """Strict standard base64 (padding required, no whitespace); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64") from exc
    if b64(data) != text:
        raise ValueError("not canonical base64")
    if size is not None and len(data) != size:
        raise ValueError(f"expected {size} bytes")
    return data


def key_id_of(signing_key: bytes, encryption_key: bytes) -> bytes:
    return p.blake2b(signing_key + encryption_key, size=KEY_ID_BYTES, person=_KEY_ID_PERSON)


def fingerprint_of(public_material: bytes) -> str:
    """Digits to read aloud: 8 groups of 5, each from 5 bytes of a BLAKE2b digest mod 10^5.

    Signal's safety numbers use the same shape; digits survive any phone line and language.
    """
    digest = p.blake2b(public_material, size=40, person=_FINGERPRINT_PERSON)
    groups = (
        int.from_bytes(digest[i * 5 : i * 5 + 5], "big") % 100_000
        for i in range(FINGERPRINT_GROUPS)
    )
    return " ".join(f"{g:05d}" for g in groups)


@dataclass(frozen=True)
class PublicIdentity:
    signing_key: bytes  # Ed25519, 32 bytes
    encryption_key: bytes  # X25519, 32 bytes
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if len(self.signing_key) != 32 or len(self.encryption_key) != 32:
            raise ValueError("public keys are 32 bytes each")
        object.__setattr__(self, "key_id", key_id_of(self.signing_key, self.encryption_key))

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.signing_key + self.encryption_key)

    def to_json(self) -> dict[str, str]:
        return {
            "format": PUBLIC_FORMAT,
            "signing_key": b64(self.signing_key),
            "encryption_key": b64(self.encryption_key),
            "key_id": self.key_id.hex(),
            "fingerprint": self.fingerprint,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> PublicIdentity:  # noqa: ANN401 - parsed JSON, checked here
        """Parse a public identity; the stated key id and fingerprint must match the keys."""
        try:
            if not isinstance(data, dict) or data.get("format") != PUBLIC_FORMAT:
                raise ValueError("format")
            ident = cls(unb64(data["signing_key"], 32), unb64(data["encryption_key"], 32))
            if data.get("key_id", ident.key_id.hex()) != ident.key_id.hex():
                raise ValueError("key id")
            if data.get("fingerprint", ident.fingerprint) != ident.fingerprint:
                raise ValueError("fingerprint")
        except (KeyError, ValueError) as exc:
            raise KeyFileError("public_key_invalid", str(exc)) from exc
        return ident

    @classmethod
    def loads(cls, text: str | bytes) -> PublicIdentity:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise KeyFileError("public_key_invalid", "not JSON") from exc
        return cls.from_json(data)


@dataclass(frozen=True, repr=False)
class PrivateIdentity:
    signing_seed: bytes  # Ed25519 seed, 32 bytes
    encryption_secret: bytes  # X25519 scalar, 32 bytes
    public: PublicIdentity = field(init=False)

    def __post_init__(self) -> None:
        public = PublicIdentity(
            p.ed25519_public_from_seed(self.signing_seed),
            p.x25519_public_from_secret(self.encryption_secret),
        )
        object.__setattr__(self, "public", public)

    def __repr__(self) -> str:  # never print a secret, not even in a traceback
        return f"PrivateIdentity(key_id={self.public.key_id.hex()})"

    @classmethod
    def generate(cls, rng: p.Rng = p.random_bytes) -> PrivateIdentity:
        return cls(rng(32), rng(32))

    @property
    def key_id(self) -> bytes:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        return p.ed25519_sign(self.signing_seed, message)

    def local_key(self, purpose: bytes) -> bytes:
        """A 32-byte key for this machine's own storage (e.g. b"hub-cache/v1"): derived from the
        private encryption key, so it is only as available as the unlocked key file."""
        return p.blake2b(b"", size=32, key=self.encryption_secret, person=purpose)


@dataclass(frozen=True, repr=False)
class SigningKey:
    """A lone Ed25519 key: the county administrator's network signing key."""

    seed: bytes

    def __repr__(self) -> str:
        return f"SigningKey(public={self.public.hex()})"

    @classmethod
    def generate(cls, rng: p.Rng = p.random_bytes) -> SigningKey:
        return cls(rng(32))

    @property
    def public(self) -> bytes:
        return p.ed25519_public_from_seed(self.seed)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public)

    def sign(self, message: bytes) -> bytes:
        return p.ed25519_sign(self.seed, message)


PUBLIC_SIGNING_FORMAT: Final = "hub-public-signing-key/v1"


def dumps_public_signing_key(public: bytes) -> str:
    """The county administrator's network key as a file to hand to the hub's operator."""
    body = {
        "format": PUBLIC_SIGNING_FORMAT,
        "signing_key": b64(public),
        "fingerprint": fingerprint_of(public),
    }
    return json.dumps(body, indent=2) + "\n"


def loads_public_signing_key(text: str | bytes) -> bytes:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != PUBLIC_SIGNING_FORMAT:
            raise ValueError("format")
        public = unb64(data["signing_key"], 32)
        if data.get("fingerprint", fingerprint_of(public)) != fingerprint_of(public):
            raise ValueError("fingerprint")
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise KeyFileError("public_key_invalid", str(exc)) from exc
    return public
