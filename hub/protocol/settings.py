"""A network's agreed settings as the hub stores them: the defaults of the national network
(written once, hub.crypto.registry.NATIONAL) and the quota key (fördelningsnyckel) as the
operator types it. The deadline rules read them in hub/protocol/deadlines.py."""

from __future__ import annotations

import itertools

from hub.crypto.registry import NATIONAL

DEFAULT_SETTINGS = {
    "answer_days": NATIONAL.answer_days,
    "offer_response_days": NATIONAL.offer_response_days,
    "follow_up_months": NATIONAL.follow_up_months,
}
# Written as "from population: cases".
DEFAULT_QUOTA_KEY = ",".join(f"{population}:{cases}" for population, cases in NATIONAL.quota_key)


def parse_quota_key(text: str) -> list[list[int]]:
    """'0:1,10000:2,20001:3' -> [[0, 1], [10000, 2], [20001, 3]], checked."""
    bands = []
    try:
        for part in text.split(","):
            population, cases = part.split(":")
            bands.append([int(population), int(cases)])
    except ValueError:
        raise ValueError("fördelningsnyckeln skrivs som 0:1,10000:2,20001:3") from None
    if bands[0][0] != 0 or any(a[0] >= b[0] for a, b in itertools.pairwise(bands)):
        raise ValueError("fördelningsnyckelns gränser ska börja på 0 och öka")
    if any(cases < 0 for _, cases in bands):
        raise ValueError("antalet ärenden i fördelningsnyckeln kan inte vara negativt")
    return bands
