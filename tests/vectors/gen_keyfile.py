"""Writes tests/vectors/keyfile.json: key files, valid and broken, each with what a reader must do.

    python -m tests.vectors.gen_keyfile

Deterministic: every salt, nonce and key comes from SeededRng("hub-keyfile/v1 vectors"), so
running this again gives the same bytes (tests/test_keyfile.py checks that). The valid files are
sealed twice, by hub.crypto.keyfile and by `_seal` below, which follows the formulas of
docs/protocol.md ("Key files") directly; the two must agree byte for byte. The broken files are
edits of the valid ones; "checksum recomputed" means the edit was made on purpose and the
checksum fixed afterwards, so that the reader gets past the checksum to the check under test.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.crypto import primitives as p
from hub.crypto.keyfile import dumps_keyfile
from hub.crypto.keys import PrivateIdentity, SigningKey, b64, unb64
from tests.vectors._rng import SeededRng
from tests.vectors._write import render, write_vectors

if TYPE_CHECKING:
    from collections.abc import Callable

OUT = Path(__file__).with_name("keyfile.json")
# Argon2id's smallest limits, so the suite stays fast; real files use 3 and 256 MiB.
OPSLIMIT = 1
MEMLIMIT = 8192
# Published test passphrases, not secrets; non-ASCII on purpose: å, ä and ö are common here.
PASSPHRASE = "korrekt häst batteri häftklammer"
SIGNING_PASSPHRASE = "länsstyrelsen nätverksnyckel"

DESCRIPTION = (
    "Key files (hub-keyfile/v1, docs/protocol.md 'Key files'). For each vector, open `file` "
    "(its UTF-8 encoding) with `passphrase`. expect 'ok': it opens, and `key_id` is the hex key "
    "id of the identity (kind identity) or the hex Ed25519 public key (kind signing-key). "
    "Otherwise `expect` is the error code the reader must give. Argon2id limits are the "
    "smallest allowed (opslimit 1, memlimit 8192) to keep the vectors fast."
)

Doc = dict[str, Any]


# --- the formulas, written out once more from the specification -----------------------------


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _checksum(doc: Doc) -> str:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    return p.blake2b(_canonical(body), size=32, person=b"hub-keyfile/v1").hex()


def _text(doc: Doc) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _seal(header: Doc, secret: bytes, passphrase: str) -> Doc:
    """A whole key file from its header (format, kind, kdf, nonce, public) and its secret."""
    kdf = header["kdf"]
    password = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    wrap_key = p.argon2id(
        password, unb64(kdf["salt"]), opslimit=kdf["opslimit"], memlimit=kdf["memlimit"]
    )
    ad = b"hub-keyfile/v1\n" + _canonical(header)
    doc = {
        **header,
        "ciphertext": b64(p.aead_encrypt(wrap_key, unb64(header["nonce"]), secret, ad)),
    }
    doc["checksum"] = _checksum(doc)
    return doc


def _header(doc: Doc) -> Doc:
    return {k: copy.deepcopy(v) for k, v in doc.items() if k not in {"ciphertext", "checksum"}}


def _edited(doc: Doc, edit: Callable[[Doc], None], *, recompute: bool) -> str:
    changed = copy.deepcopy(doc)
    edit(changed)
    if recompute:
        changed["checksum"] = _checksum(changed)
    return _text(changed)


def _flip_ciphertext_byte(doc: Doc) -> None:
    raw = bytearray(unb64(doc["ciphertext"]))
    raw[5] ^= 0x01
    doc["ciphertext"] = b64(bytes(raw))


def _drop_ciphertext_byte(doc: Doc) -> None:
    doc["ciphertext"] = b64(unb64(doc["ciphertext"])[:-1])


def _set(*path_and_value: Any) -> Callable[[Doc], None]:
    *path, value = path_and_value

    def edit(doc: Doc) -> None:
        target = doc
        for name in path[:-1]:
            target = target[name]
        target[path[-1]] = value

    return edit


def _delete(name: str) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        del doc[name]

    return edit


def _non_canonical_base64(text: str) -> str:
    """The same bytes with unused bits set before the padding: base64 that strict readers refuse."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stem = text.rstrip("=")
    last = alphabet[alphabet.index(stem[-1]) | 0x01]
    return stem[:-1] + last + "=" * (len(text) - len(stem))


