"""The PDF export of a case (GET /arende/{case_id}/pdf): rendered by the receiving contact
person's own agent with weasyprint, from a real inquiry sent through a real hub. Keeps a picture
of the first page under test-output/pdf/ when pdftoppm is on the machine."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import pypdf
import pytest
from aiohttp import web

from hub.inbox import forms, pdf
from hub.inbox.sync import Attachment
from hub.localagent import pdf as renderer
from tests.hubnet import free_port, running_hub
from tests.inboxnet import Agent, running_agent

OUTPUT = Path(__file__).resolve().parents[1] / "test-output" / "pdf"
CANARY = "KANARIE-pdf-3f9a"
SECRECY_MARK = "SEKRETESS \N{EN DASH} Offentlighets- och sekretesslagen (2009:400)"
PASSWD_LINE = "root:x:0:0"  # what /etc/passwd would show if the renderer ever read it


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


def _inquiry() -> dict[str, str]:
    """A whole inquiry, each field with its own findable value, long enough for two pages."""
    document = {}
    for number, field in enumerate(forms.INQUIRY_FIELDS, 1):
        if field.kind == "date":
            document[field.id] = "2026-11-24"
        else:
            document[field.id] = f"Uppgift {number:02d} om {field.label_sv.lower()}, åäö ÅÄÖ."
    document["bakgrund_till_placering"] = "\n".join(
        f"Stycke {i}: hotbilden är beskriven och bedömd av socialtjänsten. {CANARY}"
        for i in range(1, 40)
    )
    return document


def _squash(text: str) -> str:
    """Text without whitespace: where the PDF wraps a line does not matter to the checks."""
    return "".join(text.split())


def _text(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


async def _download(agent: Agent, case_id: str) -> tuple[bytes, dict[str, str]]:
    async with agent.session.get(f"{agent.url}/arende/{case_id}/pdf") as r:
        assert r.status == 200, await r.text()
        return await r.read(), dict(r.headers)


def _keep_first_page(data: bytes, name: str) -> None:
    """test-output/pdf/NAME.png, the first page as a person sees it (if pdftoppm is here)."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        return
    OUTPUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-", OUTPUT / name],
        input=data,
        check=True,
        timeout=60,
    )


def _pdfs_written_since(since: float, tmp_path: Path) -> list[Path]:
    """PDF files written since `since` where one could land: the test's folder (the agents'
    caches are there), the temporary folder (a temporary file would be), the working folder."""
    found = []
    places = [*tmp_path.rglob("*"), *Path(tempfile.gettempdir()).iterdir(), *Path.cwd().iterdir()]
    for path in places:
        try:
            if path.is_file() and path.stat().st_mtime >= since:
                with path.open("rb") as f:
                    if f.read(5) == b"%PDF-":
                        found.append(path)
        except OSError:
            continue
    return found


