"""Run by tests/test_retention_crash.py and killed at a random moment: retention over the
cases tests/test_retention_crash.py stored, printing its progress as `hub gallra` does.

    python tests/crash_retention.py DATA_DIR NOW
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from hub.protocol.deadlines import SwedishCalendar
from hub.server import retention
from hub.storage.sqlite import SqliteStorage


async def main(data_dir: Path, now: int) -> None:
    storage = await SqliteStorage.open(data_dir, clean_uploads=False)
    try:
        print("started", flush=True)
        await retention.run(
            storage, now=now, calendar=SwedishCalendar(), say=lambda line: print(line, flush=True)
        )
        print("done", flush=True)
    finally:
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
