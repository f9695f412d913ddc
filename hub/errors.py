"""Every error the project raises on purpose, each with a stable code and a Swedish sentence.

    HubError                      code, message (Swedish, for a contact person), detail
    ├── KeyFileError              a key file on this machine cannot be used
    ├── RecoveryError             a recovery code or copy cannot restore keys
    ├── FormatError               bytes that do not parse as what they claim to be
    │   ├── EnvelopeFormatError   the envelope's layout is wrong (header, sizes, trailing data)
    │   └── RecordFormatError     a signed record (directory entry, revocation, receipt) is bad
    ├── VerificationError         it parses, but a signature, a tag or a binding does not hold
    │   ├── EnvelopeVerificationError
    │   ├── RecordVerificationError
    │   └── LogError              the directory log: a proof, a checkpoint, its cosignatures
    ├── AuthorityError            well-formed and intact, but the directory does not vouch for it
    │                             (unknown, expired or revoked key; not a recipient)
    ├── ApiError                  the hub's API refuses a request (sign-in, rights, size, shape)
    └── LifecycleError            a case's rules refuse an action (names role, state and event;
                                  carries error_status_hint, the HTTP status for the server)

The code is the contract: test vectors and the hub's JSON errors name it, and it never changes
meaning. The message names what failed and never a key, a plaintext or a passphrase.
"""

from __future__ import annotations

from typing import ClassVar

