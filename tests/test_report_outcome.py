"""The outcome report (hub/report/outcome.py): categories only, read strictly."""

from __future__ import annotations

import json

import pytest

from hub.report.outcome import (
    FIELD_LABELS,
    NOT_MOVED_REASON_LABELS,
    TARGET_GROUP_LABELS,
    NotMovedReason,
    OutcomeReport,
    TargetGroup,
)

MOVED = {
    "target_group": "woman_with_children",
    "moved": True,
    "receiving_municipality": "vasteras",
    "not_moved_reason": None,
}
NOT_MOVED = {
    "target_group": "man_without_children",
    "moved": False,
    "receiving_municipality": None,
    "not_moved_reason": "no_housing",
}


def test_a_moved_report_round_trips_through_json():
    """What the inbox sends is what the hub reads back, key for key."""
    report = OutcomeReport.from_json(MOVED)
    assert report == OutcomeReport(
        target_group=TargetGroup.WOMAN_WITH_CHILDREN, moved=True, receiving_municipality="vasteras"
    )
    assert report.to_json() == MOVED
    assert OutcomeReport.from_json(json.loads(json.dumps(report.to_json()))) == report


def test_a_not_moved_report_round_trips_through_json():
    report = OutcomeReport.from_json(NOT_MOVED)
    assert report.not_moved_reason is NotMovedReason.NO_HOUSING
    assert report.to_json() == NOT_MOVED


def test_the_key_that_does_not_apply_may_be_left_out():
    """A client may leave out receiving_municipality when the person did not move."""
    data = {"target_group": "man_with_children", "moved": False, "not_moved_reason": "other"}
    assert OutcomeReport.from_json(data).receiving_municipality is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"moved": "yes"}, "moved", "true eller false"),
        ({"moved": 1}, "moved", "true eller false"),
        ({"target_group": "child"}, "target_group", "ska vara ett av"),
        ({"target_group": 3}, "target_group", "ska vara ett av"),
        (
            {"receiving_municipality": None},
            "receiving_municipality",
            "krävs när flytten genomfördes",
        ),
        ({"receiving_municipality": 7}, "receiving_municipality", "text"),
        ({"not_moved_reason": "other"}, "not_moved_reason", "ska vara tomt"),
        (
            {"receiving_municipality": "flyttade till Sala p.g.a. hot"},
            "receiving_municipality",
            "id",
        ),
    ],
)
def test_a_moved_report_with_a_wrong_field_is_refused_naming_the_field(
    change: dict[str, object], field: str, words: str
):
    """Each refusal is a Swedish sentence that names the field, in code and in words."""
    with pytest.raises(ValueError, match=field) as refused:
        OutcomeReport.from_json({**MOVED, **change})
    assert words in str(refused.value)
    assert FIELD_LABELS[field] in str(refused.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"not_moved_reason": None}, "not_moved_reason"),
        ({"not_moved_reason": "housing_shortage!"}, "not_moved_reason"),
        ({"receiving_municipality": "sala"}, "receiving_municipality"),
    ],
)
def test_a_not_moved_report_must_give_a_reason_and_no_municipality(
    change: dict[str, object], field: str
):
    with pytest.raises(ValueError, match=field):
        OutcomeReport.from_json({**NOT_MOVED, **change})


def test_unknown_keys_are_refused_so_no_free_text_can_ride_along():
    """A comment field, however it is named, never reaches the hub in clear."""
    with pytest.raises(ValueError, match="okända fält: comment"):
        OutcomeReport.from_json({**MOVED, "comment": "hon flyttade till en etta nära skolan"})


def test_a_missing_required_field_is_named():
    with pytest.raises(ValueError, match="target_group"):
        OutcomeReport.from_json({"moved": True, "receiving_municipality": "sala"})


@pytest.mark.parametrize("data", [[], "moved", None, 3])
def test_anything_but_an_object_is_refused(data: object):
    with pytest.raises(ValueError, match="JSON-objekt"):
        OutcomeReport.from_json(data)


def test_the_receiving_municipality_must_be_a_member_when_the_members_are_given():
    with pytest.raises(ValueError, match="ingen kommun i nätverket"):
        OutcomeReport.from_json(MOVED, members={"sala", "koping"})
    assert OutcomeReport.from_json(MOVED, members={"vasteras"}).moved


def test_the_dataclass_checks_itself_too():
    """Built in code (not from JSON), an inconsistent report is refused all the same."""
    with pytest.raises(ValueError, match="not_moved_reason"):
        OutcomeReport(target_group=TargetGroup.MAN_WITH_CHILDREN, moved=False)
    with pytest.raises(ValueError, match="target_group"):
        OutcomeReport(
            target_group="man",  # type: ignore[arg-type]
            moved=False,
            not_moved_reason=NotMovedReason.OTHER,
        )


def test_every_category_has_a_swedish_label():
    assert set(TARGET_GROUP_LABELS) == set(TargetGroup)
    assert set(NOT_MOVED_REASON_LABELS) == set(NotMovedReason)
    assert TARGET_GROUP_LABELS[TargetGroup.WOMAN_WITH_CHILDREN] == "Kvinna med barn"


def test_children_are_in_the_two_groups_with_children():
    assert {t for t in TargetGroup if t.with_children} == {
        TargetGroup.WOMAN_WITH_CHILDREN,
        TargetGroup.MAN_WITH_CHILDREN,
    }


def test_the_contact_person_sees_exactly_what_the_coordinator_will_see():
    """The preview lists every field in Swedish, the municipality by name, and nothing else."""
    moved = OutcomeReport.from_json(MOVED).shown_rows({"vasteras": "Västerås"})
    assert moved == (
        ("Målgrupp", "Kvinna med barn"),
        ("Flytten genomfördes", "Ja"),
        ("Mottagande kommun", "Västerås"),
    )
    not_moved = OutcomeReport.from_json(NOT_MOVED).shown_rows({})
    assert not_moved[-1] == ("Skäl", "Bostad kunde inte ordnas i den mottagande kommunen")
