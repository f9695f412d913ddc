"""The local agents' guard (the inbox's and the follow-up's). An agent listens on 127.0.0.1 only,
yet any web page the person visits could try to reach it, so:

- a one-time launch token (printed and opened in the browser, as Jupyter does) becomes an
  HttpOnly, SameSite=Strict session cookie; nothing answers without it;
- the Host header must be this agent's own address (no DNS rebinding);
- every state-changing request must come from this origin and carry the session's CSRF token;
- every response carries a strict Content-Security-Policy and refuses framing and referrers.
"""

from __future__ import annotations

import hmac
import html
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from aiohttp.typedefs import Handler, Middleware

COOKIE = "inkorg_session"
CSRF = web.RequestKey("csrf", str)
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
OPEN_PATHS = ("/static/",)
START_PATH = "/start"


@dataclass
class LocalAuth:
    origin: str  # e.g. "http://127.0.0.1:8765": what the browser was told to open
    # The agent's name in its refusal pages: `product` as said in a sentence ("inkorgen"),
    # `title` in the page title, `stylesheet` its own. The defaults are the inbox's.
    product: str = "inkorgen"
    title: str = "Inkorg"
    stylesheet: str = "/static/inbox.css"
    launch_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> CSRF token

    @property
    def host(self) -> str:
        return self.origin.split("://", 1)[1]

    @property
    def launch_url(self) -> str:
        return f"{self.origin}{START_PATH}?token={self.launch_token}"

    def fresh_launch_url(self) -> str:
        """A new one-time link (the control channel's answer); an unused earlier one stops
        working. Sessions already open stay open."""
        self.launch_token = secrets.token_urlsafe(32)
        return self.launch_url

    def start_session(self, token: str) -> str | None:
        """Trade the one-time launch token for a session id; a second use gets nothing."""
        if not self.launch_token or not hmac.compare_digest(token, self.launch_token):
            return None
        self.launch_token = ""  # used: the URL in the terminal or the history opens nothing now
        session_id = secrets.token_urlsafe(32)
        self.sessions[session_id] = secrets.token_urlsafe(32)
        return session_id

    def csrf_for(self, request: web.Request) -> str | None:
        return self.sessions.get(request.cookies.get(COOKIE, ""))


def _same_origin(request: web.Request, origin: str) -> bool:
    """A state-changing request must come from the inbox's own pages.

    With `Referrer-Policy: no-referrer`, Chromium sends `Origin: null` on the inbox's own form
    posts, so the browser's `Sec-Fetch-Site` decides where it is sent; `Origin` must then be
    this origin or null, never another site's. The session cookie (SameSite=Strict) and the
    CSRF token are checked on top.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        return False
    sent = request.headers.get("Origin")
    return sent is None or sent == origin or (sent == "null" and fetch_site == "same-origin")


def _refuse(
    auth: LocalAuth, text: str, *, status: int = 403, title: str = "Åtkomst nekad"
) -> web.Response:
    """A refusal a person can read (and a screen reader can announce): a page in Swedish."""
    body = (
        '<!doctype html><html lang="sv"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}: {html.escape(auth.title)}</title>"
        f'<link rel="stylesheet" href="{html.escape(auth.stylesheet)}"></head>'
        f'<body><main class="wrap"><h1>{html.escape(title)}</h1>'
        f"<p>{html.escape(text)}</p></main></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


def guard(auth: LocalAuth) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.host != auth.host:
            return _refuse(auth, f"Fel adress: {auth.product} svarar bara på sin egen adress.")
        if request.method not in {"GET", "HEAD"} and not _same_origin(request, auth.origin):
            return _refuse(auth, "Begäran kom från en annan webbplats och avvisades.")
        if request.path == START_PATH or request.path.startswith(OPEN_PATHS):
            return await handler(request)
        csrf = auth.csrf_for(request)
        if csrf is None:
            return _refuse(
                auth,
                f"Du är inte inloggad i {auth.product}. "
                f"Öppna länken som skrevs ut när {auth.product} startade.",
            )
        request[CSRF] = csrf
        if request.method not in {"GET", "HEAD"}:
            refused = await _check_form(request, csrf, auth)
            if refused is not None:
                return refused
        return await handler(request)

    return middleware


async def _check_form(request: web.Request, csrf: str, auth: LocalAuth) -> web.Response | None:
    """A form post must carry the session's CSRF token; None when it does."""
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(
            auth,
            f"Det du skickade är större än {auth.product} tar emot. Välj mindre eller färre "
            "bilagor och försök igen: hur mycket som går att skicka står vid bilagorna.",
            status=413,
            title="För stora bilagor",
        )
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf):
        return _refuse(auth, "Formuläret saknar en giltig säkerhetskod. Ladda om sidan.")
    return None


def protect(headers: MutableMapping[str, str]) -> None:
    """The headers every response carries. The middleware adds them; a streamed response,
    whose headers leave before its handler returns, calls this before prepare()."""
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and errors carry the same headers
        protect(exc.headers)
        raise
    protect(response.headers)
    return response


AUTH = web.AppKey("auth", LocalAuth)  # the app's LocalAuth, for `start`


async def start(request: web.Request) -> web.StreamResponse:
    """START_PATH: the launch link's one-time token becomes the session cookie."""
    auth = request.app[AUTH]
    session_id = auth.start_session(request.query.get("token", ""))
    if session_id is None:
        return _refuse(
            auth, f"Länken är redan använd eller ogiltig. Starta {auth.product} igen för en ny."
        )
    response = web.HTTPSeeOther("/")
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Strict", path="/")
    raise response
