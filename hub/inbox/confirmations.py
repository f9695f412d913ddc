"""Confirm what cannot be undone: the case actions that end something (a request, an offer, a
move, the case) ask once more, saying in plain Swedish what will happen and who is told. Pure:
names in, sentences out; hub.inbox.pages.case shows them (confirm_action.html)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# The actions whose post first shows the confirmation; the form posted from it carries
# confirmed=ja. Every one of them is drawn as a step that ends something (.button-danger).
CONFIRMED: Final = frozenset(
    {"withdraw", "decline", "decline_offer", "cancel", "close", "close_not_moved"}
)
CONFIRMED_VALUE: Final = "ja"
# Asked on a page of its own (GET /arende/{id}?bekrafta=action&till=municipality, where the
# first post redirects); a decline, with its typed motivation, asks in its own form instead.
ON_A_PAGE: Final = CONFIRMED - {"decline"}

# What was done, for the message shown once on the next page ({cp}: the other municipality).
_DONE: Final = {
    "accept": "Ni tackade ja till förfrågan från {cp}.",
    "decline": "Förfrågan från {cp} är nekad.",
    "withdraw": "Förfrågan till {cp} är återkallad.",
    "confirm": "Erbjudandet från {cp} är bekräftat.",
    "decline_offer": "Erbjudandet från {cp} är avböjt.",
    "cancel": "Flytten är avbruten.",
    "record_move": "Flytten är registrerad.",
    "record_follow_up": "Uppföljningen är registrerad.",
    "close": "Ärendet är avslutat.",
    "close_not_moved": "Ärendet är avslutat utan flytt.",
    "message": "Meddelandet skickades till {cp}.",
    "pre_inquiry_yes": "Ni svarade ja på förhandsförfrågan från {cp}.",
    "pre_inquiry_no": "Ni svarade nej på förhandsförfrågan från {cp}.",
}


@dataclass(frozen=True)
class Confirmation:
    title: str  # the page's h1, a question
    happens: str  # what will happen
    told: str  # who is told, and how
    button: str  # the button that does it


def names_in_words(names: list[str]) -> str:
    """'Kommun B', 'Kommun B och Kommun C', 'Kommun B, Kommun C och Kommun D'."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} och {names[-1]}"


def done_text(action: str, *, counterpart: str, told: list[str], waiting: bool) -> str:
    """'Förfrågan till Kommun B är återkallad. Kommun B har fått besked.' When the step waits
    in the outbox (the hub did not answer), it says so instead."""
    done = _DONE[action].format(cp=counterpart)
    names = names_in_words(told) or counterpart
    if waiting:
        return f"{done} Det ligger i utkorgen: {names} får besked när hubben svarar igen."
    if action == "message":
        return done
    return f"{done} {names} har fått besked."


def sent_text(names: list[str], *, waiting: bool) -> str:
    """'Förfrågan skickades till Kommun B och Kommun C.'"""
    if waiting:
        return (
            f"Förfrågan till {names_in_words(names)} ligger i utkorgen och skickas när "
            "hubben svarar igen."
        )
    return f"Förfrågan skickades till {names_in_words(names)}."


def overtaken_text(name: str, state_label: str) -> str:
    """Another person acted first: the step was not taken, and the page shows what is now."""
    return (
        f"Åtgärden gjordes inte, eftersom ärendet hann ändras. Läget nu för {name}: "
        f"{state_label}. Sidan visar ärendet som det ser ut nu."
    )


def confirmation(action: str, *, counterpart: str, asked: list[str]) -> Confirmation:
    """The confirmation of `action`: counterpart is the other municipality of the request
    acted on (the asked one for the sender, the sender for the asked); asked names every
    municipality the case was sent to (close_not_moved tells those still open)."""
    ask = names_in_words(asked) or counterpart
    texts = {
        "withdraw": Confirmation(
            f"Återkalla förfrågan till {counterpart}?",
            f"Förfrågan till {counterpart} dras tillbaka. {counterpart} kan inte längre svara "
            "på den. Förfrågningar till andra kommuner påverkas inte.",
            f"{counterpart} får besked direkt om att förfrågan är återkallad.",
            "Ja, återkalla förfrågan",
        ),
        "decline": Confirmation(
            f"Neka förfrågan från {counterpart}?",
            "Er kommun säger nej till förfrågan med det skäl och den motivering som visas "
            "nedan. Ärendet avslutas för er kommun.",
            f"{counterpart} får besked direkt, med skälet och motiveringen. Motiveringen "
            f"krypteras och kan bara läsas av {counterpart} och er egen kommun.",
            "Ja, neka förfrågan",
        ),
        "decline_offer": Confirmation(
            f"Tacka nej till erbjudandet från {counterpart}?",
            f"Personen tar inte emot erbjudandet från {counterpart}. Förfrågan till "
            f"{counterpart} avslutas.",
            f"{counterpart} får besked direkt om att erbjudandet är avböjt.",
            "Ja, tacka nej till erbjudandet",
        ),
        "cancel": Confirmation(
            f"Avbryta flytten till {counterpart}?",
            "Flytten avbryts efter att kommunen har sagt ja, eftersom den inte kan genomföras. "
            "Skriv gärna varför i ett meddelande.",
            f"{counterpart} får besked direkt om att flytten är avbruten.",
            "Ja, avbryt flytten",
        ),
        "close": Confirmation(
            "Avsluta ärendet?",
            "Ärendet avslutas. Därefter rapporterar du utfallet: målgrupp och mottagande "
            "kommun, som kategorier för uppföljningen av nätverket.",
            f"{counterpart} får besked om att ärendet är avslutat.",
            "Ja, avsluta ärendet",
        ),
        "close_not_moved": Confirmation(
            "Avsluta ärendet utan flytt?",
            "Ärendet avslutas utan att personen flyttar. Förfrågningar som fortfarande är "
            "öppna stängs. Därefter rapporterar du utfallet.",
            f"{ask} får besked om att ärendet är avslutat, om deras förfrågan fortfarande "
            "är öppen.",
            "Ja, avsluta utan flytt",
        ),
    }
    return texts[action]
