"""The follow-up pages: server-rendered, Swedish, no script. Each page shows what the hub handed
out (suppressed tables; for the administrator the contact list's metadata) and nothing else:
there is no case content on this side to show."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

import aiohttp
from aiohttp import web

from hub.client.api import RemoteError
from hub.crypto.keys import fingerprint_of
from hub.followup import document
from hub.followup.document import Chart, overview_charts
from hub.localagent import security
from hub.localagent.templates import TEMPLATES
from hub.protocol.deadlines import STOCKHOLM
from hub.protocol.fragility import SINGLE_KEY, SINGLE_KEY_ADVICE, single_key_municipalities
from hub.report.charts import Series, bar_chart

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from hub.crypto.directory import Directory, DirectoryEntry
    from hub.followup.agent import FollowupCore
    from hub.report.export import ReportRow, ReportTable

CORE: Final[web.AppKey[FollowupCore]] = web.AppKey("core")
EXPIRING_DAYS: Final = 30
YEARS_BACK: Final = 5
ROLE_LABELS: Final = {
    "coordinator": "Samordnare",
    "county_admin": "Länsstyrelsen",
    "county_board": "Länsstyrelsen",
    "contact_person": "Kontaktperson",
}
# The outbox's words, as `hub admin notices` says them.
NOTICE_STATUSES: Final = {"failed": "misslyckad", "unknown": "okänt om den kom fram"}
NOTICE_TOPICS: Final = {
    "new": "nytt meddelande",
    "due_soon": "tidsfrist snart",
    "due_today": "tidsfrist i dag",
    "overdue": "tidsfrist passerad",
}
NOTICE_AUDIENCES: Final = {"contacts": "kontaktperson", "manager": "ansvarig chef"}


class PageRefusedError(Exception):
    """A page this person may not see, or a request it cannot answer: shown as a page."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text


def _core(request: web.Request) -> FollowupCore:
    return request.app[CORE]


def render(
    request: web.Request, template: str, *, status: int = 200, **context: object
) -> web.Response:
    core = _core(request)
    page = (
        request.app[TEMPLATES]
        .get_template(f"followup/{template}")
        .render(
            network_name=core.network_name,
            role_label=ROLE_LABELS.get(core.role, ""),
            is_admin=core.is_admin,
            csrf=request.get(security.CSRF, ""),
            **context,
        )
    )
    return web.Response(status=status, text=page, content_type="text/html", charset="utf-8")


