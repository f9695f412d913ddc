"""The annual report as PDF/A, for the yearly evaluation of the agreement: every table of the
year's report, the charts and the legend, rendered on this machine with weasyprint from
hub/templates/followup/pdf.html.

It uses the local agents' renderer (hub.localagent.pdf.html_to_pdf): PDF/A-3b, and a URL
fetcher that fetches nothing at all here: the report's stylesheet is handed over as a string,
so the document links to nothing. Rendering is CPU-bound and blocking: call
render_report_pdf through asyncio.to_thread on a server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.localagent.pdf import css_string, html_to_pdf
from hub.localagent.templates import environment
from hub.protocol.deadlines import STOCKHOLM
from hub.report.charts import table_chart

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from hub.report.export import Report

STYLESHEET: Final = Path(__file__).with_name("static") / "followup.css"
FONTS: Final = 'Arial, "Liberation Sans", "DejaVu Sans", sans-serif'

_TEMPLATES = environment()


@dataclass(frozen=True)
class Chart:
    heading: str
    svg: str  # built by hub.report.charts from shown strings only, every text escaped


def overview_charts(report: Report) -> list[Chart]:
    """The overview's four charts; the same on the pages and in the PDF."""
    places = report.table("kommuner")
    reciprocity = report.table("omsesidighet")
    days = report.table("svarstid")
    return [
        Chart("Mottagna förfrågningar per kommun", table_chart(places, (2,), "diagram-mottagna")),
        Chart("Svarstid", table_chart(days, (0,), "diagram-svarstid")),
        Chart("Kvot och mottagna förfrågningar", table_chart(places, (0, 2), "diagram-kvot")),
        Chart(
            "Ömsesidighet: skickade och mottagna",
            table_chart(reciprocity, (0, 1), "diagram-omsesidighet"),
        ),
    ]


def report_title(report: Report, network_name: str) -> str:
    return f"Årsrapport {report.year}: {network_name}"


def _page_css(network_name: str, generated: str) -> str:
    """Every page's margins: the network, when it was made, and the page number."""
    return f"""
@page {{
  size: A4;
  margin: 2cm 1.8cm;
  @top-left {{ content: {css_string(network_name)}; font: 9pt {FONTS}; color: #000000; }}
  @top-right {{ content: {css_string("Skapad " + generated)}; font: 9pt {FONTS}; color: #000000; }}
  @bottom-right {{ content: "Sida " counter(page) " av " counter(pages); font: 9pt {FONTS}; }}
}}
"""


def report_html(
    report: Report, *, network_name: str, generated: str, charts: Sequence[Chart]
) -> str:
    return _TEMPLATES.get_template("followup/pdf.html").render(
        report=report,
        title=report_title(report, network_name),
        network_name=network_name,
        generated_at=generated,
        charts=charts,
    )


def render_report_pdf(
    report: Report,
    *,
    network_name: str,
    generated_at: datetime,
    charts: Sequence[Chart] | None = None,
) -> bytes:
    """The year's report as a PDF/A file, in memory; `charts` default to the overview's."""
    if charts is None:
        charts = overview_charts(report)
    local = generated_at.astimezone(STOCKHOLM)
    generated = local.strftime("%Y-%m-%d %H:%M")
    html = report_html(report, network_name=network_name, generated=generated, charts=charts)
    css = STYLESHEET.read_text(encoding="utf-8") + _page_css(network_name, generated)
    return html_to_pdf(
        html,
        title=report_title(report, network_name),
        created=local.isoformat(timespec="seconds"),
        extra_css=css,
    )
