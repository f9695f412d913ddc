"""`hub inbox`: the contact person's local inbox agent. It unlocks the keys, signs in to the
hub, follows its live channel, and serves the web inbox on 127.0.0.1 only, to this person's
own browser, behind a one-time launch token."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.client.api import HubClient, RemoteError
from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity
from hub.errors import ApiError, AuthorityError
from hub.inbox import board
from hub.inbox.cache import InboxCache
from hub.inbox.facts import who_am_i
from hub.inbox.pages import (
    attachment,
    case,
    compose,
    inbox_list,
    keys,
    list_filter,
    notices,
    outcome,
    pre_inquiry,
    removal,
    status,
    uploads,
)
from hub.inbox.search_index import SearchIndex
from hub.inbox.sync import AgentCore
from hub.localagent import launch, lock, security
from hub.localagent.previous_keys import read_previous_keys

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("hub.inbox")
STATIC = Path(__file__).with_name("static")
CACHE_PURPOSE = b"hub-cache/v1"
IDENTITY_NAME = "identity.key"  # in the key folder: the person's encrypted private keys
CONTACT_ROLE = "contact_person"  # the directory role whose holders have an inbox


@dataclass(frozen=True)
class InboxConfig:
    hub_url: str
    network: str
    keys_dir: Path
    port: int = 0  # 0: a free port
    cache_dir: Path | None = None  # default: keys_dir / "inbox-cache"
    allow_insecure: bool = False
    # where a launcher asks the running agent for a fresh link (hub.localagent.control)
    control_socket: Path | None = None


def init_inbox(
    core: AgentCore | lock.Keeper[Any],
    auth: security.LocalAuth,
    *,
    max_attachment_mb: int = uploads.MAX_ATTACHMENT_MB,
) -> web.Application:
    """The inbox's pages, for an agent already open (`core`) or for the one a Keeper unlocks
    (it may turn out to be a county board's: "/" then shows its notes);
    `max_attachment_mb`: the most a form's attachments may weigh (MiB), with room for the
    form's text on top."""
    app = launch.guarded_app(
        auth,
        STATIC,
        middlewares=[notices.error_pages],
        client_max_size=(max_attachment_mb + 5) * uploads.MIB,
    )
    app[notices.FLASH] = notices.Flashes()
    app[uploads.MAX_ATTACHMENTS] = max_attachment_mb * uploads.MIB
    keeper = core if isinstance(core, lock.Keeper) else lock.Keeper(None, held=core)
    keeper.forget_at_lock.append(app[notices.FLASH].clear)
    lock.lockable(app, keeper)
    app[inbox_list.BANNERS] = inbox_list.BannerMemo()
    app[list_filter.SEARCH] = search = SearchIndex()
    app[list_filter.SEARCHES] = searches = list_filter.Searches()
    keeper.forget_at_lock += [search.forget, searches.clear]  # in memory while unlocked (G-L1)
    app[compose.DRAFTS] = asyncio.Lock()
    r = app.router
    r.add_get("/", _front_page)
    r.add_get("/ny", compose.compose)
    r.add_post("/ny", compose.compose)
    r.add_post("/ny/granska", compose.review)
    r.add_post("/ny/spara", compose.save_draft)
    r.add_post("/ny/autospara", compose.autosave_draft)
    r.add_post("/ny/skicka", compose.send)
    r.add_get("/forhandsforfragan", pre_inquiry.pre_inquiry_page)
    r.add_post("/forhandsforfragan", pre_inquiry.pre_inquiry_send)
    r.add_get("/arende/{case_id}", case.case_page)
    r.add_get("/arende/{case_id}/pdf", case.case_pdf)
    r.add_get("/arende/{case_id}/bilaga/{message_id}/{index:\\d+}", attachment.attachment)
    r.add_post("/arende/{case_id}/utfall", outcome.outcome_change)
    r.add_post("/arende/{case_id}/utfall/granska", outcome.outcome_review)
    r.add_post("/arende/{case_id}/utfall/skicka", outcome.outcome_send)
    r.add_get("/arende/{case_id}/ta-bort", removal.removal_page)
    r.add_post("/arende/{case_id}/ta-bort", removal.remove)  # before the actions' route
    r.add_post("/arende/{case_id}/{action}", case.case_action)
    r.add_post("/sok", list_filter.search_posted)
    r.add_get("/status.json", status.status)
    r.add_get("/nycklar", keys.keys_page)
    r.add_post("/nycklar/kontrollerad", keys.keys_checked)
    r.add_post("/nycklar/bekraftad/{serial}", keys.own_change_acknowledged)
    r.add_post("/meddelande/stang", notices.dismiss)
    return app


async def _front_page(request: web.Request) -> web.StreamResponse:
    if isinstance(request.app[lock.KEEPER].held, board.BoardCore):
        return await board.notes_page(request)
    return await inbox_list.inbox(request)


async def open_core(
    config: InboxConfig,
    identity: PrivateIdentity,
    admin_public: bytes,
    previous: tuple[PrivateIdentity, ...] = (),
) -> AgentCore | board.BoardCore:
    cache = await InboxCache.open(
        config.cache_dir or config.keys_dir / "inbox-cache", identity.local_key(CACHE_PURPOSE)
    )
    # A county board's key gets its own small inbox: the outcome notes sealed to it. Any other
    # role but a contact person's has no inbox at all: the coordinator follows the network up
    # with `hub uppfoljning` and never sees a case.
    kind: type[AgentCore | board.BoardCore] = AgentCore
    role = None
    try:
        role = await _role_of(config, identity, admin_public)
    except AuthorityError:  # the hub and the administrator disagree on who we are: stop
        await cache.close()
        raise
    except RemoteError as exc:
        if exc.code != "enrolment_rejected":
            log.info(
                "hub refused at start (%s): the role is taken to be a contact person's", exc.code
            )
        else:  # the administrator rejected this key: say so, in Swedish, and stop
            await cache.close()
            raise ApiError("enrolment_rejected") from None
    except Exception:  # noqa: BLE001 - offline: a contact person's inbox, as before
        log.info("hub unreachable at start: the role is taken to be a contact person's")
    if role == board.ROLE:
        kind = board.BoardCore
    elif role not in {None, CONTACT_ROLE}:
        await cache.close()
        raise ValueError(
            f"nyckeln hör till rollen {role}, som inte har någon inkorg; "
            "samordnaren följer upp nätverket med hub uppfoljning"
        )
    core = kind(
        config.hub_url,
        config.network,
        identity,
        admin_public,
        cache,
        allow_insecure=config.allow_insecure,
        previous=previous,
    )
    with contextlib.suppress(Exception):  # offline start is fine: the page says so
        await core.connect()
        await core.sync()
    return core


async def _role_of(config: InboxConfig, identity: PrivateIdentity, admin_public: bytes) -> str:
    """Our role from our key's signed directory entry (the hub's sign-in answer must agree)."""
    async with HubClient(
        config.hub_url, config.network, allow_insecure=config.allow_insecure
    ) as client:
        signed_in = await client.sign_in(identity)
        directory = await client.directory(admin_public)
    hub_says = (signed_in.municipality, signed_in.role)
    return str(who_am_i(directory, identity, int(time.time()), hub_says=hub_says).role)


def keeper_for(
    config: InboxConfig, admin_public: bytes, *, idle_minutes: int = lock.IDLE_DEFAULT
) -> lock.Keeper[Any]:
    """The agent, locked: the passphrase typed in the page opens the key file in
    `config.keys_dir`, then the cache, the session and the catching up (open_core)."""

    async def opener(passphrase: str) -> AgentCore | board.BoardCore:
        path = config.keys_dir / IDENTITY_NAME
        identity = await asyncio.to_thread(keyfile.read_keyfile, path, passphrase)
        if not isinstance(identity, PrivateIdentity):
            raise ValueError("nyckelfilen är inte en kontaktpersons nyckel")
        previous = await asyncio.to_thread(read_previous_keys, config.keys_dir, passphrase)
        return await open_core(config, identity, admin_public, previous)

    return lock.Keeper(opener, closer=_close, idle_minutes=idle_minutes)


async def _close(core: AgentCore | board.BoardCore) -> None:
    try:
        await core.close()
    finally:
        await core.cache.close()


async def serve(  # noqa: PLR0913 - past the three, keyword-only options
    config: InboxConfig,
    identity: PrivateIdentity | None,
    admin_public: bytes,
    *,
    open_browser: bool,
    idle_minutes: int = lock.IDLE_DEFAULT,
    previous: tuple[PrivateIdentity, ...] = (),
) -> None:
    """Serve the inbox on 127.0.0.1, locked until the person unlocks it in the page, or
    unlocked from the start with `identity` (a passphrase given on the command line)."""
    keeper = keeper_for(config, admin_public)
    keeper.set_idle(idle_minutes)  # ValueError for a time the page does not offer
    if identity is not None:
        keeper.held = await open_core(config, identity, admin_public, previous)
        keeper.locked_at = None
    auth = security.LocalAuth("http://127.0.0.1:0")  # launch.serve binds, then tells it the port
    app = init_inbox(keeper, auth)
    await launch.serve(
        app,
        auth,
        port=config.port,
        name="Inkorgen",
        open_browser=open_browser,
        control_socket=config.control_socket,
    )
