"""The directory log's cost (issue 14): what checking a view through the log adds to loading the
signed sequence, on a client and on the hub (benchmarks/README.md).

    .venv/bin/python -m benchmarks.directory_log            # 3,000 and 10,000 records, best of 5
    .venv/bin/python -m benchmarks.directory_log --quick    # 500 records, best of 3

Reference: `Registry.load` of the sequence alone (issue 12's check: every signature, every
rule), which every client ran before the log. Measured beside it, in one run on the same
records:

- client, the log's own checks: every record's leaf, the root, the checkpoint's signature, three
  witnesses' cosignatures and a consistency proof from the view before the newest record
  (hub.crypto.transparency, hub.crypto.checkpoint), as VerifiedLog.load runs them;
- hub, per GET …/log: every leaf and the consistency proof from that view (log_routes.get_log);
- client, Registry.load of the same network with every other entry erased (docs/protocol.md
  §12.11): the bodies served as leaf hashes, and the erasure records (300 entries each) that
  name them, checked as every client checks them.

A realistic network: 290 municipalities with two contact persons each and their records is
about 1,200 records; 10,000 is a network that has rotated every key several times.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import TYPE_CHECKING

from hub.crypto import merkle
from hub.crypto.checkpoint import (
    Checkpoint,
    Policy,
    Witness,
    cosign,
    open_checkpoint,
    origin_of,
    sign_checkpoint,
)
from hub.crypto.directory import make_entry, open_entry
from hub.crypto.erasure import MAX_ERASED, item_for, make_erasure
from hub.crypto.keys import PrivateIdentity, SigningKey
from hub.crypto.leaves import Erased, Served
from hub.crypto.registry import Registry, make_municipality, make_settings
from hub.crypto.transparency import View, advance, check_records, record_leaf

if TYPE_CHECKING:
    from collections.abc import Callable

NETWORK = "bench-log"
YEAR = 365 * 86_400


def _records(count: int, admin: SigningKey) -> list[dict[str, str]]:
    """Municipalities, settings, then directory entries, serials 1 … count."""
    records = [make_settings(admin, network=NETWORK, serial=1)]
    municipalities = [f"kommun-{i:03d}" for i in range(290)]
    for i, municipality in enumerate(municipalities, start=2):
        records.append(
            make_municipality(
                admin,
                network=NETWORK,
                municipality=municipality,
                name=f"Kommun {i}",
                population=10_000 + i,
                serial=i,
            )
        )
    while len(records) < count:
        serial = len(records) + 1
        identity = PrivateIdentity.generate()
        records.append(
            make_entry(
                admin,
                network=NETWORK,
                municipality=municipalities[serial % 290],
                person=f"Person {serial}",
                role="contact_person",
                identity=identity.public,
                not_before=1_700_000_000,
                not_after=1_700_000_000 + 2 * YEAR,
                serial=serial,
            )
        )
    return records[:count]


def _with_erased(records: list[dict[str, str]], admin: SigningKey) -> list[Served]:
    """Every other entry erased, then the erasure records that name them."""
    entries = [open_entry(r, admin_public=admin.public, network=NETWORK) for r in records[291:]]
    items = [item_for(e) for e in entries[::2]]
    gone = {i.serial for i in items}
    served: list[Served] = [
        Erased(n, record_leaf(r)) if n in gone else r for n, r in enumerate(records, start=1)
    ]
    erased_at = 1_700_000_000 + 3 * YEAR + 86_400  # past the retention of every entry
    for start in range(0, len(items), MAX_ERASED):
        chunk = items[start : start + MAX_ERASED]
        serial = len(served) + 1
        served.append(
            make_erasure(admin, network=NETWORK, erased=chunk, erased_at=erased_at, serial=serial)
        )
    return served


def _best(run: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times), times


def measure(count: int, repeat: int) -> None:
    admin = SigningKey.generate()
    witnesses = [(f"vittne{i}.example/b", SigningKey.generate()) for i in range(3)]
    policy = Policy(tuple(Witness(n, k.public) for n, k in witnesses), 2, 6 * 3600)
    records = _records(count, admin)
    leaves = [record_leaf(r) for r in records]
    origin = origin_of(NETWORK)
    now = int(time.time())

    def note(size: int) -> str:
        checkpoint = Checkpoint(origin, size, merkle.root(leaves[:size]))
        return sign_checkpoint(admin, checkpoint) + "".join(
            cosign(k, n, checkpoint, now) for n, k in witnesses
        )

    before, newest = note(count - 1), note(count)
    known_opened = open_checkpoint(
        before, admin_public=admin.public, network=NETWORK, witnesses=policy.witnesses
    )
    known = View(known_opened.checkpoint, before, now)
    proof = merkle.consistency_proof(count - 1, leaves)

    def reference() -> None:
        Registry.load(admin.public, NETWORK, records)

    def client_log() -> None:
        opened = open_checkpoint(
            newest, admin_public=admin.public, network=NETWORK, witnesses=policy.witnesses, now=now
        )
        check_records(records, opened.checkpoint)
        advance(known, opened, proof, policy)

    erased = _with_erased(records, admin)

    def erased_load() -> None:
        Registry.load(admin.public, NETWORK, erased)

    def hub_get() -> None:
        served = [record_leaf(r) for r in records]
        merkle.consistency_proof(count - 1, served)

    ref, ref_all = _best(reference, repeat)
    client, client_all = _best(client_log, repeat)
    hub, hub_all = _best(hub_get, repeat)
    gone, gone_all = _best(erased_load, repeat)
    print(f"\n{count} records (best of {repeat}; all runs in ms in brackets)")
    print(f"  reference: Registry.load            {ref * 1000:9.1f} ms  {_ms(ref_all)}")
    print(
        f"  client: the log's checks            {client * 1000:9.1f} ms  {_ms(client_all)}"
        f"  = {client / ref:.1%} of the reference"
    )
    print(
        f"  hub: leaves + proof per GET …/log   {hub * 1000:9.1f} ms  {_ms(hub_all)}"
        f"  = {hub / ref:.1%} of the reference"
    )
    print(
        f"  client: half the entries erased     {gone * 1000:9.1f} ms  {_ms(gone_all)}"
        f"  = {gone / ref:.1%} of the reference"
    )


def _ms(times: list[float]) -> str:
    return "[" + ", ".join(f"{t * 1000:.1f}" for t in times) + "]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs,"
        f" load {load[0]:.2f}"
    )
    sizes, repeat = ((500,), 3) if args.quick else ((3_000, 10_000), 5)
    for count in sizes:
        measure(count, repeat)


if __name__ == "__main__":
    main()
