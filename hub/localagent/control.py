"""The running agent's control channel: how `hub inbox` run again, or the desktop launcher,
gets a fresh one-time link from the agent already running for this operating-system user.

It is a Unix socket in the user's runtime folder (places.runtime_dir(), 0700), itself 0600,
and the agent answers only a peer of its own uid where the system tells (SO_PEERCRED): never
the loopback port alone, which every user of a terminal server shares. The only request is
`link`; the answer is a new launch link (the one before, if unused, stops working).

Windows and macOS: macOS has Unix sockets and the same modes (untested here). On Windows the
channel is to be a named pipe with the user's own ACL; until then `hub inbox` there cannot
reach a running agent and says so (docs: README, "On the contact person's PC")."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import sys
from typing import TYPE_CHECKING, Final

from hub.localagent import places

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

SOCKET_NAME: Final = "inbox.sock"
REQUEST: Final = b"link\n"
LIMIT: Final = 64  # bytes: the request is one short word
TIMEOUT: Final = 5.0


def socket_path() -> Path:
    return places.runtime_dir() / SOCKET_NAME


class ChannelError(OSError):
    pass


def _peer_uid(sock: socket.socket) -> int | None:
    """The connecting process's uid where the kernel tells (Linux: SO_PEERCRED)."""
    peercred = getattr(socket, "SO_PEERCRED", None)
    if peercred is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, peercred, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


@contextlib.asynccontextmanager
async def serving(fresh_link: Callable[[], str], path: Path | None = None) -> AsyncIterator[Path]:
    """Answer `link` on the control socket with `fresh_link()` while inside; the socket is
    removed on the way out. ChannelError when another agent already answers there."""
    if sys.platform == "win32":  # pragma: no cover - no Unix socket server in asyncio there
        raise ChannelError("kontrollkanalen finns inte för Windows ännu")
    path = path or socket_path()
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
        raise ChannelError(f"{folder} måste vara din egen och stängd för andra (0700)")
    if path.exists():
        try:
            await ask_for_link(path)
        except OSError:
            path.unlink()  # left by an agent that stopped without cleaning up
        else:
            raise ChannelError("inkorgen körs redan för den här användaren")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            uid = _peer_uid(sock) if sock is not None else None
            if uid is not None and uid != os.getuid():
                return
            request = await asyncio.wait_for(reader.readline(), TIMEOUT)
            if request == REQUEST:
                writer.write(fresh_link().encode() + b"\n")
                await writer.drain()
        except (OSError, TimeoutError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    old_umask = os.umask(0o177)  # the socket is born 0600, not chmod-ed afterwards
    try:
        server = await asyncio.start_unix_server(answer, path=str(path), limit=LIMIT)
    finally:
        os.umask(old_umask)
    try:
        os.chmod(path, 0o600)  # noqa: PTH101 - belt and braces: the mode does not hang on umask
        yield path
    finally:
        server.close()
        await server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


async def ask_for_link(path: Path | None = None) -> str:
    """A fresh one-time link from the agent running for this user; OSError (for instance
    FileNotFoundError, ConnectionRefusedError, PermissionError) when none answers."""
    if sys.platform == "win32":  # pragma: no cover - see the module's docstring
        raise ChannelError("kontrollkanalen finns inte för Windows ännu")
    path = path or socket_path()
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), TIMEOUT)
    try:
        writer.write(REQUEST)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    link = line.decode().strip()
    if not link.startswith("http://127.0.0.1:"):
        raise ChannelError("inkorgen som körs gav ingen länk")
    return link
