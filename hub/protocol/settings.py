"""A network's agreed settings as the hub stores them: the defaults of the national network and
the quota key (fördelningsnyckel). The deadline rules read them in hub/protocol/deadlines.py."""

from __future__ import annotations

import itertools

DEFAULT_SETTINGS = {"answer_days": 14, "offer_response_days": 14, "follow_up_months": 1}
# Västmanland's fördelningsnyckel: under 10,000 inhabitants 1 case a year, 10,000-20,000: 2,
# over 20,000: 3. Written as "from population: cases".
DEFAULT_QUOTA_KEY = "0:1,10000:2,20001:3"


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