class Tripwire:
    """A web server on loopback that counts every request: the renderer must send it none."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        async def anything(request: web.Request) -> web.Response:
            self.hits.append(request.path)
            return web.Response(body=b"body { color: red }", content_type="text/css")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.runner.cleanup()


@pytest.fixture
def fetches(monkeypatch) -> list[tuple[str, bool]]:
    """Every URL the renderer asked for, and whether it was served."""
    seen: list[tuple[str, bool]] = []
    real = renderer.static_file

    def recording(url: str, static: Path) -> bytes:
        try:
            data = real(url, static)
        except renderer.FetchRefusedError:
            seen.append((url, False))
            raise
        seen.append((url, True))
        return data

    monkeypatch.setattr(renderer, "static_file", recording)
    return seen


async def test_the_receiver_downloads_the_inquiry_as_a_secret_marked_pdf(net, tmp_path, fetches):
    """B gets a PDF/A download of A's inquiry with every field, the secrecy mark and page numbers on every page, and A sees it was read."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        document = _inquiry()
        case_id = (
            await anna.core.send_inquiry(
                document,
                [Attachment("utredning.pdf", "application/pdf", b"%PDF-1.4 anonymiserad")],
                ["kommun-b"],
            )
        ).hex()
        await bertil.core.sync()
        started = time.time()
        data, headers = await _download(bertil, case_id)

        assert headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"] == f'attachment; filename="arende-{case_id[:8]}.pdf"'
        assert headers["Cache-Control"] == "no-store"
        _keep_first_page(data, "arende-forsta-sidan")

        reader = pypdf.PdfReader(io.BytesIO(data))
        text = _squash(_text(reader))
        for key, value in document.items():
            for line in value.splitlines():  # a page break may fall between two lines
                assert _squash(line) in text, key
        assert "utredning.pdf" in text  # listed by name; the attachment itself is not printed
        assert b"anonymiserad" not in data
        assert _squash("Förfrågan från Kommun A") in text
        assert len(reader.pages) >= 2
        for number, page in enumerate(reader.pages, 1):
            page_text = _squash(page.extract_text())
            assert _squash(SECRECY_MARK) in page_text
            assert _squash(f"Sida {number} av {len(reader.pages)}") in page_text
            assert "KommunB" in page_text  # the header: who exported it
            assert (
                _squash(
                    f"Utskriven {datetime.fromtimestamp(net.clock.now, UTC).astimezone():%Y-%m-%d}"
                )
                in page_text
            )

        # Archivable: PDF/A-3b, every font embedded; titled by case, no person's name.
        assert reader.metadata is not None
        assert reader.metadata.title == f"Förfrågan {case_id[:8]}"
        assert reader.metadata.author is None
        xmp = reader.xmp_metadata
        assert xmp is not None
        description = xmp.rdf_root.getElementsByTagNameNS(
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "Description"
        )
        pdfa = {
            attr: d.getAttributeNS("http://www.aiim.org/pdfa/ns/id/", attr)
            for d in description
            for attr in ("part", "conformance")
            if d.hasAttributeNS("http://www.aiim.org/pdfa/ns/id/", attr)
        }
        assert pdfa == {"part": "3", "conformance": "B"}
        fonts = [
            font.get_object()
            for page in reader.pages
            for font in page["/Resources"]["/Font"].values()
        ]
        assert fonts
        for font in fonts:
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, font["/BaseFont"]

        # Only the inbox's stylesheet was fetched, and the PDF was written nowhere.
        assert fetches == [(renderer.STATIC_URL + "inbox.css", True)]
        assert _pdfs_written_since(started, tmp_path) == []

        await anna.core.sync()
        _, page = await anna.page(f"/arende/{case_id}")
        assert "Förfrågan läst av Kommun B" in page  # the export read the inquiry: A is told so
        _, page = await bertil.page(f"/arende/{case_id}")
        assert f'href="/arende/{case_id}/pdf"' in page  # the case page offers the export