# One place for every code and the sentence a contact person reads.
MESSAGES: dict[str, str] = {
    # the hub's API (hub/server): status codes in hub/server/errors.py
    "request_malformed": "Begäran är felaktigt uppbyggd.",
    "request_too_large": "Begäran är större än vad hubben tar emot.",
    "auth_required": "Du behöver logga in.",
    "auth_failed": "Inloggningen misslyckades.",
    "rate_limited": "För många försök. Vänta en stund och försök igen.",
    "not_found": "Det finns inget sådant här.",
    "forbidden": "Du har inte behörighet till detta.",
    "enrolment_rejected": (
        "Länsstyrelsen har avslagit registreringen av din nyckel, så den kan inte logga in. "
        "Ring länsstyrelsen: de kan bjuda in dig på nytt."
    ),
    "conflict_exists": "Det finns redan.",
    "envelope_id_taken": (
        "Ett annat meddelande finns redan under samma meddelande-id; det här sparades inte."
    ),
    "envelope_sender_not_you": "Meddelandet är inte undertecknat med din egen nyckel.",
    "envelope_recipients_mismatch": (
        "Meddelandet är inte krypterat till exakt de giltiga nycklarna hos mottagarna och "
        "den egna kommunen. Hämta katalogen på nytt och skicka igen."
    ),
    "record_required": (
        "Namn, folkmängd, kommunmall och nätverkets inställningar ändras bara med en post som "
        "länsstyrelsen har signerat; hubben tar inte emot en osignerad ändring."
    ),
    "plain_http_refused": (
        "Hubben nås över okrypterad HTTP på en annan dator än din egen; det vägrar vi."
    ),
    # keys at rest
    "keyfile_wrong_passphrase": "Fel lösenfras: nyckelfilen kunde inte låsas upp.",
    "keyfile_corrupt": "Nyckelfilen är skadad eller ofullständig och kan inte läsas.",
    "keyfile_unsupported": "Nyckelfilen har ett format som den här versionen inte stöder.",
    "keyfile_missing": "Det finns ingen nyckelfil på den angivna platsen.",
    "keyfile_exists": "Det finns redan en nyckelfil här; den skrivs inte över.",
    # a recovery copy (docs/protocol.md §3.7, hub/protocol/recovery.py)
    "recovery_code_mistyped": (
        "Återställningskoden är felskriven: den ska vara sex grupper om fem tecken, och "
        "kontrolltecknen stämmer inte. Jämför tecken för tecken med det du skrev ner."
    ),
    "recovery_wrong_code": (
        "Återställningskoden öppnar inte den här kopian: det är en annan kods kopia, "
        "eller så har kopian ändrats."
    ),
    "recovery_copy_corrupt": (
        "Återställningskopian är skadad eller ofullständig och kan inte läsas."
    ),
    "recovery_copy_unsupported": (
        "Återställningskopian har ett format som den här versionen inte stöder."
    ),
    "not_your_copy": (
        "Hubben tar bara emot en återställningskopia av den egna nyckeln från dess ägare."
    ),
    "recovery_not_on_hub": (
        "Hubben har ingen återställningskopia för den här koden. Kontrollera att koden är den "
        "senaste du fick, och att kopian sparades på hubben; annars behövs kopian som fil."
    ),
    "recovery_keys_exist": (
        "Det finns redan nycklar i mappen; de skrivs inte över. Välj en ny, tom mapp."
    ),
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
    # who this agent speaks for (hub.inbox.facts.who_am_i)
    "identity_not_listed": (
        "Din nyckel är inte giltig i den katalog som länsstyrelsen har signerat: den är okänd, "
        "utgången eller återkallad. Kontakta länsstyrelsen."
    ),
    "identity_mismatch": (
        "Hubben uppger en annan kommun eller roll för din nyckel än den katalog som "
        "länsstyrelsen har signerat. Inkorgen litar inte på hubbens uppgift och startar inte: "
        "kontakta länsstyrelsen."
    ),
    # signed records: directory entries, revocations, receipts
    "envelope_handed_digest_mismatch": (
        "En kollega lämnade över nyckeln till ett meddelande, men meddelandet är inte det som "
        "överlämningen gällde. Det visas inte."
    ),
    "envelope_handover_not_allowed": (
        "En annan kommun lämnade över nyckeln till ett meddelande som inte skickades mellan den "
        "och er i ärendet. Bara det som gick mellan er får lämnas över, så det visas inte."
    ),
    "record_malformed": "En signerad post är felaktigt uppbyggd.",
    "record_not_canonical": "En signerad post är inte kodad på det enda tillåtna sättet.",
    "record_bad_signature": "En signerad post har en ogiltig underskrift.",
    "record_wrong_signer": "En signerad post är undertecknad med fel nyckel.",
    "record_wrong_network": "En signerad post hör till ett annat nätverk.",
    "record_wrong_kind": "En signerad post är av fel slag.",
    "directory_conflict": "Katalogen innehåller motstridiga poster.",
    # the one sequence of directory and registry records (hub/crypto/registry.py)
    "registry_gap": (
        "Katalogen från hubben saknar en post: löpnumren hoppar över ett nummer. "
        "Inget i den används."
    ),
    "registry_out_of_sequence": (
        "Katalogen från hubben har en post på fel plats i ordningen (upprepad eller flyttad). "
        "Inget i den används."
    ),
    "registry_rolled_back": (
        "Hubben visar en äldre katalog än den som redan har kontrollerats här. "
        "Inget i den används; kontakta länsstyrelsen."
    ),
    "registry_conflict": (
        "Registret innehåller motstridiga poster: två kommuner med samma namn, eller en "
        "kommunmall för en kommun som inte finns i registret."
    ),
    "receipt_signer_not_recipient": (
        "Kvittensen är inte undertecknad av en mottagare av meddelandet."
    ),
    "receipt_mismatch": "Kvittensen gäller ett annat meddelande.",
    # the directory log: its tree, checkpoints and cosignatures (hub/crypto/merkle.py,
    # hub/crypto/checkpoint.py; docs/protocol.md §12)
    "log_proof_malformed": "Ett bevis från katalogens logg är felaktigt uppbyggt.",
    "log_inclusion_invalid": (
        "Hubben kunde inte visa att en post finns i katalogens logg. Inget i den används."
    ),
    "log_consistency_invalid": (
        "Katalogens logg hänger inte ihop med den som redan har kontrollerats här: hubben kan "
        "visa olika kataloger för olika personer. Inget i den används; kontakta länsstyrelsen."
    ),
    "log_root_mismatch": (
        "Katalogens poster stämmer inte med loggens kontrollpunkt: en post saknas eller är "
        "ändrad. Inget i den används; kontakta länsstyrelsen."
    ),
    # erased bodies (docs/protocol.md §12.11, hub/crypto/erasure.py)
    "log_erased_unexplained": (
        "Hubben visar en katalogpost som raderad utan att länsstyrelsen har signerat att den "
        "fick raderas. Inget i katalogen används; kontakta länsstyrelsen."
    ),
    "erasure_not_allowed": (
        "Länsstyrelsens raderingspost gäller en post som inte får raderas: en återkallelse, "
        "en registerpost, en nyckel som ännu kan behövas för att kontrollera en underskrift, "
        "eller en post som redan är raderad. Inget i katalogen används; kontakta länsstyrelsen."
    ),
    "erasure_mismatch": (
        "Länsstyrelsens raderingspost stämmer inte med den post den säger sig radera. "
        "Inget i katalogen används; kontakta länsstyrelsen."
    ),
    "checkpoint_malformed": "Katalogens kontrollpunkt är felaktigt uppbyggd.",
    "checkpoint_required": (
        "Katalogen har en logg: en ny post tas bara emot med länsstyrelsens kontrollpunkt "
        "för loggen. Uppdatera hub admin."
    ),
    "checkpoint_wrong_origin": (
        "Katalogens kontrollpunkt hör till en annan logg eller ett annat nätverk."
    ),
    "checkpoint_unsigned": (
        "Katalogens kontrollpunkt är inte undertecknad med länsstyrelsens nätverksnyckel."
    ),
    "checkpoint_bad_signature": "Katalogens kontrollpunkt har en ogiltig underskrift.",
    "checkpoint_rolled_back": (
        "Hubben visar en äldre katalog än den som redan har kontrollerats här. "
        "Inget i den används; kontakta länsstyrelsen."
    ),
    "checkpoint_fork": (
        "Hubben visar två olika kataloger av samma storlek eller en som inte bygger på den "
        "tidigare: någon kan ha fått se en annan katalog än du. Båda sparas som bevis; "
        "kontakta länsstyrelsen."
    ),
    "cosignature_invalid": (
        "En kontrollant har en ogiltig underskrift på katalogens kontrollpunkt."
    ),
    "cosignature_quorum_missing": (
        "För få av nätverkets kontrollanter har bekräftat katalogen. Inget skickas förrän de "
        "har gjort det."
    ),
    "checkpoint_stale": (
        "Katalogen har inte bekräftats av nätverkets kontrollanter på för länge. Ärenden med "
        "innehåll skickas inte förrän den har bekräftats; en återkallad nyckel kan annars "
        "ha hållits undan."
    ),
    # the case lifecycle (hub/protocol/lifecycle.py)
    "transition_invalid": "Åtgärden går inte att utföra i ärendets nuvarande läge.",
    "decline_reason_invalid": (
        "Ett nej måste ha ett godtagbart skäl: att det överenskomna antalet ärenden redan har "
        "tagits emot, eller att kommunens resurser inte räcker för behovet. "
        "Bostadsbrist är inte ett godtagbart skäl."
    ),
    "event_details_invalid": "Uppgifterna till åtgärden saknas eller är felaktiga.",
    "case_too_many_requests": (
        "Ärendet har redan så många öppna förfrågningar som tillåts. Avsluta någon först."
    ),
    "case_municipality_already_asked": "Kommunen har redan tillfrågats i det här ärendet.",
    "case_own_municipality": "Ett ärende kan inte skickas till den egna kommunen.",
    "case_batch_invalid": (
        "Stegen hör ihop och måste tas tillsammans: en bekräftelse stänger samtidigt de andra "
        "öppna förfrågningarna, och ett ärende avslutas utan flytt genom att alla öppna "
        "förfrågningar återkallas samtidigt."
    ),
    "case_history_conflicting": (
        "Ärendets historik är motstridig: hubben har visat två olika förlopp. Inget nytt steg "
        "kan tas i den delen av ärendet. Kontakta länsstyrelsen."
    ),
    "case_others_open": (
        "Ärendet har andra öppna förfrågningar. De stängs i samma steg som bekräftelsen."
    ),
    # signed case steps (hub/crypto/steps.py, hub/protocol/chain.py, hub/server/case_steps.py)
    "step_signer_not_party": (
        "Steget är undertecknat av någon som inte hör till ärendets avsändande eller "
        "tillfrågade kommun."
    ),
    "step_parent_taken": (
        "Någon annan hann före: ärendet har redan ett nytt steg efter det du utgick från. "
        "Läs in ärendet igen och se vad som gäller nu."
    ),
    "step_parent_unknown": ("Steget bygger på ett steg som hubben inte har. Läs in ärendet igen."),
    "step_mismatch": "Steget gäller ett annat ärende, en annan kommun eller ett annat nätverk.",
    "steps_required": (
        "Den här versionen av hubben tar bara emot undertecknade steg. Uppdatera programmet "
        "för inkorgen."
    ),
    # the outcome report (hub/report/outcome.py, hub/server/outcome_routes.py)
    "case_not_closed": (
        "Ärendet är inte avslutat. Utfallsrapporten lämnas först när ärendet har avslutats."
    ),
    "outcome_report_invalid": "Utfallsrapporten är inte korrekt ifylld.",
    "outcome_report_mismatch": (
        "Utfallsrapporten stämmer inte med ärendet: om flytten blev av, och till vilken kommun, "
        "ska vara detsamma som i ärendet."
    ),
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


class RecoveryError(HubError):
    codes = _codes("recovery_")


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
            "envelope_handed_digest_mismatch",
            "envelope_handover_not_allowed",
        }
    )


