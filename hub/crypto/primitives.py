"""The only module that touches cryptographic primitives (libsodium through pynacl, and hashlib's
SHA-256 for the bulk envelope digest). Everything else uses the recipes built on these.

Rules of this file:
- every size is checked before a primitive sees the bytes;
- every fixed nonce is explained where it is used;
- failures of authentication surface as `AuthenticationFailed`, which callers turn into their
  own error codes; nothing here knows about envelopes or people.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

import nacl.bindings as _b
import nacl.exceptions
import nacl.pwhash
import nacl.utils
from nacl._sodium import ffi as _ffi  # type: ignore[import-not-found]  # compiled cffi module
from nacl._sodium import lib as _lib

if TYPE_CHECKING:
    from collections.abc import Callable

    Rng = Callable[[int], bytes]

KEY_BYTES: Final = 32
ED25519_SEED_BYTES: Final = 32
ED25519_SIGNATURE_BYTES: Final = 64
X25519_BYTES: Final = 32
AEAD_NONCE_BYTES: Final = 24  # XChaCha20-Poly1305-IETF
AEAD_TAG_BYTES: Final = 16
STREAM_HEADER_BYTES: Final = _b.crypto_secretstream_xchacha20poly1305_HEADERBYTES  # 24
STREAM_OVERHEAD: Final = _b.crypto_secretstream_xchacha20poly1305_ABYTES  # 17: tag byte + MAC
STREAM_TAG_MESSAGE: Final = _b.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
STREAM_TAG_FINAL: Final = _b.crypto_secretstream_xchacha20poly1305_TAG_FINAL
ARGON2ID_SALT_BYTES: Final = nacl.pwhash.argon2id.SALTBYTES  # 16


class AuthenticationFailed(Exception):  # noqa: N818 - a condition, not a bug in our code
    """A MAC, a signature or a key agreement did not hold."""


def random_bytes(n: int) -> bytes:
    return nacl.utils.random(n)


def deterministic_bytes(n: int, seed: bytes) -> bytes:
    """libsodium's ChaCha20-based expansion of a 32-byte seed: for test vectors only."""
    return _b.randombytes_buf_deterministic(n, seed)


# --- hashing -----------------------------------------------------------------------------


def blake2b(data: bytes, *, size: int = 32, key: bytes = b"", person: bytes = b"") -> bytes:
    """BLAKE2b (libsodium's generichash) with a personalisation string for domain separation."""
    if len(person) > 16:
        raise ValueError("BLAKE2b personalisation is at most 16 bytes")
    return _b.crypto_generichash_blake2b_salt_personal(
        data, digest_size=size, key=key, person=person.ljust(16, b"\0")
    )


def sha256() -> hashlib._Hash:
    """Incremental SHA-256 for the envelope digest.

    pynacl exposes libsodium's SHA-256 only one-shot; hashlib's (OpenSSL, SHA-NI where present)
    computes the same function incrementally and releases the GIL on large buffers, which lets
    the digest run on the second core while the first encrypts. `tests/test_primitives.py`
    checks both give the same output.
    """
    return hashlib.sha256()


def sha256_oneshot_libsodium(data: bytes) -> bytes:
    return _b.crypto_hash_sha256(data)


# --- Ed25519 -----------------------------------------------------------------------------


def ed25519_public_from_seed(seed: bytes) -> bytes:
    _check_len(seed, ED25519_SEED_BYTES, "Ed25519 seed")
    public, _secret = _b.crypto_sign_seed_keypair(seed)
    return public


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    _check_len(seed, ED25519_SEED_BYTES, "Ed25519 seed")
    _public, secret = _b.crypto_sign_seed_keypair(seed)
    signed = _b.crypto_sign(message, secret)
    return signed[:ED25519_SIGNATURE_BYTES]


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> None:
    """Raise AuthenticationFailed unless `signature` is valid (libsodium rejects non-canonical
    encodings and small-order keys, so a signature cannot be mauled into a second valid one)."""
    if len(public) != 32 or len(signature) != ED25519_SIGNATURE_BYTES:
        raise AuthenticationFailed
    try:
        _b.crypto_sign_open(signature + message, public)
    except nacl.exceptions.BadSignatureError as exc:
        raise AuthenticationFailed from exc


# --- X25519 ------------------------------------------------------------------------------


def x25519_public_from_secret(secret: bytes) -> bytes:
    _check_len(secret, X25519_BYTES, "X25519 secret")
    return _b.crypto_scalarmult_base(secret)


def x25519_shared(secret: bytes, public: bytes) -> bytes:
    """X25519; an all-zero result (a low-order public key) is refused, as in RFC 7748 §6.1."""
    _check_len(secret, X25519_BYTES, "X25519 secret")
    if len(public) != X25519_BYTES:
        raise AuthenticationFailed
    try:
        shared: bytes = _b.crypto_scalarmult(secret, public)
    except nacl.exceptions.RuntimeError as exc:  # libsodium refuses low-order points itself
        raise AuthenticationFailed from exc
    if shared == bytes(X25519_BYTES):
        raise AuthenticationFailed
    return shared


