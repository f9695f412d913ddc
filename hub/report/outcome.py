"""The outcome report (återrapport): what the sending municipality tells the network when a case
ends (domain.md §7, the Västmanland plan's list in seed 003).

It reaches the hub in clear by design, so it holds only categories chosen from lists: the
target group, whether the person moved, to which member municipality, and if not, a reason
category. The contact person is shown `shown_rows()` before sending: exactly what the
coordinator will see. There is no free-text field: words about a case go encrypted to the
county board's own key and never through this module.

Which municipalities were asked, and whether one of them had accepted, the hub already knows
from the case's lifecycle; the report does not repeat them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeVar

from hub.protocol.lifecycle import Outcome, RequestState

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from hub.protocol.lifecycle import Case


class TargetGroup(enum.StrEnum):
    WOMAN_WITHOUT_CHILDREN = "woman_without_children"
    WOMAN_WITH_CHILDREN = "woman_with_children"
    MAN_WITHOUT_CHILDREN = "man_without_children"
    MAN_WITH_CHILDREN = "man_with_children"

    @property
    def with_children(self) -> bool:
        return self in {TargetGroup.WOMAN_WITH_CHILDREN, TargetGroup.MAN_WITH_CHILDREN}


class NotMovedReason(enum.StrEnum):
    """Why a case ended without a move. Few categories on purpose: with 13-15 cases a year a
    finer list would only fill the tables with "<3"."""

    PERSON_WITHDREW = "person_withdrew"  # chose to stay, or withdrew consent to the move
    MOVED_ON_OWN = "moved_on_own"  # found a home elsewhere without the network
    NO_MUNICIPALITY = "no_municipality"  # no asked municipality could take the case
    NO_HOUSING = "no_housing"  # accepted, but no home could be found in the new municipality
    THREAT_CHANGED = "threat_changed"  # the threat or the situation changed; no move needed
    OTHER = "other"


TARGET_GROUP_LABELS: Final[Mapping[TargetGroup, str]] = MappingProxyType(
    {
        TargetGroup.WOMAN_WITHOUT_CHILDREN: "Kvinna utan barn",
        TargetGroup.WOMAN_WITH_CHILDREN: "Kvinna med barn",
        TargetGroup.MAN_WITHOUT_CHILDREN: "Man utan barn",
        TargetGroup.MAN_WITH_CHILDREN: "Man med barn",
    }
)
NOT_MOVED_REASON_LABELS: Final[Mapping[NotMovedReason, str]] = MappingProxyType(
    {
        NotMovedReason.PERSON_WITHDREW: (
            "Personen avstod från flytten eller återkallade sitt samtycke"
        ),
        NotMovedReason.MOVED_ON_OWN: "Personen ordnade boende på annat sätt",
        NotMovedReason.NO_MUNICIPALITY: "Ingen tillfrågad kommun kunde ta emot ärendet",
        NotMovedReason.NO_HOUSING: "Bostad kunde inte ordnas i den mottagande kommunen",
        NotMovedReason.THREAT_CHANGED: "Hotbilden eller situationen förändrades",
        NotMovedReason.OTHER: "Annat skäl",
    }
)
# The fields' names as the form and the error messages say them.
FIELD_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "target_group": "målgrupp",
        "moved": "flytten genomfördes",
        "receiving_municipality": "mottagande kommun",
        "not_moved_reason": "skäl till att flytten inte blev av",
    }
)

_E = TypeVar("_E", bound=enum.StrEnum)

# A municipality id as the hub stores it, and nothing that could carry a sentence.
_MUNICIPALITY_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _refuse(field: str, problem: str) -> ValueError:
    return ValueError(f"Utfallsrapporten: fältet {field} ({FIELD_LABELS[field]}) {problem}.")


@dataclass(frozen=True, kw_only=True)
class OutcomeReport:
    target_group: TargetGroup
    moved: bool
    receiving_municipality: str | None = None  # required iff moved
    not_moved_reason: NotMovedReason | None = None  # required iff not moved

    def __post_init__(self) -> None:
        if not isinstance(self.target_group, TargetGroup):
            raise _refuse("target_group", f"ska vara ett av {_choices(TargetGroup)}")
        if not isinstance(self.moved, bool):
            raise _refuse("moved", "ska vara true eller false")
        municipality, reason = self.receiving_municipality, self.not_moved_reason
        if self.moved:
            if municipality is None:
                raise _refuse("receiving_municipality", "krävs när flytten genomfördes")
            if reason is not None:
                raise _refuse("not_moved_reason", "ska vara tomt när flytten genomfördes")
        else:
            if municipality is not None:
                raise _refuse("receiving_municipality", "ska vara tomt när flytten inte blev av")
            if reason is None:
                raise _refuse("not_moved_reason", "krävs när flytten inte blev av")
        if municipality is not None and (
            not isinstance(municipality, str) or not _MUNICIPALITY_ID.fullmatch(municipality)
        ):
            raise _refuse("receiving_municipality", "ska vara en kommuns id i nätverket")
        if reason is not None and not isinstance(reason, NotMovedReason):
            raise _refuse("not_moved_reason", f"ska vara ett av {_choices(NotMovedReason)}")

    def to_json(self) -> dict[str, object]:
        """All four keys, the one that does not apply as null."""
        return {
            "target_group": self.target_group.value,
            "moved": self.moved,
            "receiving_municipality": self.receiving_municipality,
            "not_moved_reason": None
            if self.not_moved_reason is None
            else self.not_moved_reason.value,
        }

    @classmethod
    def from_json(cls, data: object, members: Collection[str] | None = None) -> OutcomeReport:
        """Read a report as to_json writes it, strictly: an unknown key, a wrong type or a
        combination that does not hold raises ValueError naming the field. With `members`,
        the receiving municipality must be one of them. A key that does not apply may be left
        out or null."""
        if not isinstance(data, dict):
            raise ValueError("Utfallsrapporten ska vara ett JSON-objekt.")
        unknown = sorted(k for k in data if k not in FIELD_LABELS)
        if unknown:
            names = ", ".join(
                k if isinstance(k, str) and k.isidentifier() else "?" for k in unknown
            )
            raise ValueError(f"Utfallsrapporten har okända fält: {names}.")
        for required in ("target_group", "moved"):
            if required not in data:
                raise _refuse(required, "saknas")
        report = cls(
            target_group=_enum(TargetGroup, "target_group", data["target_group"]),
            moved=_bool("moved", data["moved"]),
            receiving_municipality=_optional_str(
                "receiving_municipality", data.get("receiving_municipality")
            ),
            not_moved_reason=_optional_enum(
                NotMovedReason, "not_moved_reason", data.get("not_moved_reason")
            ),
        )
        if (
            members is not None
            and report.receiving_municipality is not None
            and report.receiving_municipality not in members
        ):
            raise _refuse("receiving_municipality", "är ingen kommun i nätverket")
        return report

    def shown_rows(self, municipality_names: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        """(label, value) in Swedish: what the contact person confirms before sending, and all
        the coordinator will ever see of this case."""
        rows = [
            ("Målgrupp", TARGET_GROUP_LABELS[self.target_group]),
            ("Flytten genomfördes", "Ja" if self.moved else "Nej"),
        ]
        if self.receiving_municipality is not None:
            name = municipality_names.get(self.receiving_municipality, self.receiving_municipality)
            rows.append(("Mottagande kommun", name))
        if self.not_moved_reason is not None:
            rows.append(("Skäl", NOT_MOVED_REASON_LABELS[self.not_moved_reason]))
        return tuple(rows)


def contradiction(case: Case, report: OutcomeReport) -> tuple[str, str] | None:
    """(field, sentence) where the report tells another story than the closed case, or None:
    moved or not, the municipality moved to, and a not-moved reason that the answers rule out
    ("no municipality could take it" after one said yes, "no housing there" when none did).
    The hub refuses such a report; the inbox says so before it is sent."""
    moved = case.outcome is Outcome.MOVED
    if report.moved != moved:
        said = "flytten blev av" if moved else "flytten blev inte av"
        return "moved", f"Enligt ärendet {said}."
    agreed = case.agreed_request
    if moved and agreed is not None and report.receiving_municipality != agreed.municipality:
        return (
            "receiving_municipality",
            "Mottagande kommun ska vara den kommun som ärendet avslutades med.",
        )
    ever_accepted = any(r.entered_at(RequestState.ACCEPTED) is not None for r in case.requests)
    reason = report.not_moved_reason
    if reason is NotMovedReason.NO_MUNICIPALITY and ever_accepted:
        return "not_moved_reason", "Enligt ärendet tackade en tillfrågad kommun ja."
    if reason is NotMovedReason.NO_HOUSING and not ever_accepted:
        return "not_moved_reason", "Enligt ärendet tackade ingen tillfrågad kommun ja."
    return None


def _choices(kind: type[enum.StrEnum]) -> str:
    return ", ".join(member.value for member in kind)


def _enum(kind: type[_E], field: str, value: object) -> _E:
    if not isinstance(value, str) or value not in {m.value for m in kind}:
        raise _refuse(field, f"ska vara ett av {_choices(kind)}")
    return kind(value)


def _optional_enum(kind: type[_E], field: str, value: object) -> _E | None:
    return None if value is None else _enum(kind, field, value)


def _bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _refuse(field, "ska vara true eller false")
    return value


def _optional_str(field: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _refuse(field, "ska vara en text (kommunens id) eller null")
    return value