# --- the vectors ----------------------------------------------------------------------------


def generate() -> dict[str, Any]:
    rng = SeededRng("hub-keyfile/v1 vectors")
    identity = PrivateIdentity.generate(rng)
    other = PrivateIdentity.generate(rng)
    network_key = SigningKey.generate(rng)

    id_text = dumps_keyfile(identity, PASSPHRASE, opslimit=OPSLIMIT, memlimit=MEMLIMIT, rng=rng)
    sk_text = dumps_keyfile(
        network_key, SIGNING_PASSPHRASE, opslimit=OPSLIMIT, memlimit=MEMLIMIT, rng=rng
    )
    doc = json.loads(id_text)
    sk_doc = json.loads(sk_text)
    identity_secret = identity.signing_seed + identity.encryption_secret
    if _text(_seal(_header(doc), identity_secret, PASSPHRASE)) != id_text:
        raise AssertionError("hub.crypto.keyfile and the specification disagree (identity)")
    if _text(_seal(_header(sk_doc), network_key.seed, SIGNING_PASSPHRASE)) != sk_text:
        raise AssertionError("hub.crypto.keyfile and the specification disagree (signing-key)")

    key_id = identity.key_id.hex()
    corrupt, unsupported, wrong = (
        "keyfile_corrupt",
        "keyfile_unsupported",
        "keyfile_wrong_passphrase",
    )

    def edit(change: Callable[[Doc], None], *, recompute: bool = True) -> str:
        return _edited(doc, change, recompute=recompute)

    # The other identity's public part, sealed with the right passphrase around this secret:
    # only someone holding both could write it, and the reader must still refuse it.
    mismatched = _seal(
        {**_header(doc), "public": other.public.to_json()}, identity_secret, PASSPHRASE
    )
    other_public = other.public.to_json()
    half_swapped = {**doc["public"], "signing_key": other_public["signing_key"]}
    duplicate = id_text.replace('"format": ', '"format": "hub-keyfile/v1",\n  "format": ', 1)
    # An escaped lone surrogate: valid UTF-8 and JSON syntax, but no Unicode string (I-JSON).
    lone_surrogate = id_text.replace('"format": ', '"comment": "\\ud800",\n  "format": ', 1)

    cases: list[tuple[str, str, str, str]] = [
        # name, file, passphrase, expect
        ("identity-ok", id_text, PASSPHRASE, "ok"),
        ("signing-key-ok", sk_text, SIGNING_PASSPHRASE, "ok"),
        (
            "identity-ok-passphrase-typed-decomposed",  # "ä" as "a" + combining diaeresis
            id_text,
            unicodedata.normalize("NFD", PASSPHRASE),
            "ok",
        ),
        ("identity-ok-reformatted-compact", _canonical(doc).decode() + "\n", PASSPHRASE, "ok"),
        ("wrong-passphrase", id_text, "korrekt häst batteri häftklamrar", wrong),
        ("signing-key-wrong-passphrase", sk_text, PASSPHRASE, wrong),
        (
            "ciphertext-byte-flipped-checksum-recomputed",
            edit(_flip_ciphertext_byte),
            PASSPHRASE,
            wrong,
        ),
        (
            "ciphertext-byte-flipped",
            edit(_flip_ciphertext_byte, recompute=False),
            PASSPHRASE,
            corrupt,
        ),
        (
            "public-swapped-checksum-recomputed",
            edit(_set("public", other_public)),
            PASSPHRASE,
            wrong,
        ),
        (
            "opslimit-changed-checksum-recomputed",
            edit(_set("kdf", "opslimit", 2)),
            PASSPHRASE,
            wrong,
        ),
        ("public-does-not-match-private-key", _text(mismatched), PASSPHRASE, corrupt),
        (
            "public-key-id-inconsistent-checksum-recomputed",
            edit(_set("public", half_swapped)),
            PASSPHRASE,
            corrupt,
        ),
        ("empty-file", "", PASSPHRASE, corrupt),
        ("truncated", id_text[: len(id_text) // 2], PASSPHRASE, corrupt),
        ("not-json", "this is not a key file\n", PASSPHRASE, corrupt),
        ("not-an-object", "[]\n", PASSPHRASE, corrupt),
        ("utf8-byte-order-mark", "\ufeff" + id_text, PASSPHRASE, corrupt),
        ("duplicate-member", duplicate, PASSPHRASE, corrupt),
        ("missing-nonce-checksum-recomputed", edit(_delete("nonce")), PASSPHRASE, corrupt),
        ("missing-checksum", edit(_delete("checksum"), recompute=False), PASSPHRASE, corrupt),
        (
            "checksum-uppercase-hex",
            edit(_set("checksum", doc["checksum"].upper()), recompute=False),
            PASSPHRASE,
            corrupt,
        ),
        ("extra-member-checksum-recomputed", edit(_set("comment", "hej")), PASSPHRASE, corrupt),
        ("lone-surrogate", lone_surrogate, PASSPHRASE, corrupt),
        (
            "ciphertext-bad-base64-checksum-recomputed",
            edit(_set("ciphertext", "!" + doc["ciphertext"][1:])),
            PASSPHRASE,
            corrupt,
        ),
        (
            "salt-non-canonical-base64-checksum-recomputed",
            edit(_set("kdf", "salt", _non_canonical_base64(doc["kdf"]["salt"]))),
            PASSPHRASE,
            corrupt,
        ),
        (
            "salt-wrong-length-checksum-recomputed",
            edit(_set("kdf", "salt", b64(unb64(doc["kdf"]["salt"])[:15]))),
            PASSPHRASE,
            corrupt,
        ),
        (
            "ciphertext-wrong-length-checksum-recomputed",
            edit(_drop_ciphertext_byte),
            PASSPHRASE,
            corrupt,
        ),
        (
            "opslimit-a-string-checksum-recomputed",
            edit(_set("kdf", "opslimit", "1")),
            PASSPHRASE,
            corrupt,
        ),
        ("opslimit-a-fraction", edit(_set("kdf", "opslimit", 1.0)), PASSPHRASE, corrupt),
        ("memlimit-beyond-i-json", edit(_set("kdf", "memlimit", 2**53)), PASSPHRASE, corrupt),
        ("unknown-format-version", edit(_set("format", "hub-keyfile/v2")), PASSPHRASE, unsupported),
        (
            "unknown-kind-checksum-recomputed",
            edit(_set("kind", "ssh-key")),
            PASSPHRASE,
            unsupported,
        ),
        (
            "unknown-kdf-checksum-recomputed",
            edit(_set("kdf", "name", "scrypt")),
            PASSPHRASE,
            unsupported,
        ),
        (
            "opslimit-too-large-checksum-recomputed",
            edit(_set("kdf", "opslimit", p.ARGON2ID_OPSLIMIT_MAX + 1)),
            PASSPHRASE,
            unsupported,
        ),
        (
            "memlimit-too-small-checksum-recomputed",
            edit(_set("kdf", "memlimit", p.ARGON2ID_MEMLIMIT_MIN - 1)),
            PASSPHRASE,
            unsupported,
        ),
        (
            "opslimit-too-large",  # the checksum comes first: an unexplained edit is damage
            edit(_set("kdf", "opslimit", p.ARGON2ID_OPSLIMIT_MAX + 1), recompute=False),
            PASSPHRASE,
            corrupt,
        ),
    ]
    public_ids = {"identity": key_id, "signing-key": network_key.public.hex()}
    vectors = []
    for name, text, passphrase, expect in cases:
        vector: dict[str, str] = {
            "name": name,
            "file": text,
            "passphrase": passphrase,
            "expect": expect,
        }
        if expect == "ok":
            vector["key_id"] = public_ids[json.loads(text)["kind"]]
        vectors.append(vector)
    return {
        "description": DESCRIPTION,
        "generator": "tests/vectors/gen_keyfile.py",
        "vectors": vectors,
    }


def dumps() -> str:
    return render(generate())


if __name__ == "__main__":
    write_vectors(OUT, dumps())