# --- AEAD: XChaCha20-Poly1305-IETF -------------------------------------------------------


def aead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    _check_len(key, KEY_BYTES, "AEAD key")
    _check_len(nonce, AEAD_NONCE_BYTES, "AEAD nonce")
    return _b.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)


def aead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, ad: bytes) -> bytes:
    _check_len(key, KEY_BYTES, "AEAD key")
    _check_len(nonce, AEAD_NONCE_BYTES, "AEAD nonce")
    if len(ciphertext) < AEAD_TAG_BYTES:
        raise AuthenticationFailed
    try:
        return _b.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, ad, nonce, key)
    except nacl.exceptions.CryptoError as exc:
        raise AuthenticationFailed from exc


# --- Argon2id ----------------------------------------------------------------------------

ARGON2ID_OPSLIMIT_MIN: Final = nacl.pwhash.argon2id.OPSLIMIT_MIN
ARGON2ID_MEMLIMIT_MIN: Final = nacl.pwhash.argon2id.MEMLIMIT_MIN
ARGON2ID_OPSLIMIT_MAX: Final = 16  # a file asking for more is refused rather than run for hours
ARGON2ID_MEMLIMIT_MAX: Final = 4 << 30


def argon2id(passphrase: bytes, salt: bytes, *, opslimit: int, memlimit: int) -> bytes:
    _check_len(salt, ARGON2ID_SALT_BYTES, "Argon2id salt")
    if not (ARGON2ID_OPSLIMIT_MIN <= opslimit <= ARGON2ID_OPSLIMIT_MAX):
        raise ValueError("Argon2id opslimit out of range")
    if not (ARGON2ID_MEMLIMIT_MIN <= memlimit <= ARGON2ID_MEMLIMIT_MAX):
        raise ValueError("Argon2id memlimit out of range")
    return nacl.pwhash.argon2id.kdf(
        KEY_BYTES, passphrase, salt, opslimit=opslimit, memlimit=memlimit
    )


# --- secretstream: XChaCha20-Poly1305 in chunks -------------------------------------------
#
# pynacl's wrappers take and return `bytes`, copying every chunk twice. The envelope moves
# hundreds of megabytes, so these two classes call the same libsodium functions through
# pynacl's own cffi handle with caller-owned buffers (no copies), and the C call releases the
# GIL, so a second thread can hash while this one encrypts.


class StreamEncryptor:
    """Push side. The 24-byte stream header is chosen by the caller (from its RNG) instead of
    by libsodium, so test vectors are deterministic: libsodium's init_push only draws the
    header at random and then derives exactly the state init_pull derives from it."""

    def __init__(self, key: bytes, header: bytes) -> None:
        _check_len(key, KEY_BYTES, "stream key")
        _check_len(header, STREAM_HEADER_BYTES, "stream header")
        self._state = _b.crypto_secretstream_xchacha20poly1305_state()
        _b.crypto_secretstream_xchacha20poly1305_init_pull(self._state, header, key)

    def push_into(
        self, out: bytearray | memoryview, plaintext: bytes | memoryview, tag: int
    ) -> int:
        """Encrypt `plaintext` into the front of `out`; return the ciphertext length."""
        n = len(plaintext) + STREAM_OVERHEAD
        if len(out) < n:
            raise ValueError("output buffer too small")
        rc = _lib.crypto_secretstream_xchacha20poly1305_push(
            self._state.statebuf,
            _ffi.from_buffer(out),
            _ffi.NULL,
            _ffi.from_buffer(plaintext),
            len(plaintext),
            _ffi.NULL,
            0,
            tag,
        )
        if rc != 0:
            raise RuntimeError("secretstream push failed")
        return n


class StreamDecryptor:
    def __init__(self, key: bytes, header: bytes) -> None:
        _check_len(key, KEY_BYTES, "stream key")
        _check_len(header, STREAM_HEADER_BYTES, "stream header")
        self._state = _b.crypto_secretstream_xchacha20poly1305_state()
        _b.crypto_secretstream_xchacha20poly1305_init_pull(self._state, header, key)
        self._tag = _ffi.new("unsigned char *")

    def pull_into(
        self, out: bytearray | memoryview, ciphertext: bytes | memoryview
    ) -> tuple[int, int]:
        """Decrypt and authenticate one chunk into `out`; return (plaintext length, tag)."""
        if len(ciphertext) < STREAM_OVERHEAD:
            raise AuthenticationFailed
        n = len(ciphertext) - STREAM_OVERHEAD
        if len(out) < n:
            raise ValueError("output buffer too small")
        rc = _lib.crypto_secretstream_xchacha20poly1305_pull(
            self._state.statebuf,
            _ffi.from_buffer(out),
            _ffi.NULL,
            self._tag,
            _ffi.from_buffer(ciphertext),
            len(ciphertext),
            _ffi.NULL,
            0,
        )
        if rc != 0:
            raise AuthenticationFailed
        return n, int(self._tag[0])


def _check_len(value: bytes, size: int, what: str) -> None:
    if len(value) != size:
        raise ValueError(f"{what} must be {size} bytes")
