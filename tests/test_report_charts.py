"""SVG bar charts (hub/report/charts.py): self-contained, accessible, true to suppression."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from hub.report.charts import PLACEHOLDER_WIDTH, Series, bar_chart, table_chart
from hub.report.export import report_tables
from tests.test_report_statistics import IDS, year_2027

SVG = "{http://www.w3.org/2000/svg}"


def received_chart(values: tuple[str, ...]) -> str:
    return bar_chart(
        "mottagna",
        "Mottagna förfrågningar",
        "Förfrågningar som nått varje kommuns inkorg.",
        ["Västerås", "Sala", "Köping", "Norberg"],
        [Series("Mottagna", values)],
    )


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, in a test


def texts(svg: str) -> list[str | None]:
    return [t.text for t in parse(svg).iter(f"{SVG}text")]


def bars(svg: str) -> list[ET.Element]:
    """The drawn bars: every rect but the background and those inside patterns and the legend."""
    root = parse(svg)
    patterns = {id(r) for p in root.iter(f"{SVG}pattern") for r in p.iter(f"{SVG}rect")}
    rects = [r for r in root.iter(f"{SVG}rect") if id(r) not in patterns]
    return [r for r in rects[1:] if r.get("width") != "14"]


def test_the_chart_is_valid_svg_with_a_title_and_a_description_for_screen_readers():
    svg = received_chart(("12", "<3", "x", "0"))
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "mottagna-title mottagna-desc"
    assert root.find(f"{SVG}title").text == "Mottagna förfrågningar"
    desc = root.find(f"{SVG}desc").text
    assert "Västerås: 12" in desc
    assert "Sala: under 3" in desc
    assert "Köping: dolt, 3 eller fler" in desc
    assert "Norberg: 0" in desc


def test_every_value_is_written_out_beside_its_bar():
    """Numbers in text, not only lengths: the chart reads without seeing colour or size."""
    assert texts(received_chart(("12", "<3", "x", "0"))) == [
        "Västerås",
        "12",
        "Sala",
        "<3",
        "Köping",
        "x",
        "Norberg",
        "0",
    ]


def test_a_suppressed_bar_is_a_placeholder_of_one_width_whatever_it_hides():
    """ "<3" and "x" are drawn hatched at the same fixed width, never at their length: a chart
    where the largest bar is 3 draws "<3" no longer than one where it is 300."""
    for largest in ("3", "300"):
        drawn = bars(received_chart((largest, "<3", "x", "0")))
        assert [r.get("width") for r in drawn] == [
            "500",
            str(PLACEHOLDER_WIDTH),
            str(PLACEHOLDER_WIDTH),
        ]
        assert all("hatch" in r.get("fill", "") for r in drawn[1:])


def test_bars_are_drawn_to_scale():
    drawn = bars(received_chart(("10", "5", "0", "3")))
    assert [r.get("width") for r in drawn] == ["500", "250", "150"]  # the 0 has no bar


def test_nothing_in_a_chart_is_fetched_or_run():
    """No script, no link, no style attribute, no image: it may sit under the strictest CSP and
    inside a PDF with nothing fetched. Patterns are referred to within the SVG itself."""
    svg = received_chart(("12", "<3", "x", "0"))
    lowered = svg.lower()
    for banned in ("<script", "href", "<image", "<foreignobject", "style=", "@import", "<a "):
        assert banned not in lowered
    assert set(re.findall(r"url\(([^)]*)\)", svg)) <= {"#mottagna-hatch", "#mottagna-stripes"}
    assert re.findall(r"https?://[^\"]*", svg) == ["http://www.w3.org/2000/svg"]  # the namespace


def test_text_is_escaped():
    """A name typed by a person cannot break out of the SVG."""
    svg = bar_chart(
        "escaped", "<b>&", "a</desc><script>x</script>", ['Å & "Ö"<script>'], [Series("n", ("3",))]
    )
    assert "<script>" not in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "<b>&"
    assert 'Å & "Ö"<script>' in [t.text for t in root.iter(f"{SVG}text")]


def test_two_series_are_told_apart_by_name_and_pattern_not_only_colour():
    """Quota against received: a legend in words, each value said with its series' name, and
    the second series striped."""
    svg = bar_chart(
        "kvot",
        "Kvot och mottagna",
        "Per kommun.",
        ["Sala", "Köping"],
        [Series("Kvot", ("3", "3")), Series("Mottagna", ("<3", "4"))],
    )
    shown = texts(svg)
    assert shown[:2] == ["Kvot", "Mottagna"]
    assert "Kvot: 3" in shown
    assert "Mottagna: <3" in shown
    assert "Mottagna: 4" in shown
    assert 'fill="url(#kvot-stripes)"' in svg


def test_a_chart_from_a_report_table_leaves_out_the_total():
    """The municipalities' quota against received, from the suppressed report: all members,
    no "Totalt" bar, and no case id."""
    report = report_tables(year_2027())
    svg = table_chart(report.table("kommuner"), (0, 2))
    shown = texts(svg)
    assert "Totalt" not in shown
    assert {"Arboga", "Västerås", "Norberg"} <= set(shown)
    assert 'id="diagram-kommuner-title"' in svg
    for case_id in IDS:
        assert case_id not in svg


def test_every_table_of_the_report_can_be_charted():
    report = report_tables(year_2027())
    for table in report.tables:
        if table.rows:
            parse(table_chart(table))


@pytest.mark.parametrize("chart_id", ["", "9x", "a b", 'a"b', "Stor"])
def test_a_chart_id_must_be_safe_to_use_as_an_id(chart_id: str):
    with pytest.raises(ValueError, match="chart_id"):
        bar_chart(chart_id, "t", "d", ["a"], [Series("n", ("1",))])


def test_every_series_needs_a_value_per_label():
    with pytest.raises(ValueError, match="one value per label"):
        bar_chart("c", "t", "d", ["a", "b"], [Series("n", ("1",))])