class RecordVerificationError(VerificationError):
    codes = frozenset(
        {
            "record_bad_signature",
            "record_wrong_signer",
            "record_wrong_network",
            "directory_conflict",
            "registry_gap",
            "registry_out_of_sequence",
            "registry_rolled_back",
            "registry_conflict",
            "receipt_signer_not_recipient",
            "receipt_mismatch",
            "step_signer_not_party",
            "erasure_not_allowed",
            "erasure_mismatch",
        }
    )


class LogError(VerificationError):
    """The directory log does not hold: a proof, a checkpoint or its cosignatures."""

    codes = frozenset(c for c in MESSAGES if c.startswith(("log_", "checkpoint_", "cosignature_")))


class ApiError(HubError):
    """Refusals by the hub's API that are not about bytes or keys (see hub/server/errors.py)."""

    codes = frozenset(
        {
            "request_malformed",
            "request_too_large",
            "auth_required",
            "auth_failed",
            "rate_limited",
            "not_found",
            "forbidden",
            "enrolment_rejected",
            "not_your_copy",
            "conflict_exists",
            "envelope_id_taken",
            "envelope_sender_not_you",
            "envelope_recipients_mismatch",
            "plain_http_refused",
            "record_required",
            "case_not_closed",
            "outcome_report_invalid",
            "outcome_report_mismatch",
            "step_parent_taken",
            "step_parent_unknown",
            "step_mismatch",
            "steps_required",
        }
    )


