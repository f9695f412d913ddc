"""The words of each confirmation (hub.inbox.confirmations): what happens and who is told."""

from __future__ import annotations

import pytest

from hub.inbox.confirmations import CONFIRMED, confirmation, names_in_words


@pytest.mark.parametrize(
    ("action", "told"),
    [
        ("withdraw", "Kommun B får besked direkt om att förfrågan är återkallad."),
        ("decline", "Kommun B får besked direkt, med skälet och motiveringen."),
        ("decline_offer", "Kommun B får besked direkt om att erbjudandet är avböjt."),
        ("cancel", "Kommun B får besked direkt om att flytten är avbruten."),
        ("close", "Kommun B får besked om att ärendet är avslutat."),
        ("close_not_moved", "Kommun B och Kommun C får besked om att ärendet är avslutat"),
    ],
)
def test_each_confirmation_names_who_is_told(action: str, told: str) -> None:
    words = confirmation(action, counterpart="Kommun B", asked=["Kommun B", "Kommun C"])
    assert words.told.startswith(told)
    assert words.title.endswith("?")
    assert words.button.startswith("Ja, ")


def test_every_confirmed_action_has_words() -> None:
    for action in CONFIRMED:
        assert confirmation(action, counterpart="Kommun B", asked=[]).happens


def test_names_in_words() -> None:
    assert names_in_words([]) == ""
    assert names_in_words(["Kommun B"]) == "Kommun B"
    assert names_in_words(["B", "C", "D"]) == "B, C och D"
