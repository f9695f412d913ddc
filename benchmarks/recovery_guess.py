"""What one guessed recovery code costs an attacker who holds what the hub keeps (a copy and its
lookup id; docs/protocol.md §3.8, benchmarks/README.md).

    .venv/bin/python -m benchmarks.recovery_guess            # 10 runs of each
    .venv/bin/python -m benchmarks.recovery_guess --quick    # 3 runs of each

Three ways to test one guess, each timed with the project's own code: against the lookup id
(hub.protocol.recovery.recovery_lookup at the format's limits), against the copy
(hub.protocol.recovery.loads_recovery_copy, refused as recovery_wrong_code), and, as the
reference the design rejected, against an id made with one BLAKE2b of the code. Goal: the
lookup id is no cheaper a test than the copy (ratio lookup/copy at least 0.8: the two run the
same Argon2id, so the ratio is 1 up to noise).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from typing import TYPE_CHECKING

from benchmarks.envelope_throughput import cpu_info
from hub.crypto import primitives as p
from hub.crypto.keys import PrivateIdentity
from hub.errors import RecoveryError
from hub.protocol.recovery import (
    dumps_recovery_copy,
    loads_recovery_copy,
    new_recovery_code,
    recovery_lookup,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NETWORK = "bench-recovery"


def _median_seconds(runs: int, one: Callable[[], None]) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        one()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="3 runs of each instead of 10")
    runs = 3 if parser.parse_args().quick else 10
    model, _ = cpu_info()
    print(f"machine: {os.cpu_count()} cores, {model}, load {os.getloadavg()[0]:.2f}")

    code = new_recovery_code()
    copy = dumps_recovery_copy(PrivateIdentity.generate(), code)  # the format's own limits
    guess = new_recovery_code()

    def against_copy() -> None:
        try:
            loads_recovery_copy(copy, guess)
        except RecoveryError as exc:
            if exc.code != "recovery_wrong_code":
                raise
        else:
            raise AssertionError("a guess opened the copy")

    def against_lookup() -> None:
        recovery_lookup(guess, NETWORK)

    def against_blake2b() -> None:
        p.blake2b(guess.encode(), size=32, person=b"hub-recovery-id")

    copy_s, copy_all = _median_seconds(runs, against_copy)
    lookup_s, lookup_all = _median_seconds(runs, against_lookup)
    fast_s, _ = _median_seconds(max(runs, 1000), against_blake2b)
    print(f"one guess against the copy:      {copy_s * 1000:8.1f} ms (median of {runs})")
    print(f"one guess against the lookup id: {lookup_s * 1000:8.1f} ms (median of {runs})")
    print(f"reference, a BLAKE2b lookup id:  {fast_s * 1e6:8.2f} µs")
    print(f"ratio lookup/copy: {lookup_s / copy_s:.2f} (goal: at least 0.8)")
    print(f"ratio lookup/BLAKE2b reference: {lookup_s / fast_s:,.0f}")
    print(f"runs (ms): copy {[round(t * 1000) for t in copy_all]}")
    print(f"runs (ms): lookup {[round(t * 1000) for t in lookup_all]}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB (Argon2id's 256 MiB per guess)")


if __name__ == "__main__":
    main()