class AuthorityError(HubError):
    codes = _codes(
        "sender_key_",
        "envelope_not_recipient",
        "recipient_no_valid_key",
        "identity_not_listed",
        "identity_mismatch",
    )


class LifecycleError(HubError):
    """A case's rules refuse an action; the error names the role, the state and the event.

    `error_status_hint` is the HTTP status the server answers with (as h11's ProtocolError):
    409 when the case's present state forbids the action, 422 when its details are wrong.
    """

    codes = frozenset(
        {
            "transition_invalid",
            "decline_reason_invalid",
            "event_details_invalid",
            "case_too_many_requests",
            "case_municipality_already_asked",
            "case_own_municipality",
            "case_batch_invalid",
            "case_others_open",
            "case_history_conflicting",
        }
    )
    _unprocessable: ClassVar[frozenset[str]] = frozenset(
        {"decline_reason_invalid", "event_details_invalid", "case_own_municipality"}
    )

    def __init__(
        self, code: str, *, role: str, state: str, event: str, detail: str | None = None
    ) -> None:
        # role, state and event are the lifecycle's StrEnums, typed as str here so that this
        # root module imports nothing from the protocol package. No municipality is named.
        self.role = role
        self.state = state
        self.event = event
        where = f"role {role!s}, state {state!s}, event {event!s}"
        super().__init__(code, f"{where}: {detail}" if detail else where)

    @property
    def error_status_hint(self) -> int:
        return 422 if self.code in self._unprocessable else 409
