"""Attachments chosen in a form (Ny förfrågan, a message on the case page): the size limit over
them all, and each stored into the cache encrypted as it is read."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aiohttp.web_request import FileField
    from multidict import MultiDictProxy

    from hub.inbox.sync import AgentCore, StoredFile


MAX_ATTACHMENT_MB = 100


MIB = 1024 * 1024


MAX_ATTACHMENTS = web.AppKey("max_attachments", int)  # bytes, all of a form's files together


def _too_large(
    request: web.Request, files: list[FileField], kept: Sequence[StoredFile] = ()
) -> dict[str, str]:
    """The size limit over the chosen files and the draft's saved ones, said the way the
    compose page's help says it."""
    limit = request.app[MAX_ATTACHMENTS]
    total = sum(_size_of(f) for f in files) + sum(int(a["size"]) for a in kept)
    if total <= limit:
        return {}
    return {
        "attachments": f"Bilagorna är för stora: {_megabytes(total)} MB. "
        f"Högst {limit // MIB} MB sammanlagt går att skicka."
    }


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f}".replace(".", ",")


def _files(form: MultiDictProxy[Any]) -> list[FileField]:
    """The form's chosen files (aiohttp has put each in a temporary file, not in memory)."""
    return [
        f for f in form.getall("attachments", []) if isinstance(f, web.FileField) and f.filename
    ]


def _size_of(field: FileField) -> int:
    field.file.seek(0, io.SEEK_END)
    size = field.file.tell()
    field.file.seek(0)
    return size


async def _store(core: AgentCore, files: list[FileField]) -> list[StoredFile]:
    """Each file into the cache, encrypted chunk by chunk as it is read."""
    return [
        await core.store_attachment(
            f.filename, f.content_type or "application/octet-stream", f.file
        )
        for f in files
    ]