async def test_markup_and_file_references_in_an_inquiry_print_as_text_and_fetch_nothing(
    net, tmp_path, fetches
):
    """An inquiry holding an <img> to another server or a file:///etc/passwd reference prints those as plain text, and nothing is fetched."""
    async with (
        Tripwire() as tripwire,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        hostile = {
            "bakgrund_till_placering": f'<img src="{tripwire.url}/x.png">',
            "boende": f'<link rel="stylesheet" href="{tripwire.url}/s.css">',
            "barn": "file:///etc/passwd",
            "ovrigt": f'<style>@import url("{tripwire.url}/i.css")</style>'
            f'<img src="http://evil.example/x.png"><img src="file:///etc/passwd">',
        }
        case_id = (await anna.core.send_inquiry(hostile, [], ["kommun-b"])).hex()
        await bertil.core.sync()
        data, _ = await _download(bertil, case_id)
        _keep_first_page(data, "arende-med-markup")

        text = _squash(_text(pypdf.PdfReader(io.BytesIO(data))))
        for value in hostile.values():
            assert _squash(value) in text
        assert PASSWD_LINE not in text
        assert tripwire.hits == []
        assert fetches == [(renderer.STATIC_URL + "inbox.css", True)]


async def test_markup_that_reached_the_renderer_still_fetches_nothing(fetches):
    """Even if markup slipped past the template's escaping, the renderer would load no image, stylesheet or file from outside the inbox."""
    async with Tripwire() as tripwire:
        url = tripwire.url
        html = f"""<!doctype html><html lang="sv"><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/inbox.css">
<link rel="stylesheet" href="{url}/remote.css">
<link rel="attachment" href="file:///etc/passwd">
<link rel="attachment" href="{url}/bilaga.bin">
<style>@import url("{url}/import.css"); body {{ background: url("{url}/bg.png"); }}
@font-face {{ font-family: X; src: url("{url}/font.ttf"); }}</style></head>
<body class="pdf"><p>Text</p>
<img src="{url}/img.png"><img src="http://evil.example/x.png"><img src="file:///etc/passwd">
<img src="/static/../pdf.py"><img src="/static/%2e%2e/pdf.py">
<object data="{url}/object.svg"></object><embed src="{url}/embed.svg">
<svg xmlns="http://www.w3.org/2000/svg"><image href="{url}/svg.png" width="10" height="10"/></svg>
<iframe src="{url}/frame.html"></iframe>
</body></html>"""
        data = await asyncio.to_thread(renderer.html_to_pdf, html, title="Prov", static=pdf.STATIC)

    assert tripwire.hits == []
    served = [u for u, ok in fetches if ok]
    refused = {u for u, ok in fetches if not ok}
    assert served == [renderer.STATIC_URL + "inbox.css"]
    assert f"{url}/img.png" in refused
    assert "file:///etc/passwd" in refused
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.attachments == {}
    assert "Text" in _text(reader)


def test_only_the_inbox_static_folder_can_be_read():
    """The renderer can read the inbox's own stylesheet and no other file on the computer."""
    assert renderer.static_file(renderer.STATIC_URL + "inbox.css", pdf.STATIC).startswith(b"/*")
    for url in (
        renderer.STATIC_URL + "../pdf.py",
        renderer.STATIC_URL + "%2e%2e/pdf.py",
        renderer.STATIC_URL + "..\\pdf.py",
        renderer.STATIC_URL + "inbox.css?x=1",
        renderer.STATIC_URL,
        renderer.STATIC_URL + "nothing.css",
        renderer.BASE_URL + "arende/x",
        "file:///etc/passwd",
        "file://" + str(pdf.STATIC / "inbox.css"),
        "http://evil.example/static/inbox.css",
        "data:text/css,body{}",
    ):
        with pytest.raises(renderer.FetchRefusedError):
            renderer.static_file(url, pdf.STATIC)


def test_a_municipality_name_with_quotes_prints_as_written():
    """A municipality whose name holds quotes or a backslash still gets its name in the page header."""
    name = 'Kommun "Ö" \\ }; content: "x'
    context = {
        "case": {
            "case_id": "00112233445566778899aabbccddeeff",
            "from_name": "Kommun A",
            "to_names": ["Kommun B"],
            "state_label": "Läst",
            "history": [{"at": "2026-11-24 10:00", "text": "Kommun B: Förfrågan skickad"}],
            "receipts": [],
        },
        "document_sections": [{"title": "Boende", "fields": [{"label": "Boende", "value": "x"}]}],
    }
    data = pdf.render_case_pdf(
        context, municipality_name=name, generated_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    )
    reader = pypdf.PdfReader(io.BytesIO(data))
    header = reader.pages[0].extract_text()
    assert name in header
    assert reader.metadata is not None
    assert reader.metadata.title == "Förfrågan 00112233"


async def test_no_pdf_without_login_or_for_an_unknown_case(net, tmp_path):
    """The export answers only the logged-in person, and only for a case in their inbox."""
    async with running_agent(net, "anna", tmp_path) as anna:
        case_id = "00" * 16
        assert (await anna.page(f"/arende/{case_id}/pdf"))[0] == 403
        await anna.login()
        assert (await anna.page(f"/arende/{case_id}/pdf"))[0] == 404
        assert (await anna.page("/arende/inte-ett-id/pdf"))[0] == 404


async def test_the_thread_prints_with_the_decline_motivation(net, tmp_path):
    """The PDF for the case file includes the messages of the case, such as a decline's written motivation."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        case_id = await anna.core.send_inquiry(_inquiry(), [], ["kommun-b"])
        await bertil.core.sync()
        motivation = "Vi har redan tagit emot det överenskomna antalet ärenden i år."
        await bertil.core.answer(
            case_id,
            "decline",
            target="kommun-b",
            document={"reason": "quota_reached", "motivation": motivation},
            details={"reason": "quota_reached"},
        )
        await anna.core.sync()
        data, _ = await _download(anna, case_id.hex())
        text = _squash(_text(pypdf.PdfReader(io.BytesIO(data))))
        assert _squash("Meddelanden") in text
        assert _squash(motivation) in text
        assert _squash("Skäl: Det överenskomna antalet ärenden har redan tagits emot") in text
