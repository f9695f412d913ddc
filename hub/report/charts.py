"""Horizontal bar charts as SVG strings, drawn on the server from suppressed values only.

What a chart must be, wherever it is shown (the hub's pages under a strict CSP, the PDF):
- self-contained: no script, no style attribute, no link or image, nothing fetched; patterns
  are defined inside the SVG itself and referred to by a fragment;
- accessible: role="img" with a <title> and a <desc> that lists every value in words, each
  bar labelled in text with its number, and series told apart by name and pattern, not by
  colour alone;
- honest about suppression: a value shown as "<3", "x" or ".." is drawn as a hatched
  placeholder of one fixed width with that mark beside it, never at a length that would give
  the hidden count away.
Every text is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from xml.sax.saxutils import escape

from hub.report.suppression import HIDDEN, NOT_SHOWN, SMALL

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hub.report.export import ReportTable

WIDTH: Final = 640
MARGIN: Final = 8
BAR_AREA: Final = 500  # the longest bar; the rest of the width holds the value's text
BAR_HEIGHT: Final = 18
LABEL_HEIGHT: Final = 18
GROUP_GAP: Final = 10
PLACEHOLDER_WIDTH: Final = 24  # every suppressed bar, whatever it hides
TEXT_COLOUR: Final = "#1a1a1a"
_SERIES_FILLS: Final = ("#1f4e79", "#8fb3d9")  # dark blue solid; light blue with stripes
_MARKS: Final = {SMALL: "under 3", HIDDEN: "dolt, 3 eller fler", NOT_SHOWN: "visas inte"}
_CHART_ID: Final = re.compile(r"[a-z][a-z0-9-]{0,40}")
_PERCENT: Final = re.compile(r"(\d+) %")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[str, ...]  # shown strings, one per label: "12", "<3", "x", "..", "67 %" or a dash


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
) -> str:
    """An SVG bar chart: one group of bars per label, one bar per series. `chart_id` must be
    unique on the page (it prefixes the ids of the title, the description and the patterns)."""
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError("chart_id: a-z, 0-9 and -, starting with a letter")
    if not series or any(len(s.values) != len(labels) for s in series):
        raise ValueError("every series needs one value per label")
    numbers = [n for s in series for v in s.values if (n := _number(v)) is not None]
    scale = BAR_AREA / max(numbers) if numbers and max(numbers) > 0 else 0.0
    legend = len(series) > 1
    y = MARGIN + (LABEL_HEIGHT + GROUP_GAP if legend else 0)
    body: list[str] = []
    if legend:
        body.append(_legend(chart_id, series))
    for i, label in enumerate(labels):
        y += LABEL_HEIGHT
        body.append(_text(MARGIN, y - 5, label))
        for n, one in enumerate(series):
            body.append(_Bar(chart_id, n, one.name if legend else "").draw(one.values[i], y, scale))
            y += BAR_HEIGHT + 2
        y += GROUP_GAP
    height = y + MARGIN
    summary = _summary(description, labels, series)
    return "".join(
        (
            (
                f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
                f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
                f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
                f'font-family="sans-serif" font-size="13" fill="{TEXT_COLOUR}">'
            ),
            f'<title id="{chart_id}-title">{escape(title)}</title>',
            f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
            _patterns(chart_id),
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
            *body,
            "</svg>",
        )
    )


def table_chart(
    table: ReportTable, columns: Sequence[int] = (0,), chart_id: str | None = None
) -> str:
    """A chart of some columns of a report table (its totals left out), titled as the table.
    E.g. the municipalities' quota against requests received: columns (0, 2) of "kommuner"."""
    labels = tuple(label for label, _ in table.column(0))
    series = [
        Series(table.columns[c], tuple(value for _, value in table.column(c))) for c in columns
    ]
    description = table.description or table.title
    return bar_chart(
        chart_id or f"diagram-{table.key.replace('_', '-')}",
        table.title,
        description,
        labels,
        series,
    )


def _number(value: str) -> int | None:
    if value.isdigit():
        return int(value)
    percent = _PERCENT.fullmatch(value)
    return int(percent.group(1)) if percent else None


@dataclass(frozen=True)
class _Bar:
    chart_id: str
    series: int
    name: str  # the series' name, said beside each value when there are several

    def draw(self, value: str, y: int, scale: float) -> str:
        said = f"{self.name}: {value}" if self.name else value
        text_y = y + BAR_HEIGHT - 4
        number = _number(value)
        if number is not None:
            width = round(number * scale)
            fill = _fill(self.chart_id, self.series)
            bar = (
                f'<rect x="{MARGIN}" y="{y}" width="{width}" height="{BAR_HEIGHT}" '
                f'fill="{fill}" stroke="{_SERIES_FILLS[0]}"/>'
                if width
                else ""
            )
            return bar + _text(MARGIN + width + 6, text_y, said)
        if value in _MARKS:
            placeholder = (
                f'<rect x="{MARGIN}" y="{y}" width="{PLACEHOLDER_WIDTH}" height="{BAR_HEIGHT}" '
                f'fill="url(#{self.chart_id}-hatch)" stroke="#595959" stroke-dasharray="3 2"/>'
            )
            return placeholder + _text(MARGIN + PLACEHOLDER_WIDTH + 6, text_y, said)
        return _text(MARGIN, text_y, said)  # a dash (no value): nothing to draw


def _fill(chart_id: str, series: int) -> str:
    return _SERIES_FILLS[0] if series % 2 == 0 else f"url(#{chart_id}-stripes)"


def _legend(chart_id: str, series: Sequence[Series]) -> str:
    parts = []
    x = MARGIN
    for n, one in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="{MARGIN + 2}" width="14" height="14" fill="{_fill(chart_id, n)}" '
            f'stroke="{_SERIES_FILLS[0]}"/>'
        )
        parts.append(_text(x + 20, MARGIN + 14, one.name))
        x += 40 + 8 * len(one.name)
    return "".join(parts)


def _patterns(chart_id: str) -> str:
    return (
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#f2f2f2"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8c8c8c" stroke-width="2"/></pattern>'
        f'<pattern id="{chart_id}-stripes" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{_SERIES_FILLS[1]}"/>'
        f'<line x1="0" y1="4" x2="8" y2="4" stroke="{_SERIES_FILLS[0]}" stroke-width="1"/>'
        "</pattern></defs>"
    )


def _text(x: int, y: int, text: str) -> str:
    return f'<text x="{x}" y="{y}">{escape(text)}</text>'


def _summary(description: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """The chart in words, for a screen reader: every label with every value."""
    items = []
    for i, label in enumerate(labels):
        said = ", ".join(
            f"{s.name} {_spoken(s.values[i])}" if len(series) > 1 else _spoken(s.values[i])
            for s in series
        )
        items.append(f"{label}: {said}")
    return f"{description} " + "; ".join(items) + "."


def _spoken(value: str) -> str:
    return _MARKS.get(value, value)