def _forbidden_role() -> PageRefusedError:
    return PageRefusedError(
        403,
        "Du har inte behörighet",
        "Nyckeln du loggade in med hör inte till en samordnare eller länsstyrelsen. "
        "Uppföljningen visar nätverkets statistik bara för dem. Är du kontaktperson: "
        "använd din inkorg (hub inbox).",
    )


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal, the hub's or the agent's own, as a Swedish page with its status."""
    if request.path.startswith(("/static/", security.START_PATH)):
        return await handler(request)
    try:
        if not _core(request).allowed:
            raise _forbidden_role()
        return await handler(request)
    except PageRefusedError as exc:
        refusal = exc
    except web.HTTPNotFound:
        refusal = PageRefusedError(
            404,
            "Sidan finns inte",
            "Uppföljningen har ingen sådan sida. Här visas bara statistik: aldrig ärenden, "
            "meddelanden eller bilagor.",
        )
    except RemoteError as exc:
        refusal = _remote_refusal(exc)
    except (aiohttp.ClientError, TimeoutError):
        refusal = PageRefusedError(
            503,
            "Hubben svarar inte",
            "Hubben går inte att nå just nu. Försök igen om en stund.",
        )
    return render(
        request, "error.html", status=refusal.status, title=refusal.title, text=refusal.text
    )


def _remote_refusal(exc: RemoteError) -> PageRefusedError:
    # The hub answers "forbidden" with 404, so that a route's existence says nothing.
    if exc.code in {"forbidden", "auth_required", "auth_failed"} or exc.status in {401, 403}:
        return PageRefusedError(
            403,
            "Du har inte behörighet",
            "Hubben vägrade: din nyckel har inte behörighet till det här. Uppföljningen är "
            "för samordnare och länsstyrelsen.",
        )
    if exc.status == 404:
        return PageRefusedError(404, "Finns inte", "Hubben har inget sådant.")
    return PageRefusedError(
        502, "Hubben svarade med ett fel", f"Hubben kunde inte svara (HTTP {exc.status})."
    )


# -- the year ---------------------------------------------------------------------------------


def this_year(core: FollowupCore) -> int:
    return datetime.fromtimestamp(core.clock(), STOCKHOLM).year


def _year(request: web.Request) -> int:
    newest = this_year(_core(request))
    text = request.query.get("ar", "")
    if not text:
        return newest
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise PageRefusedError(400, "Felaktigt år", "Ange året med fyra siffror, t.ex. 2026.")
    year = int(text)
    if not 2000 <= year <= newest:
        raise PageRefusedError(400, "Felaktigt år", f"Välj ett år från 2000 till {newest}.")
    return year


def _years(core: FollowupCore) -> list[int]:
    newest = this_year(core)
    return list(range(newest, newest - YEARS_BACK - 1, -1))


# -- the overview, a municipality, the downloads ----------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:  # noqa: ARG001
    raise web.HTTPSeeOther("/oversikt")


async def overview(request: web.Request) -> web.Response:
    core = _core(request)
    year = _year(request)
    report = await core.report(year)
    places = [r.label for r in report.table("kommuner").rows if not r.is_total]
    return render(
        request,
        "overview.html",
        nav="overview",
        year=year,
        years=_years(core),
        report=report,
        charts=overview_charts(report),
        places=[(name, _municipality_href(year, name)) for name in places],
    )


def _municipality_href(year: int, name: str) -> str:
    return f"/kommun?ar={year}&kommun={quote(name, safe='')}"


def _row(table: ReportTable, label: str) -> ReportRow | None:
    return next((r for r in table.rows if r.label == label and not r.is_total), None)


async def municipality(request: web.Request) -> web.Response:
    core = _core(request)
    year = _year(request)
    name = request.query.get("kommun", "")
    report = await core.report(year)
    places, reciprocity = report.table("kommuner"), report.table("omsesidighet")
    place, exchange = _row(places, name), _row(reciprocity, name)
    if place is None or exchange is None:
        raise PageRefusedError(
            404, "Kommunen finns inte", f"Det finns ingen sådan kommun i rapporten för {year}."
        )
    figures = dict(zip(places.columns, place.values, strict=True))
    exchanged = dict(zip(reciprocity.columns, exchange.values, strict=True))
    slug = "diagram-kommun"
    charts = [
        Chart(
            "Kvot och mottagna förfrågningar",
            bar_chart(
                f"{slug}-kvot",
                f"Kvot och mottagna förfrågningar {year}: {name}",
                "Kommunens kvot per år och antal mottagna förfrågningar.",
                [name],
                [
                    Series("Kvot per år", (figures["Kvot per år"],)),
                    Series("Mottagna förfrågningar", (figures["Mottagna förfrågningar"],)),
                ],
            ),
        ),
        Chart(
            "Skickade och mottagna",
            bar_chart(
                f"{slug}-utbyte",
                f"Skickade ärenden och mottagna förfrågningar {year}: {name}",
                "Ärenden kommunen skickade och förfrågningar den tog emot.",
                [name],
                [
                    Series("Skickade ärenden", (exchanged["Skickade ärenden"],)),
                    Series("Mottagna förfrågningar", (exchanged["Mottagna förfrågningar"],)),
                ],
            ),
        ),
    ]
    return render(
        request,
        "municipality.html",
        nav="overview",
        year=year,
        name=name,
        figures=figures,
        exchanged=exchanged,
        charts=charts,
        legend=report.legend,
    )


def _download(data: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def overview_csv(request: web.Request) -> web.Response:
    core = _core(request)
    year = _year(request)
    data = await core.csv(year)
    response = _download(data, "text/csv", f"uppfoljning-{year}.csv")
    response.charset = "utf-8"
    return response


async def overview_pdf(request: web.Request) -> web.Response:
    core = _core(request)
    year = _year(request)
    report = await core.report(year)
    now = datetime.fromtimestamp(core.clock(), UTC)
    pdf = await asyncio.to_thread(
        document.render_report_pdf,
        report,
        network_name=core.network_name,
        generated_at=now,
        charts=overview_charts(report),
    )
    return _download(pdf, "application/pdf", f"arsrapport-{year}.pdf")


# -- the county administrator's pages ----------------------------------------------------------


def _admin_only(core: FollowupCore) -> None:
    if not core.is_admin:
        raise PageRefusedError(
            403,
            "Bara för länsstyrelsen",
            "Den här sidan visar nätverkets kontaktlista och är bara för länsstyrelsen, som "
            "loggar in med nätverksnyckeln.",
        )


def _local(at: int | None) -> str:
    if not at:
        return "–"  # noqa: RUF001 - the en dash a Swedish table uses for "none"
    return datetime.fromtimestamp(at, STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def _day(at: int) -> str:
    return datetime.fromtimestamp(at, STOCKHOLM).strftime("%Y-%m-%d")


async def _names(core: FollowupCore) -> dict[str, str]:
    return {m.id: m.name for m in await core.municipalities()}


async def members(request: web.Request) -> web.Response:
    core = _core(request)
    _admin_only(core)
    found = await core.municipalities()
    directory = await core.directory()
    now = int(core.clock())
    fragile = single_key_municipalities(directory, (m.id for m in found), now)
    rows = [
        {
            "name": m.name,
            "id": m.id,
            "population": m.population,
            "valid_keys": len(directory.valid_keys(m.id, now)),
            "single_key": m.id in fragile,
        }
        for m in sorted(found, key=lambda m: m.name)
    ]
    return render(
        request,
        "members.html",
        nav="members",
        members=rows,
        single_key=SINGLE_KEY,
        advice=SINGLE_KEY_ADVICE if fragile else "",
    )


def key_state(directory: Directory, entry: DirectoryEntry, now: int) -> tuple[str, str]:
    """The key's state in words, and a class for the page: giltig, går ut inom 30 dagar,
    återkallad, utgången or not valid yet."""
    revocation = directory.revocation_for(entry.key_id)
    if revocation is not None and revocation.revoked_at <= now:
        return f"återkallad {_day(revocation.revoked_at)}", "state-revoked"
    if now < entry.not_before:
        return f"giltig från {_day(entry.not_before)}", "state-later"
    if now >= entry.not_after:
        return f"utgången {_day(entry.not_after)}", "state-revoked"
    if revocation is not None:
        return f"återkallas {_day(revocation.revoked_at)}", "state-expiring"
    if entry.not_after - now <= EXPIRING_DAYS * 86_400:
        return f"går ut inom 30 dagar ({_day(entry.not_after)})", "state-expiring"
    return "giltig", "state-valid"


async def contacts(request: web.Request) -> web.Response:
    core = _core(request)
    _admin_only(core)
    names = await _names(core)
    directory = await core.directory()
    now = int(core.clock())
    fragile = single_key_municipalities(directory, {e.municipality for e in directory.entries}, now)
    only_keys = {k.key_id for m in fragile for k in directory.valid_keys(m, now)}
    rows = []
    for entry in sorted(
        directory.entries,
        key=lambda e: (names.get(e.municipality, e.municipality), e.person, e.serial),
    ):
        state, css = key_state(directory, entry, now)
        rows.append(
            {
                "municipality": names.get(entry.municipality, entry.municipality) or "–",  # noqa: RUF001
                "person": entry.person,
                "role": ROLE_LABELS.get(str(entry.role), str(entry.role)),
                "key_id": entry.key_id.hex()[:16],
                "fingerprint": fingerprint_of(entry.signing_key),
                "until": _day(entry.not_after),
                "state": state,
                "css": css,
                "single_key": entry.key_id in only_keys,
            }
        )
    return render(
        request,
        "contacts.html",
        nav="contacts",
        contacts=rows,
        today=_day(now),
        single_key=SINGLE_KEY,
        advice=SINGLE_KEY_ADVICE if fragile else "",
    )


async def enrolments(request: web.Request) -> web.Response:
    core = _core(request)
    _admin_only(core)
    names = await _names(core)
    rows = [
        {
            "created": _local(int(e["created_at"])),
            "municipality": names.get(str(e["municipality"]), str(e["municipality"])),
            "person": str(e["person"]),
            "role": ROLE_LABELS.get(str(e["role"]), str(e["role"])),
            "key_id": str(e["key_id"])[:16],
        }
        for e in await core.enrolments()
    ]
    return render(request, "enrolments.html", nav="enrolments", enrolments=rows)


async def notices(request: web.Request) -> web.Response:
    core = _core(request)
    _admin_only(core)
    names = await _names(core)
    rows = [
        {
            "created": _local(n.created_at),
            "finished": _local(n.finished_at),
            "municipality": names.get(n.municipality, n.municipality),
            "audience": NOTICE_AUDIENCES.get(n.audience, n.audience),
            "address": n.address,
            "topic": NOTICE_TOPICS.get(n.topic, n.topic),
            "status": NOTICE_STATUSES.get(n.status, n.status),
            "attempts": n.attempts,
            "error": n.last_error or "–",  # noqa: RUF001
        }
        for n in await core.notices()
    ]
    return render(request, "notices.html", nav="notices", notices=rows)
