"""Every error the project raises on purpose, each with a stable code and a Swedish sentence.

    HubError                      code, message (Swedish, for a contact person), detail
    ├── KeyFileError              a key file on this machine cannot be used
    ├── FormatError               bytes that do not parse as what they claim to be
    │   ├── EnvelopeFormatError   the envelope's layout is wrong (header, sizes, trailing data)
    │   └── RecordFormatError     a signed record (directory entry, revocation, receipt) is bad
    ├── VerificationError         it parses, but a signature, a tag or a binding does not hold
    │   ├── EnvelopeVerificationError
    │   └── RecordVerificationError
    └── AuthorityError            well-formed and intact, but the directory does not vouch for it
                                  (unknown, expired or revoked key; not a recipient)

The code is the contract: test vectors and the hub's JSON errors name it, and it never changes
meaning. The message names what failed and never a key, a plaintext or a passphrase.
"""

from __future__ import annotations

from typing import ClassVar

# One place for every code and the sentence a contact person reads.
MESSAGES: dict[str, str] = {
    # keys at rest
    "keyfile_wrong_passphrase": "Fel lösenfras: nyckelfilen kunde inte låsas upp.",
    "keyfile_corrupt": "Nyckelfilen är skadad eller ofullständig och kan inte läsas.",
    "keyfile_unsupported": "Nyckelfilen har ett format som den här versionen inte stöder.",
    "keyfile_missing": "Det finns ingen nyckelfil på den angivna platsen.",
    "keyfile_exists": "Det finns redan en nyckelfil här; den skrivs inte över.",
    "public_key_invalid": "Filen med den publika nyckeln är ogiltig.",
    # envelope layout
    "envelope_empty": "Meddelandet är tomt.",
    "envelope_truncated": "Meddelandet är ofullständigt (avkortat).",
    "envelope_bad_magic": "Det här är inte ett krypterat meddelande i hubbens format.",
    "envelope_unsupported_version": (
        "Meddelandet har en version som den här programvaran inte stöder."
    ),
    "envelope_header_too_large": "Meddelandets huvud är orimligt stort.",
    "envelope_header_malformed": "Meddelandets huvud är felaktigt uppbyggt.",
    "envelope_trailing_data": "Meddelandet innehåller extra data efter slutet.",
    "envelope_too_large": "Meddelandet är större än vad som tillåts.",
    # envelope verification
    "envelope_bad_signature": "Avsändarens underskrift stämmer inte: meddelandet kan ha ändrats.",
    "envelope_chunk_invalid": "En del av meddelandet har ändrats, flyttats eller saknas.",
    "envelope_final_chunk_missing": "Meddelandets sista del saknas.",
    "envelope_key_commitment": "Meddelandets nyckel stämmer inte med huvudet.",
    "envelope_stanza_invalid": "Nyckeln till meddelandet kunde inte packas upp.",
    "envelope_padding_invalid": "Meddelandets utfyllnad har ändrats.",
    "envelope_content_malformed": "Meddelandets innehåll är felaktigt uppbyggt.",
    "envelope_not_recipient": "Meddelandet är inte krypterat till din nyckel.",
    "envelope_replayed": "Meddelandet har redan tagits emot en gång (återspelat).",
    "envelope_from_future": "Meddelandet är daterat i framtiden.",
    # who vouches for a key
    "sender_key_unknown": "Avsändarens nyckel finns inte i den signerade katalogen.",
    "sender_key_mismatch": "Meddelandet är inte undertecknat av den avsändare du angav.",
    "sender_key_expired": "Avsändarens nyckel var inte giltig när meddelandet skapades.",
    "sender_key_revoked": "Avsändarens nyckel är återkallad.",
    "recipient_no_valid_key": (
        "En mottagande kommun har ingen giltig nyckel i katalogen; inget kan krypteras till den."
    ),
    # signed records: directory entries, revocations, receipts
    "record_malformed": "En signerad post är felaktigt uppbyggd.",
    "record_not_canonical": "En signerad post är inte kodad på det enda tillåtna sättet.",
    "record_bad_signature": "En signerad post har en ogiltig underskrift.",
    "record_wrong_signer": "En signerad post är undertecknad med fel nyckel.",
    "record_wrong_network": "En signerad post hör till ett annat nätverk.",
    "record_wrong_kind": "En signerad post är av fel slag.",
    "directory_conflict": "Katalogen innehåller motstridiga poster.",
    "receipt_signer_not_recipient": (
        "Kvittensen är inte undertecknad av en mottagare av meddelandet."
    ),
    "receipt_mismatch": "Kvittensen gäller ett annat meddelande.",
}


class HubError(Exception):
    """Root of every deliberate error; `code` is stable, `message` is for people."""

    codes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, code: str, detail: str | None = None) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown error code {code!r}")
        if self.codes and code not in self.codes:
            raise ValueError(f"{type(self).__name__} cannot carry {code!r}")
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {self.message}" + (f" ({detail})" if detail else ""))

    @property
    def message(self) -> str:
        return MESSAGES[self.code]


def _codes(prefix: str, *extra: str) -> frozenset[str]:
    return frozenset(c for c in MESSAGES if c.startswith(prefix)) | frozenset(extra)


class KeyFileError(HubError):
    codes = _codes("keyfile_", "public_key_invalid")


class FormatError(HubError):
    pass


class EnvelopeFormatError(FormatError):
    codes = frozenset(
        {
            "envelope_empty",
            "envelope_truncated",
            "envelope_bad_magic",
            "envelope_unsupported_version",
            "envelope_header_too_large",
            "envelope_header_malformed",
            "envelope_trailing_data",
            "envelope_too_large",
        }
    )


class RecordFormatError(FormatError):
    codes = frozenset({"record_malformed", "record_not_canonical", "record_wrong_kind"})


class VerificationError(HubError):
    pass


class EnvelopeVerificationError(VerificationError):
    codes = frozenset(
        {
            "envelope_bad_signature",
            "envelope_chunk_invalid",
            "envelope_final_chunk_missing",
            "envelope_key_commitment",
            "envelope_stanza_invalid",
            "envelope_padding_invalid",
            "envelope_content_malformed",
            "envelope_replayed",
            "envelope_from_future",
        }
    )


class RecordVerificationError(VerificationError):
    codes = frozenset(
        {
            "record_bad_signature",
            "record_wrong_signer",
            "record_wrong_network",
            "directory_conflict",
            "receipt_signer_not_recipient",
            "receipt_mismatch",
        }
    )


class AuthorityError(HubError):
    codes = _codes("sender_key_", "envelope_not_recipient", "recipient_no_valid_key")
