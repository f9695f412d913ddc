"""A municipality that can lose everything at once: one valid contact-person key, so a stolen
or broken machine (or a person leaving) leaves nobody who can open its open cases (issue 17).
One rule and one wording, for `hub admin directory` and the administrator's pages alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hub.crypto.directory import Directory

__all__ = ["SINGLE_KEY", "SINGLE_KEY_ADVICE", "single_key_municipalities"]

SINGLE_KEY: Final = "en enda nyckel: sårbar"
SINGLE_KEY_ADVICE: Final = (
    "Om den nyckeln försvinner kan ingen öppna kommunens ärenden. "
    "Lägg till en andra kontaktperson med hub admin invite."
)


def single_key_municipalities(
    directory: Directory, municipalities: Iterable[str], at: int
) -> frozenset[str]:
    """Those of `municipalities` with exactly one contact-person key valid at `at`. None at all
    is another state (nobody can receive), which the callers name themselves."""
    return frozenset(m for m in municipalities if len(directory.valid_keys(m, at)) == 1)
