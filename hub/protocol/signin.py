"""Sign-in by key: the bytes a client signs to prove it holds a key (docs/api.md, "Sign-in").

The signed message names the hub's address (the audience) and the network, so a signature made
for one hub cannot be replayed at another, and the nonce is the hub's, one-time and short-lived.
"""

from __future__ import annotations

from typing import Final

SIGNIN_CONTEXT: Final = b"hub-signin/v1\n"
NONCE_BYTES: Final = 32


def signin_message(*, audience: str, network: str, key_id: bytes, nonce: bytes) -> bytes:
    if "\n" in audience or "\n" in network:
        raise ValueError("audience and network are single lines")
    return b"".join(
        [SIGNIN_CONTEXT, audience.encode(), b"\n", network.encode(), b"\n", key_id, nonce]
    )
