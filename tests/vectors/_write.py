"""How every vector generator renders, checks and writes its file."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def render(data: object, *, ensure_ascii: bool = True) -> str:
    """The text of a vector file: indented, sorted JSON and a final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + "\n"


def refuse_failures(failures: list[str]) -> None:
    """Stop before anything is written if any hand-written expectation does not hold."""
    if failures:
        raise SystemExit("vectors do not hold:\n" + "\n".join(failures))


def write_vectors(path: Path, text: str) -> None:
    """Write a rendered vector file as UTF-8 and say where."""
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
