"""How fast the inbox page renders with 10,000 cases in the local cache.

Run: .venv/bin/python -m benchmarks.inbox_render [--cases 10000] [--requests 300]

A real inbox agent (aiohttp, jinja2, aiosqlite cache with encrypted documents) serves GET /
over loopback to a client holding the session cookie; the hub is not running (the page is
rendered from the cache, as it is when the hub is unreachable). Goal: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from hub.crypto.keys import PrivateIdentity
from hub.inbox import security
from hub.inbox.agent import CACHE_PURPOSE, init_inbox
from hub.inbox.cache import InboxCache
from hub.inbox.sync import AgentCore

MUNICIPALITIES = [f"kommun-{i:02d}" for i in range(60)]


def _view(n: int, mine: bool) -> dict:
    sender = "kommun-00" if mine else MUNICIPALITIES[1 + n % 59]
    asked = [MUNICIPALITIES[1 + (n + k) % 59] for k in range(3)] if mine else ["kommun-00"]
    base = 1_790_000_000 + n * 600
    return {
        "case_id": n.to_bytes(16, "big").hex(),
        "from": sender,
        "outcome": None,
        "closed_at": None,
        "can_close_not_moved": mine,
        # What the agent works out when it stores a case: its nearest deadline.
        "local_due": {"date": "2026-12-08", "at": base + 14 * 86_400},
        "requests": [
            {
                "municipality": m,
                "state": "read",
                "history": [
                    {"event": "send_inquiry", "role": "sender", "at": base, "state": "sent"},
                    {"event": "deliver", "role": "system", "at": base + 60, "state": "delivered"},
                    {
                        "event": "read_receipt",
                        "role": "receiver",
                        "at": base + 3600,
                        "state": "read",
                    },
                ],
                "allowed_events": ["accept", "decline"],
            }
            for m in asked
        ],
    }


async def fill(cache: InboxCache, cases: int) -> None:
    for n in range(cases):
        mine = n % 2 == 0
        view = _view(n, mine)
        await cache.put_case(view, mine=mine, sort_key=-(1_790_000_000 + n * 600), closed=False)
        meta = {
            "message_id": os.urandom(16).hex(),
            "case_id": view["case_id"],
            "kind": 2,
            "from": view["from"],
            "to": [r["municipality"] for r in view["requests"]],
            "seq": n + 1,
            "created_at": 1_790_000_000,
            "received_at": 1_790_000_001,
            "digest": os.urandom(32).hex(),
        }
        await cache.put_envelope(meta, "sent" if mine else "inbox", b"x")
        if mine:
            await cache.put_receipt(
                bytes.fromhex(meta["message_id"]),
                view["requests"][0]["municipality"],
                "read",
                1_790_000_100,
            )


def _expect_ok(status: int) -> None:
    if status != 200:
        raise SystemExit(f"the inbox answered {status}")


async def main(cases: int, requests: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    identity = PrivateIdentity.generate()
    cache = await InboxCache.open(work / "cache", identity.local_key(CACHE_PURPOSE))
    started = time.perf_counter()
    await fill(cache, cases)
    print(f"cache filled with {cases} cases in {time.perf_counter() - started:.1f} s")
    core = AgentCore("http://127.0.0.1:9", "bench", identity, bytes(32), cache)
    core.municipality = "kommun-00"
    core.names = {m: f"Kommun {m[-2:]}" for m in MUNICIPALITIES}
    port = 18_765
    auth = security.LocalAuth(f"http://127.0.0.1:{port}")
    runner = web.AppRunner(init_inbox(core, auth), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.get(auth.launch_url) as r:
                _expect_ok(r.status)
            timings = []
            for _ in range(requests):
                t0 = time.perf_counter()
                async with s.get(auth.origin + "/") as r:
                    body = await r.read()
                    _expect_ok(r.status)
                timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        p95 = timings[int(0.95 * len(timings)) - 1]
        print(f"GET / with {cases} cases in the cache ({requests} requests, one at a time):")
        print(f"  page: {len(body) / 1024:.0f} KiB, the 200 most recent cases listed")
        print(
            f"  p50 {statistics.median(timings):.1f} ms   p95 {p95:.1f} ms   "
            f"p99 {timings[int(0.99 * len(timings)) - 1]:.1f} ms   max {timings[-1]:.1f} ms"
        )
        print(f"  goal p95 < 100 ms: {'met' if p95 < 100 else 'MISSED'}")
    finally:
        await runner.cleanup()
        await cache.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.requests))
