"""docs/threat-model.md says what holds, and names the tests that prove it: every [code] claim
names at least one test, and every test it names is one pytest collects. The document's
status-marker paragraph describes the form; this file is its parser."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "threat-model.md"

CODE, PLANNED = "[code]", "[planned]"
# A named test: a backticked pytest node id under tests/, e.g.
# `tests/test_envelope.py::test_any_truncation_is_refused` or, for one case of a parametrized
# test, `tests/test_envelope_vectors.py::test_tampered_vector_gives_its_error_and_leaves_nothing[zero recipients]`.
TEST_ID = re.compile(r"`(tests/[^`\s]+\.py::[^`]+)`")
CHECK_ROW = re.compile(r"^\|\s*[ORKG]\d+\s*\|")  # a row of §4's tables: O1, R5, K3, G12 …


def _lines(text: str) -> list[tuple[int, str, bool]]:
    """Each line with its number and whether it belongs to the status-marker paragraph, which
    explains the markers and makes no claim."""
    out = []
    explaining = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("**Status markers.**"):
            explaining = True
        elif not line.strip():
            explaining = False
        out.append((number, line, explaining))
    return out


def claims(text: str) -> list[tuple[int, str]]:
    """The lines that make a claim: table rows and `Status:` lines, with their line numbers."""
    return [
        (number, line)
        for number, line, explaining in _lines(text)
        if not explaining and line.startswith(("|", "Status:"))
    ]


def named_tests(line: str) -> list[str]:
    return TEST_ID.findall(line)


def problems(text: str, collected: set[str]) -> list[str]:
    """Everything wrong with the document's claims, given the node ids pytest collects. A named
    id matches a collected id exactly, or the base id of a parametrized one (`…::test_x`
    matches `…::test_x[case]`)."""
    bases = {node.split("[", 1)[0] for node in collected}
    found = [
        f"line {number}: a [code] marker outside a table row or Status: line"
        for number, line, explaining in _lines(text)
        if CODE in line and not explaining and not line.startswith(("|", "Status:"))
    ]
    for number, line in claims(text):
        tests = named_tests(line)
        if CODE in line and not tests:
            found.append(f"line {number}: a [code] row names no test")
        if CODE in line and PLANNED in line:
            found.append(f"line {number}: a row is both [code] and [planned]")
        if CHECK_ROW.match(line) and CODE not in line and PLANNED not in line:
            found.append(f"line {number}: a check row carries neither [code] nor [planned]")
        found.extend(
            f"line {number}: names {test}, which pytest does not collect"
            for test in tests
            if test not in collected and test not in bases
        )
    return found


@cache
def collected_ids() -> frozenset[str]:
    """Every node id pytest collects in this repository, by pytest's own collection."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    ids = frozenset(line.strip() for line in run.stdout.splitlines() if "::" in line)
    assert len(ids) > 100, run.stdout[-2000:]
    return ids


def test_every_code_claim_names_tests_that_pytest_collects() -> None:
    """Each [code] row of the threat model names a test, and each test it names exists."""
    text = DOC.read_text(encoding="utf-8")
    assert problems(text, set(collected_ids())) == []
    assert sum(CODE in line for _, line in claims(text)) >= 50  # the parser found the rows


def test_the_status_paragraph_describes_the_test_form() -> None:
    """The document says how a row names its tests, with an example this parser reads."""
    text = DOC.read_text(encoding="utf-8")
    paragraph = text.split("**Status markers.**", 1)[1].split("\n\n", 1)[0]
    assert "tests:" in paragraph
    assert named_tests(paragraph)


def test_this_test_is_collected_under_the_id_the_document_uses() -> None:
    """The collection the check relies on sees parametrized tests and their base ids."""
    ids = collected_ids()
    assert (
        "tests/test_threat_model.py::test_every_code_claim_names_tests_that_pytest_collects" in ids
    )
    assert any(i.startswith("tests/test_envelope_vectors.py::test_tampered_vector_") for i in ids)


SAMPLE_IDS = {
    "tests/test_a.py::test_real",
    "tests/test_a.py::test_param[one case]",
}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("| X1 | a claim | `code` | [code] tests: `tests/test_a.py::test_real` |", []),
        ("| X1 | a claim | `code` | [code] tests: `tests/test_a.py::test_param` |", []),
        ("| X1 | a claim | [code] tests: `tests/test_a.py::test_param[one case]` |", []),
        ("| a claim | [planned] |", []),
        ("Status: **[code]**, tests: `tests/test_a.py::test_real`", []),
        ("| X1 | a claim | `code` | [code] |", ["line 1: a [code] row names no test"]),
        ("Status: **[code]**", ["line 1: a [code] row names no test"]),
        (
            "| X1 | a claim | [code] tests: `tests/test_a.py::test_gone` |",
            ["line 1: names tests/test_a.py::test_gone, which pytest does not collect"],
        ),
        (
            "| X1 | a claim | [code] tests: `tests/test_a.py::test_param[another case]` |",
            [
                (
                    "line 1: names tests/test_a.py::test_param[another case], "
                    "which pytest does not collect"
                )
            ],
        ),
        (
            "| a claim | [planned] tests: `tests/test_b.py::test_real` |",
            ["line 1: names tests/test_b.py::test_real, which pytest does not collect"],
        ),
        (
            "| O3 | own stanza | `envelope_not_recipient` |",
            ["line 1: a check row carries neither [code] nor [planned]"],
        ),
        (
            "### 4.1 A heading **[code]**",
            ["line 1: a [code] marker outside a table row or Status: line"],
        ),
        (
            "| R1 | x | [code] [planned] tests: `tests/test_a.py::test_real` |",
            ["line 1: a row is both [code] and [planned]"],
        ),
    ],
)
def test_the_parser_finds_what_is_wrong(row: str, expected: list[str]) -> None:
    """A [code] row without a test, or naming a test pytest does not collect, is reported."""
    assert problems(row, SAMPLE_IDS) == expected


def test_the_status_paragraph_is_not_a_claim() -> None:
    """The paragraph that explains the markers may show them without naming a test."""
    text = (
        "**Status markers.** **[code]** = proven, tests: `tests/test_a.py::test_real`.\nMore.\n\n"
    )
    assert problems(text, SAMPLE_IDS) == []
    assert problems(text + "| X | [code] |\n", SAMPLE_IDS) == ["line 4: a [code] row names no test"]
