"""A seeded byte source so that every generated vector is the same on every run."""

from __future__ import annotations

from hub.crypto import primitives as p


class SeededRng:
    """rng(n) -> n bytes; the stream depends only on the label and the call sequence."""

    def __init__(self, label: str) -> None:
        self._seed = p.blake2b(label.encode(), size=32, person=b"hub-test-rng")
        self._counter = 0

    def __call__(self, n: int) -> bytes:
        self._counter += 1
        seed = p.blake2b(self._counter.to_bytes(8, "big"), size=32, key=self._seed)
        return p.deterministic_bytes(n, seed)
